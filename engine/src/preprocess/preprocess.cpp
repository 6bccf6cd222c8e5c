#include "preprocess/preprocess.h"

#include <algorithm>
#include <cmath>

#include "common/preprocess_pixel.h"
#include "deeplab/error.h"

namespace deeplab {

// Source sampling along one axis with half-pixel centres; edges clamp.
void make_taps(int in, int out, std::vector<int>& i0, std::vector<int>& i1, std::vector<float>& w) {
  i0.resize(out);
  i1.resize(out);
  w.resize(out);
  // Coordinates in double, as OpenCV computes them: float drifts visibly on HD-sized frames.
  const double scale = static_cast<double>(in) / out;
  for (int x = 0; x < out; ++x) {
    const double src = std::clamp((x + 0.5) * scale - 0.5, 0.0, static_cast<double>(in - 1));
    const int a = static_cast<int>(src);
    i0[x] = a;
    i1[x] = std::min(a + 1, in - 1);
    w[x] = static_cast<float>(src - a);
  }
}

namespace {

// One loop over the output; the per-pixel work (fetch, blend, normalise, lay out) is the code the
// CUDA kernel runs too (common/preprocess_pixel.h), so both give the same floats.
template <PixelFormat F>
void convert(const FrameView& f, float* dst, const InputTensorLayout& layout, const pixel::PreprocessTaps& taps,
             const Normalisation& norm) {
#pragma omp parallel for schedule(static)
  for (int y = 0; y < layout.height; ++y)
    for (int x = 0; x < layout.width; ++x) pixel::preprocess_pixel<F>(f, taps, norm, layout, x, y, dst);
}

}  // namespace

void yuv_to_rgb(int y, int u, int v, std::uint8_t rgb[3]) {
  int out[3];
  pixel::yuv_to_rgb_bt601(y, u, v, out);
  for (int k = 0; k < 3; ++k) rgb[k] = static_cast<std::uint8_t>(out[k]);
}

Normalisation make_normalisation(const InputSpec& spec) {
  Normalisation n;
  n.to_bgr = spec.color == ColorOrder::kBGR;
  for (int k = 0; k < 3; ++k) {
    n.mul[k] = spec.scale / spec.std[k];
    n.add[k] = -spec.mean[k] / spec.std[k];
  }
  return n;
}

Preprocessor::Preprocessor(const InputSpec& spec, const InputTensorLayout& layout)
    : layout_(layout), norm_(make_normalisation(spec)) {}

void Preprocessor::prepare(int w, int h) {
  if (w == frame_width_ && h == frame_height_) return;
  make_taps(w, layout_.width, x0_, x1_, wx_);
  make_taps(h, layout_.height, y0_, y1_, wy_);
  frame_width_ = w;
  frame_height_ = h;
}

void Preprocessor::run(const FrameView& frame, float* dst) {
  validate_frame(frame);
  prepare(frame.width, frame.height);
  const pixel::PreprocessTaps taps{x0_.data(), x1_.data(), wx_.data(), y0_.data(), y1_.data(), wy_.data()};
  switch (frame.format) {
#define DEEPLAB_CASE(F) \
  case F: convert<F>(frame, dst, layout_, taps, norm_); break;
    DEEPLAB_CASE(PixelFormat::kRGB)
    DEEPLAB_CASE(PixelFormat::kBGR)
    DEEPLAB_CASE(PixelFormat::kRGBA)
    DEEPLAB_CASE(PixelFormat::kBGRA)
    DEEPLAB_CASE(PixelFormat::kRGBx)
    DEEPLAB_CASE(PixelFormat::kBGRx)
    DEEPLAB_CASE(PixelFormat::kNV12)
    DEEPLAB_CASE(PixelFormat::kI420)
#undef DEEPLAB_CASE
  }
}

}  // namespace deeplab
