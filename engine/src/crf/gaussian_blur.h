// The dense CRF's smoothness kernel (positions only) as an exact, truncated, separable Gaussian on
// the pixel grid, row-normalised as the lattice kernels are (crf/crf_kernel.h):
//
//   filter(Q)_i = sum_j k_ij Q_j / sum_j k_ij,   k_ij = t(x_i - x_j) t(y_i - y_j),
//   t(d) = exp(-d^2 / (2 std^2)) for |d| <= radius = ceil(3 std), 0 beyond
//
// (j over the image's pixels, i itself included, as densecrf). The kernel factorises, so the sum is
// a vertical pass (column_sums, into a buffer of its own) and a horizontal one (blur_row_run in
// crf/gaussian_blur_simd.h, which the CPU mean field folds into its per-pixel update), and
// sum_j k_ij = Sx(x_i) Sy(y_i), the in-image taps' sums along each axis: the normalisation is two
// vectors per size and std, nothing per frame. No lattice: no build, no range limit on the std.
//
// Why 3 std: the taps cut away at most the tail mass beyond 3 std on each axis, 2 (1 - Phi(3)) =
// 0.27 % of a 1-D Gaussian's weight (less for a std < 1 px, where the tap grid is coarse), so a
// filtered value is off the untruncated Gaussian's by well under 1 % of the spread of Q. Measured
// (tests/unit/test_crf_blur.cpp, random Q in [0, 1), stds 1 / 2 / 3.67): largest error 2.2e-4 /
// 4.6e-4 / 1.6e-4, against the permutohedral lattice's 3.9e-2 / 2.3e-2 / 1.4e-2 on the same input;
// 4 std would cost 33 % more taps for errors far below the lattice's that nobody sees after the
// mean field's exp.
//
// Cost per value: 2 (2 radius + 1) multiply-adds, i.e. it grows linearly with the std (the lattice's
// shrank with it): ~25 taps per pass at std 3.67 (the Cityscapes model's block), 61 at 10 (the
// tuner's largest). Every value is summed in a fixed order (ascending offset) whatever the thread
// count, so 1 and N threads give the same floats; cuda/crf/gaussian_blur_steps.h sums in the same
// order with the same roundings.
#pragma once

#include <cstdint>
#include <vector>


namespace deeplab::crf {

// The radius of the taps for a std in pixels: ceil(3 std), at least 1, at most `extent` - 1 (taps
// further out never meet a pixel of an image `extent` pixels wide).
int gaussian_blur_radius(float std, int extent);

class GaussianBlur {
 public:
  // Taps and normalisation for a width x height grid and a std in pixels (> 0). Allocates; call
  // when they change (matches()).
  void configure(int width, int height, float std);
  bool matches(int width, int height, float std) const {
    return width == width_ && height == height_ && std == std_;
  }
  int width() const { return width_; }
  int height() const { return height_; }
  int radius() const { return radius_; }
  const float* taps() const { return taps_.data(); }
  const float* inv_sums_x() const { return inv_x_.data(); }  // 1 / (in-image taps' sum), per column
  const float* inv_sums_y() const { return inv_y_.data(); }  // the same per row

  // The vertical pass: cols(x, y) = sum_d t(d) in(x, y + d), `stride` floats per pixel (a multiple of
  // 8), every pixel; OpenMP over strips of kStripFloats floats of a row (each strip's window of
  // rows stays in cache as it slides down the image).
  static constexpr int kStripFloats = 512;
  void column_sums(const float* in, int stride, float* cols, int threads) const;

  // out = filter(in) for every pixel (stride floats each, a multiple of 8); `cols` is scratch of the
  // same size. For the tests and tools: the mean field uses column_sums and blur_row_run.
  void filter(const float* in, int stride, float* cols, float* out, int threads) const;

 private:
  int width_ = 0, height_ = 0, radius_ = 0;
  float std_ = 0;
  std::vector<float> taps_;          // t(0..radius)
  std::vector<float> inv_x_, inv_y_;  // 1 / (in-image taps' sum) per column and per row
};

}  // namespace deeplab::crf
