#include "crf/gaussian_blur.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "crf/gaussian_blur_simd.h"

namespace deeplab::crf {

int gaussian_blur_radius(float std, int extent) {
  const double radius = std::ceil(3.0 * static_cast<double>(std));
  return static_cast<int>(std::max(1.0, std::min(radius, static_cast<double>(std::max(extent - 1, 1)))));
}

namespace {

// 1 / (sum of the taps that land inside 0..extent-1) for each position, in double (the sum of up to
// 2 radius + 1 floats rounded once).
void inverse_tap_sums(const std::vector<float>& taps, int radius, int extent, std::vector<float>& out) {
  out.resize(extent);
  for (int p = 0; p < extent; ++p) {
    double sum = 0;
    for (int d = std::max(-radius, -p); d <= std::min(radius, extent - 1 - p); ++d) sum += taps[d < 0 ? -d : d];
    out[p] = static_cast<float>(1.0 / sum);
  }
}

// The vertical pass of one strip of floats [s0, s0 + floats) of every row, down the image: the
// strip's window of 2 radius + 1 rows stays in cache while it slides (a whole-row window of 25 rows
// of 480 pixels does not, and the pass ran 3x slower from memory, measured).
DEEPLAB_SIMD_CLONES
void column_strip(const float* in, int height, std::int64_t row_floats, const float* taps, int radius,
                  std::int64_t s0, std::int64_t floats, float* out) {
  for (int y = 0; y < height; ++y) {
    const int lo = std::max(-radius, -y), hi = std::min(radius, height - 1 - y);
    const std::int64_t at = y * row_floats + s0;
    blur_taps(in + at, row_floats, taps, lo, hi, floats, out + at);
  }
}

// Row y of filter(): the horizontal pass in runs of 8 pixels, then the normalisation.
DEEPLAB_SIMD_CLONES
void row_pass(const GaussianBlur& blur, const float* cols, int stride, int y, float* out) {
  const int width = blur.width();
  for (int x0 = 0; x0 < width; x0 += 8) {
    const int count = std::min(8, width - x0);
    float* o = out + (static_cast<std::int64_t>(y) * width + x0) * stride;
    blur_row_run(blur, cols, stride, x0, count, y, o);
    for (int p = 0; p < count; ++p) {
      const float scale = 1.0f * (blur.inv_sums_x()[x0 + p] * blur.inv_sums_y()[y]);
      for (int k = 0; k < stride; k += 8) store_lanes(o + p * stride + k, scale * load_lanes(o + p * stride + k));
    }
  }
}

}  // namespace

void GaussianBlur::configure(int width, int height, float std) {
  radius_ = gaussian_blur_radius(std, std::max(width, height));
  taps_.resize(radius_ + 1);
  const double inv_two_var = 1.0 / (2.0 * static_cast<double>(std) * std);
  for (int d = 0; d <= radius_; ++d) taps_[d] = static_cast<float>(std::exp(-d * d * inv_two_var));
  inverse_tap_sums(taps_, radius_, width, inv_x_);
  inverse_tap_sums(taps_, radius_, height, inv_y_);
  width_ = width;
  height_ = height;
  std_ = std;
}

void GaussianBlur::column_sums(const float* in, int stride, float* cols, int threads) const {
  const std::int64_t row_floats = static_cast<std::int64_t>(width_) * stride;
  const int strips = static_cast<int>((row_floats + kStripFloats - 1) / kStripFloats);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int s = 0; s < strips; ++s) {
    const std::int64_t s0 = static_cast<std::int64_t>(s) * kStripFloats;
    const std::int64_t floats = std::min<std::int64_t>(kStripFloats, row_floats - s0);
    column_strip(in, height_, row_floats, taps_.data(), radius_, s0, floats, cols);
  }
}

void GaussianBlur::filter(const float* in, int stride, float* cols, float* out, int threads) const {
  column_sums(in, stride, cols, threads);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int y = 0; y < height_; ++y) row_pass(*this, cols, stride, y, out);
}

}  // namespace deeplab::crf
