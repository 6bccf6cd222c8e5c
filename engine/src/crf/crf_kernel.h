// One Gaussian pairwise kernel of the dense CRF, normalised as DeepLab's CRF normalises it:
//
//   filter(Q)_i = sum_j k(f_i, f_j) Q_j / sum_j k(f_i, f_j)          (kRow, the default)
//   k(f_i, f_j) ~ exp(-|f_i - f_j|^2 / 2)  (the permutohedral lattice's approximation; j = i included)
//
// a weighted average of the neighbours' marginals: Krähenbühl's NIPS 2011 code (densecrf 2.0,
// PottsPotential with per_pixel_normalization), which DeepLab v1/v2 ship and tuned their released
// weights with; densecrf 2.2 calls it NORMALIZE_AFTER. kSymmetric is densecrf 2.2's and
// pydensecrf's default NORMALIZE_SYMMETRIC, n_i sum_j k_ij n_j Q_j with n_i = 1/sqrt(sum_j k_ij),
// kept for comparison (docs/crf.md). Either way a constant factor of the lattice's K cancels, so
// densecrf's "alpha" is not needed.
#pragma once

#include <cstdint>
#include <vector>

#include "crf/permutohedral.h"
#include "deeplab/crf.h"

namespace deeplab::crf {

// Feature vectors, point-major, for pixel (x, y) at index y * width + x:
//   gaussian:  (x / xy_std, y / xy_std)
//   bilateral: (x / xy_std, y / xy_std, r / rgb_std, g / rgb_std, b / rgb_std)
// x, y are integer pixel indices and r, g, b the 0..255 values, as densecrf's DenseCRF2D.
constexpr int kGaussianDim = 2;
constexpr int kBilateralDim = 5;
void gaussian_features(int width, int height, float xy_std, float* out, int threads);
void bilateral_features(const CrfImage& image, float xy_std, float rgb_std, float* out, int threads);

enum class KernelNormalisation { kSymmetric, kRow };

class CrfKernel {
 public:
  explicit CrfKernel(KernelNormalisation normalisation = KernelNormalisation::kRow) : normalisation_(normalisation) {}
  // Builds the lattice and the normalisation for `count` points of `dim` features (an image's
  // pixels in raster order, `row_length` per row, when row_length > 0).
  void build(const float* features, int count, int dim, int threads, int row_length = 0);
  // build() without the normalisation (kRow only): the caller fills row_norm_to_fill() with
  // 1 / (K1 + 1e-20) itself before norm() is read. The CPU mean field takes K1 from a spare class
  // lane of its first filtering (crf_cpu.cpp), which saves filtering a vector of ones.
  void build_without_norm(const float* features, int count, int dim, int threads, int row_length = 0);
  float* row_norm_to_fill() { return norm_.data(); }

  // Splats (n_j) Q_j and blurs: the vertex rows that slice_point() reads (stride floats per row).
  const float* splat_blur(const float* q, int stride) {
    return lattice_.splat_blur(q, stride, normalisation_ == KernelNormalisation::kSymmetric ? norm_.data() : nullptr);
  }
  // out = sum_r weight * vertex row, *without* the factor norm(i) (callers fold it with the weight).
  void slice_point(const float* blurred, int stride, int i, float* out) const {
    lattice_.slice_point(blurred, stride, i, out);
  }
  // The factor of point i's sliced value: 1 / sum_j k_ij (kRow) or n_i (kSymmetric).
  float norm(int i) const { return norm_[i]; }

  // out = filter(in) for all points (stride floats each): for tests and tools.
  void filter(const float* in, int stride, float* out);

  const PermutohedralLattice& lattice() const { return lattice_; }

 private:
  KernelNormalisation normalisation_;
  PermutohedralLattice lattice_;
  std::vector<float> norm_, ones_;
  int threads_ = 1;
};

}  // namespace deeplab::crf
