// GPU parity of the pre-processing (label gpu): CudaPreprocess (cuda/preprocess.cu) against
// Preprocessor::run, for every pixel format with padded, garbage-filled strides (the device frame
// keeps the host's strides), every destination layout (gaps must stay untouched), both colour
// orders, up- and down-scaling and HD. The kernel mirrors the CPU's arithmetic, so the results are
// expected to be identical; the tolerance (1e-6 relative) allows for nothing else, and its figures
// are printed on failure.
#include <gtest/gtest.h>

#include <vector>

#include "cuda/cuda_preprocess.h"
#include "cuda/cuda_resources.h"
#include "cuda/frame_planes.h"
#include "gpu_cases.h"
#include "gpu_test.h"
#include "preprocess/preprocess.h"

using namespace deeplab;
using namespace deeplab::cuda;
using namespace deeplab::test;

namespace {

constexpr double kAbsTol = 1e-6, kRelTol = 1e-6;

// A host frame's planes copied byte for byte (padding included) to the device: same strides.
struct DeviceCopy {
  DeviceBuffer<std::uint8_t> planes[3];
  FrameView view;
};

void copy_to_device(const OwnedFrame& f, cudaStream_t stream, DeviceCopy& d) {
  d.view = f.view;
  for (int p = 0; p < plane_count(f.view.format); ++p) {
    d.planes[p].allocate(f.planes[p].size());
    d.planes[p].upload(f.planes[p].data(), f.planes[p].size(), stream);
    d.view.planes[p] = d.planes[p].data();
  }
}

std::vector<float> run_gpu(CudaPreprocess& gpu, const FrameView& device_frame, std::size_t floats, Stream& stream) {
  std::vector<float> out(floats, kSentinel);
  DeviceBuffer<float> d_out(floats);
  d_out.upload(out.data(), floats, stream.get());
  gpu.run(device_frame, d_out.data(), stream.get());
  d_out.download(out.data(), floats, stream.get());
  stream.synchronize();
  return out;
}

class PreprocessGpu : public GpuTest, public ::testing::WithParamInterface<PixelFormat> {};

}  // namespace

TEST_P(PreprocessGpu, EqualsPreprocessor) {
  const PixelFormat format = GetParam();
  Stream stream;
  unsigned seed = 1000 + static_cast<unsigned>(format) * 100;
  for (const PreprocessCase& k : preprocess_cases(true)) {
    const OwnedFrame frame = make_random_frame(format, k.frame_w, k.frame_h, ++seed);
    DeviceCopy device;
    copy_to_device(frame, stream.get(), device);
    for (const LayoutCase& lc : layout_cases(k.net_w, k.net_h))
      for (const InputSpec& spec : {imagenet_rgb_spec(), caffe_bgr_spec()}) {
        SCOPED_TRACE(std::string(pixel_format_name(format)) + " " + std::to_string(k.frame_w) + "x" +
                     std::to_string(k.frame_h) + " -> " + std::to_string(k.net_w) + "x" + std::to_string(k.net_h) +
                     " " + lc.name + (spec.color == ColorOrder::kBGR ? " BGR model" : " RGB model"));
        std::vector<float> want(lc.floats, kSentinel);
        Preprocessor cpu(spec, lc.layout);
        cpu.run(frame.view, want.data());
        CudaPreprocess gpu(spec, lc.layout);
        const std::vector<float> got = run_gpu(gpu, device.view, lc.floats, stream);
        const FloatComparison c = compare_floats(want, got, kAbsTol, kRelTol);
        ASSERT_EQ(c.bad, 0u) << c.describe(kAbsTol, kRelTol);
        if (c.identical != c.count) std::printf("  note: %s\n", c.describe(kAbsTol, kRelTol).c_str());
      }
  }
}

// Frames from host memory through DeviceFrame (tight device planes), and a frame-size change on the
// same CudaPreprocess (the tables are rebuilt, nothing else changes).
TEST_P(PreprocessGpu, DeviceFrameUploadAndSizeChanges) {
  const PixelFormat format = GetParam();
  Stream stream;
  const InputSpec spec = imagenet_rgb_spec();
  const LayoutCase lc = layout_cases(97, 65)[0];
  CudaPreprocess gpu(spec, lc.layout);
  Preprocessor cpu(spec, lc.layout);
  DeviceFrame device;
  unsigned seed = 5000 + static_cast<unsigned>(format);
  for (auto [w, h] : {std::pair{640, 480}, {37, 29}, {640, 480}, {1281, 721}}) {
    SCOPED_TRACE(std::string(pixel_format_name(format)) + " " + std::to_string(w) + "x" + std::to_string(h));
    const OwnedFrame frame = make_random_frame(format, w, h, ++seed);
    device.upload(frame.view, stream.get());
    std::vector<float> want(lc.floats, kSentinel);
    cpu.run(frame.view, want.data());
    const std::vector<float> got = run_gpu(gpu, device.view(), lc.floats, stream);
    const FloatComparison c = compare_floats(want, got, kAbsTol, kRelTol);
    ASSERT_EQ(c.bad, 0u) << c.describe(kAbsTol, kRelTol);
  }
}

TEST_F(GpuTest, PreprocessRefusesBadFrames) {
  CudaPreprocess gpu(imagenet_rgb_spec(), layout_cases(8, 8)[0].layout);
  DeviceBuffer<float> out(1024);
  DeviceBuffer<std::uint8_t> pixels(64 * 3);
  FrameView f = FrameView::packed(PixelFormat::kRGB, pixels.data(), 8, 8, 20);  // stride < 24
  try {
    gpu.run(f, out.data(), nullptr);
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(AllFormats, PreprocessGpu, ::testing::ValuesIn(all_pixel_formats()),
                         [](const ::testing::TestParamInfo<PixelFormat>& info) {
                           return std::string(pixel_format_name(info.param));
                         });
