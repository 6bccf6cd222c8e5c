// GPU parity of the post-processing (label gpu): CudaPostprocess (cuda/upsample_argmax.cu,
// cuda/upsample_softmax.cu) against upsample_argmax() / upsample_softmax() of
// postprocess/interpolate.cpp — 1/7/13/21/64 classes, up- and down-scaling, widths not multiples of
// 32, every coordinate transform (and rounding, for nearest), staged and direct kernels, exact ties.
// Class maps must be identical; probabilities within expf's ulp (figures printed on failure).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "cuda/cuda_postprocess.h"
#include "cuda/cuda_resources.h"
#include "gpu_cases.h"
#include "gpu_test.h"
#include "postprocess/interpolate.h"

using namespace deeplab;
using namespace deeplab::cuda;
using namespace deeplab::test;

namespace {

constexpr double kSoftmaxAbsTol = 1e-6, kSoftmaxRelTol = 1e-5;

// Resize modes for a case: all of them, except for HD where a CPU reference costs ~0.1 s each.
std::vector<ResizeCase> modes_for(const UpsampleCase& k) {
  std::vector<ResizeCase> all = resize_cases();
  if (k.out_h * k.out_w < 1000000) return all;
  std::vector<ResizeCase> few;
  for (const ResizeCase& rc : all)
    if (rc.name == "linear/half_pixel" || rc.name == "linear/align_corners" || rc.name == "nearest/asymmetric/floor")
      few.push_back(rc);
  return few;
}

struct DeviceLogits {
  DeviceBuffer<float> buffer;
  void upload(const std::vector<float>& host, cudaStream_t stream) {
    buffer.reserve(host.size());
    buffer.upload(host.data(), host.size(), stream);
  }
};

}  // namespace

class UpsampleGpu : public GpuTest, public ::testing::WithParamInterface<bool> {};

TEST_P(UpsampleGpu, ArgmaxEqualsCpuExactly) {
  const bool staged = GetParam();
  Stream stream;
  CudaPostprocess post;
  DeviceLogits logits;
  DeviceBuffer<std::uint8_t> classes;
  unsigned seed = staged ? 11 : 12;
  for (const UpsampleCase& k : upsample_cases(true))
    for (const ResizeCase& rc : modes_for(k))
      for (bool ties : {false, true}) {
        SCOPED_TRACE(k.describe() + " " + rc.name + (ties ? " ties" : "") + (staged ? " staged" : " direct"));
        const std::vector<float> host_logits = random_logits(k.in_h, k.in_w, k.channels, ++seed, ties);
        const ResampleGeometry geo = upsample_geometry(k, rc.attrs);
        const std::vector<std::uint8_t> want = cpu_upsample_argmax(geo, host_logits);
        post.prepare(geo, stream.get(), staged ? kDefaultStagingBytes : 0);
        // The one case too wide to stage runs the direct kernel either way.
        EXPECT_EQ(post.plan().staged, staged && post.plan().staged_bytes <= kDefaultStagingBytes);
        logits.upload(host_logits, stream.get());
        classes.reserve(want.size());
        std::vector<std::uint8_t> got(want.size(), 0xEE);
        classes.upload(got.data(), got.size(), stream.get());
        post.run(logits.buffer.data(), classes.data(), stream.get());
        classes.download(got.data(), got.size(), stream.get());
        stream.synchronize();
        std::size_t mismatches = 0, first = want.size();
        for (std::size_t i = 0; i < want.size(); ++i)
          if (got[i] != want[i] && mismatches++ == 0) first = i;
        ASSERT_EQ(mismatches, 0u) << mismatches << " of " << want.size() << " pixels differ; first at (" << first / k.out_w
                                  << ", " << first % k.out_w << "): GPU " << int(got[first]) << ", CPU "
                                  << int(want[first]);
      }
}

