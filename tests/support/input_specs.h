// The input normalisations the tests run every kernel and reference with (header-only: the unit,
// CUDA host and GPU test binaries and the GPU benchmark all use it).
#pragma once

#include <array>

#include "deeplab/manifest.h"

namespace deeplab::test {

// value = (pixel * scale - mean[c]) / std[c], channels in `color` order.
inline InputSpec input_spec(ColorOrder color, float scale, std::array<float, 3> mean, std::array<float, 3> std) {
  InputSpec s;
  s.color = color;
  s.scale = scale;
  s.mean = mean;
  s.std = std;
  return s;
}

// torchvision's: 1/255, ImageNet mean/std, RGB (InputSpec's defaults).
inline InputSpec imagenet_rgb_spec() { return InputSpec{}; }

// Caffe's: 0..255 BGR, per-channel mean and std.
inline InputSpec caffe_bgr_spec() {
  return input_spec(ColorOrder::kBGR, 1.0f, {103.53f, 116.28f, 123.675f}, {57.375f, 57.12f, 58.395f});
}

// TensorFlow's: -1..1 RGB.
inline InputSpec tf_rgb_spec() {
  return input_spec(ColorOrder::kRGB, 1.0f / 127.5f, {1.0f, 1.0f, 1.0f}, {1.0f, 1.0f, 1.0f});
}

}  // namespace deeplab::test
