// Per-pixel arithmetic of the upsampling kernels (cuda/upsample_argmax.cu, cuda/upsample_softmax.cu),
// written once for device and host: it mirrors postprocess/interpolate.cpp operation by operation
// (vertical blend of the two source rows, then horizontal blend, each a * w0 + b * w1 with
// w0 = 1 - w1; nearest copies; first maximum wins), so a kernel's class map equals
// upsample_argmax()'s for identical logits. The unit tests run these functions on the CPU, block by
// block as the kernels do, against the CPU reference.
#pragma once

#include <cstdint>

#include "cuda/host_device.h"

namespace deeplab::cuda {

// Everything a kernel reads (device pointers in a kernel; trivially copyable).
struct UpsampleView {
  const float* logits = nullptr;  // in_h x in_w x channels, dense NHWC (batch 1)
  int in_h = 0, in_w = 0, channels = 0;
  int out_h = 0, out_w = 0;
  const int* row0 = nullptr;  // out_h entries: AxisSampling index0, index1, weight1 of the rows
  const int* row1 = nullptr;
  const float* row_w1 = nullptr;
  const int* col0 = nullptr;  // out_w entries: the same for the columns
  const int* col1 = nullptr;
  const float* col_w1 = nullptr;
  bool nearest = false;
  // Staged kernels: per block of block_width output columns, UpsamplePlan's span.
  const int* span_begin = nullptr;
  const int* span_count = nullptr;
  int block_width = 0;
};

// a * w0 + b * w1 with w0 = 1 - w1, rounded as the CPU reference rounds it.
DEEPLAB_HOST_DEVICE inline float blend(float a, float b, float w1) {
  const float w0 = sub_rn(1.0f, w1);
  return add_rn(mul_rn(a, w0), mul_rn(b, w1));
}

// Class k of source column `col`, blended vertically for output row y (the CPU's blend_rows).
DEEPLAB_HOST_DEVICE inline float blend_vertical(const UpsampleView& v, int y, int col, int k) {
  const std::int64_t row_len = static_cast<std::int64_t>(v.in_w) * v.channels;
  const std::int64_t at = static_cast<std::int64_t>(col) * v.channels + k;
  const float a = v.logits[v.row0[y] * row_len + at];
  if (v.nearest) return a;
  return blend(a, v.logits[v.row1[y] * row_len + at], v.row_w1[y]);
}

// Element j of a staged block's shared row segment: source column begin + j / channels, class
// j % channels. A block stages span_count * channels elements, consecutive j reading consecutive
// (coalesced) logits.
DEEPLAB_HOST_DEVICE inline void stage_element(const UpsampleView& v, int y, int begin, int j, float* staged) {
  staged[j] = blend_vertical(v, y, begin + j / v.channels, j % v.channels);
}

// Class k of output pixel x (of the staged row): from the block's staged segment.
struct StagedPixel {
  const float* a = nullptr;  // staged values of source columns col0[x] and col1[x]
  const float* b = nullptr;
  float w1 = 0;
  bool nearest = false;
  DEEPLAB_HOST_DEVICE float operator()(int k) const { return nearest ? a[k] : blend(a[k], b[k], w1); }
};

DEEPLAB_HOST_DEVICE inline StagedPixel staged_pixel(const UpsampleView& v, const float* staged, int begin, int x) {
  StagedPixel p;
  p.a = staged + static_cast<std::int64_t>(v.col0[x] - begin) * v.channels;
  p.b = staged + static_cast<std::int64_t>(v.col1[x] - begin) * v.channels;
  p.w1 = v.col_w1[x];
  p.nearest = v.nearest;
  return p;
}

// Class k of output pixel (x, y): straight from the logits (the direct kernels).
struct DirectPixel {
  UpsampleView v;  // a copy: kernels keep it in registers rather than taking a parameter's address
  int y = 0, x = 0;
  DEEPLAB_HOST_DEVICE float operator()(int k) const {
    const float a = blend_vertical(v, y, v.col0[x], k);
    if (v.nearest) return a;
    return blend(a, blend_vertical(v, y, v.col1[x], k), v.col_w1[x]);
  }
};

// Index of the largest of pixel(0 .. channels-1); the first one on ties (the CPU's `>`).
template <typename Pixel>
DEEPLAB_HOST_DEVICE inline int argmax_classes(const Pixel& pixel, int channels) {
  int best = 0;
  float best_value = pixel(0);
  for (int k = 1; k < channels; ++k) {
    const float value = pixel(k);
    if (value > best_value) {
      best = k;
      best_value = value;
    }
  }
  return best;
}

// Softmax of pixel(0 .. channels-1) into out[k * plane], as upsample_softmax() computes it (peak as
// std::max keeps it, exp(value - peak) summed in class order, times 1 / sum). The blends are
// recomputed per pass rather than kept in a per-thread array sized for the largest class count.
template <typename Pixel>
DEEPLAB_HOST_DEVICE inline void softmax_classes(const Pixel& pixel, int channels, float* out, std::int64_t plane) {
  float peak = pixel(0);
  for (int k = 1; k < channels; ++k) {
    const float value = pixel(k);
    peak = peak < value ? value : peak;
  }
  float sum = 0;
  for (int k = 0; k < channels; ++k) sum = add_rn(sum, exp_f(sub_rn(pixel(k), peak)));
  const float inv = div_rn(1.0f, sum);
  for (int k = 0; k < channels; ++k) out[k * plane] = mul_rn(exp_f(sub_rn(pixel(k), peak)), inv);
}

// Where the softmax of output pixel (x, y) goes: class k at out[k * plane]. CHW planes (the
// Segmenter's probabilities) or pixel-major, classes innermost (the CRF's input, as
// CrfStage::make_probabilities lays them out).
enum class SoftmaxLayout { kPlanes, kPixelMajor };

DEEPLAB_HOST_DEVICE inline float* softmax_output(const UpsampleView& v, float* out, SoftmaxLayout layout, int x, int y,
                                                 std::int64_t& plane) {
  const std::int64_t pixel = static_cast<std::int64_t>(y) * v.out_w + x;
  if (layout == SoftmaxLayout::kPixelMajor) {
    plane = 1;
    return out + pixel * v.channels;
  }
  plane = static_cast<std::int64_t>(v.out_h) * v.out_w;
  return out + pixel;
}

}  // namespace deeplab::cuda
