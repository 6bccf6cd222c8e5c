// The CRF's smoothness kernel on the GPU: crf/gaussian_blur.h's exact separable Gaussian, one
// thread's work at a time (cuda/crf/gaussian_blur.cu calls these; the unit tests run them on the
// CPU against the CPU backend). Taps and the per-column / per-row inverse tap sums come from
// crf::GaussianBlur::configure on the host (the same floats as the CPU's); each value is summed in
// the CPU's order (ascending offset, from 0) with the same roundings, so the filtered messages are
// the CPU's bit for bit.
#pragma once

#include <cstdint>

#include "cuda/host_device.h"

namespace deeplab::cuda {

// The blur's geometry and constants (device pointers on the GPU): `classes` floats per pixel.
struct BlurView {
  int width = 0, height = 0, radius = 0, classes = 0;
  const float* taps = nullptr;   // t(0..radius)
  const float* inv_x = nullptr;  // width values: 1 / the in-image taps' sum along x
  const float* inv_y = nullptr;  // height values: the same along y
};

// The smoothness kernel's part of the messages: its vertical pass of Q and its weight.
// cols == nullptr: not used (weight 0).
struct BlurSlice {
  BlurView blur;
  const float* cols = nullptr;
  float weight = 0;
};

// The vertical pass, value idx = pixel * classes + class: cols = sum_d t(d) in(x, y + d)
// (crf::GaussianBlur::column_sums).
DEEPLAB_HOST_DEVICE inline void blur_column_step(const BlurView& b, const float* in, float* cols, std::int64_t idx) {
  const std::int64_t row_values = static_cast<std::int64_t>(b.width) * b.classes;
  const int y = static_cast<int>(idx / row_values);
  const int lo = y - b.radius < 0 ? -y : -b.radius, hi = y + b.radius >= b.height ? b.height - 1 - y : b.radius;
  float acc = 0.0f;
  for (int d = lo; d <= hi; ++d) acc = add_rn(acc, mul_rn(b.taps[d < 0 ? -d : d], in[idx + d * row_values]));
  cols[idx] = acc;
}

// The horizontal pass for pixel i, class k, normalised and weighted: weight / (Sx Sy) * sum_d t(d)
// cols(x + d, y) (the CPU's blur_row_run and the scale of crf_cpu.cpp's smoothness_messages).
DEEPLAB_HOST_DEVICE inline float blur_message(const BlurSlice& s, int i, int k) {
  const BlurView& b = s.blur;
  const int y = i / b.width, x = i - y * b.width;
  const int lo = x - b.radius < 0 ? -x : -b.radius, hi = x + b.radius >= b.width ? b.width - 1 - x : b.radius;
  const float* at = s.cols + static_cast<std::int64_t>(i) * b.classes + k;
  float acc = 0.0f;
  for (int d = lo; d <= hi; ++d) acc = add_rn(acc, mul_rn(b.taps[d < 0 ? -d : d], at[d * b.classes]));
  return mul_rn(mul_rn(s.weight, mul_rn(b.inv_x[x], b.inv_y[y])), acc);
}

}  // namespace deeplab::cuda
