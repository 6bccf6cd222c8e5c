// Inputs shared by the CUDA kernels' tests (host emulations in deeplab_cuda_host_tests, GPU parity
// in deeplab_gpu_tests): random frames of every pixel format with padded, garbage-filled strides,
// destination layouts with gaps, awkward resampling geometries, and float comparison with its
// figures. Everything from fixed seeds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deeplab/frame.h"
#include "deeplab/manifest.h"
#include "graph/attrs.h"
#include "postprocess/interpolate.h"
#include "preprocess/preprocess.h"
#include "../support/input_specs.h"  // imagenet_rgb_spec(), caffe_bgr_spec()

namespace deeplab::test {

inline constexpr float kSentinel = -12345.0f;

const std::vector<PixelFormat>& all_pixel_formats();

// A frame in host memory: random pixels, every plane's stride padded past its row with random
// garbage (a different pad per plane), so that reading padding changes the result.
struct OwnedFrame {
  std::vector<std::uint8_t> planes[3];
  FrameView view;
};
OwnedFrame make_random_frame(PixelFormat format, int width, int height, unsigned seed);

// Frame size -> network size.
struct PreprocessCase {
  int frame_w, frame_h, net_w, net_h;
};
// Up- and down-scaling, odd (4:2:0) and non-multiple-of-32 sizes, 1x1, identity; `with_hd` adds
// 1920x1080 -> 513x513.
std::vector<PreprocessCase> preprocess_cases(bool with_hd);

// Destination layouts of a w x h tensor: NCHW, NHWC, and both with padded rows (gaps that must stay
// untouched). `floats` is the buffer size including a guard tail.
struct LayoutCase {
  std::string name;
  InputTensorLayout layout;
  std::size_t floats = 0;
};
std::vector<LayoutCase> layout_cases(int width, int height);

// Logits in NHWC: normal(0, 3), or `ties`: 0/1 values that make many exactly tied maxima.
std::vector<float> random_logits(int h, int w, int c, unsigned seed, bool ties = false);

struct UpsampleCase {
  int in_h, in_w, channels, out_h, out_w;
  std::string describe() const;
};
// 1/7/13/21 (and 64) classes, up- and down-scaling, widths not multiples of 32; `with_hd` adds
// 65x65x21 -> 1080x1920. The 9x1000x64 -> 9x130 case is too wide to stage: direct kernels.
std::vector<UpsampleCase> upsample_cases(bool with_hd);

// A case's resampling geometry for `attrs`, and the CPU references the kernels are compared with.
ResampleGeometry upsample_geometry(const UpsampleCase& k, const ResizeAttrs& attrs);
std::vector<std::uint8_t> cpu_upsample_argmax(const ResampleGeometry& geo, const std::vector<float>& logits);
std::vector<float> cpu_upsample_softmax(const ResampleGeometry& geo, const std::vector<float>& logits);

// Every coordinate transform with linear sampling, and every transform x rounding with nearest.
struct ResizeCase {
  std::string name;
  ResizeAttrs attrs;
};
std::vector<ResizeCase> resize_cases();

// want vs got, element by element: bad where |got - want| > abs_tol + rel_tol * |want| (or the bit
// patterns differ for non-finite values).
struct FloatComparison {
  std::size_t count = 0, identical = 0, bad = 0, worst = 0;
  double max_abs = 0, max_rel = 0;
  std::string describe(double abs_tol, double rel_tol) const;
};
FloatComparison compare_floats(const std::vector<float>& want, const std::vector<float>& got, double abs_tol,
                               double rel_tol);

}  // namespace deeplab::test