TEST_P(UpsampleGpu, SoftmaxMatchesCpu) {
  const bool staged = GetParam();
  Stream stream;
  CudaPostprocess post;
  DeviceLogits logits;
  DeviceBuffer<float> planes;
  unsigned seed = staged ? 21 : 22;
  for (const UpsampleCase& k : upsample_cases(true))
    for (const ResizeCase& rc : modes_for(k)) {
      if (rc.attrs.mode == ResizeAttrs::kNearest && rc.attrs.nearest != ResizeAttrs::kRoundPreferFloor &&
          rc.name != "nearest/asymmetric/floor")
        continue;
      SCOPED_TRACE(k.describe() + " " + rc.name + (staged ? " staged" : " direct"));
      const std::vector<float> host_logits = random_logits(k.in_h, k.in_w, k.channels, ++seed);
      const ResampleGeometry geo = upsample_geometry(k, rc.attrs);
      const std::vector<float> want = cpu_upsample_softmax(geo, host_logits);
      post.prepare(geo, stream.get(), staged ? kDefaultStagingBytes : 0);
      logits.upload(host_logits, stream.get());
      planes.reserve(want.size());
      std::vector<float> got(want.size(), kSentinel);
      planes.upload(got.data(), got.size(), stream.get());
      post.run_softmax(logits.buffer.data(), planes.data(), stream.get());
      planes.download(got.data(), got.size(), stream.get());
      stream.synchronize();
      const FloatComparison c = compare_floats(want, got, kSoftmaxAbsTol, kSoftmaxRelTol);
      ASSERT_EQ(c.bad, 0u) << c.describe(kSoftmaxAbsTol, kSoftmaxRelTol);
    }
}

INSTANTIATE_TEST_SUITE_P(Kernels, UpsampleGpu, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) { return info.param ? "Staged" : "Direct"; });

// A staged launch asking for more shared memory than any GPU has must fail as a deeplab::Error
// (kDevice) naming the kernel — not abort — and leave the device usable.
TEST_F(GpuTest, FailedLaunchThrowsDeviceErrorAndDeviceStaysUsable) {
  Stream stream;
  ResizeAttrs a;
  a.mode = ResizeAttrs::kLinear;
  a.coord = ResizeAttrs::kHalfPixel;
  const UpsampleCase k{4, 4000, 64, 4, 128};  // one block spans all 4000 columns: 1 MB of staging
  const ResampleGeometry geo = upsample_geometry(k, a);
  CudaPostprocess post;
  post.prepare(geo, stream.get(), SIZE_MAX);
  ASSERT_TRUE(post.plan().staged);
  ASSERT_GT(post.plan().staged_bytes, 512u * 1024);
  DeviceBuffer<float> logits(static_cast<std::size_t>(k.in_h) * k.in_w * k.channels);
  DeviceBuffer<std::uint8_t> classes(static_cast<std::size_t>(k.out_h) * k.out_w);
  try {
    post.run(logits.data(), classes.data(), stream.get());
    stream.synchronize();
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDevice) << e.what();
    EXPECT_NE(std::string(e.what()).find("upsample_argmax_staged_kernel"), std::string::npos) << e.what();
  }
  post.prepare(geo, stream.get());  // the default budget: this geometry runs the direct kernel
  EXPECT_FALSE(post.plan().staged);
  EXPECT_NO_THROW({
    post.run(logits.data(), classes.data(), stream.get());
    stream.synchronize();
  });
}

TEST_F(GpuTest, PostprocessRefusesMisuse) {
  CudaPostprocess post;
  DeviceBuffer<float> logits(16);
  DeviceBuffer<std::uint8_t> classes(16);
  EXPECT_THROW(post.run(logits.data(), classes.data(), nullptr), Error);  // before prepare()
  ResizeAttrs a;
  a.mode = ResizeAttrs::kLinear;
  post.prepare(make_resample_geometry(2, 2, 300, 4, 4, 2.0f, 2.0f, a), nullptr);
  try {
    post.run(logits.data(), classes.data(), nullptr);  // 300 classes do not fit uint8
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
  }
}
