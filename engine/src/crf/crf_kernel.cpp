#include "crf/crf_kernel.h"

#include <omp.h>

#include <cmath>

#include "deeplab/error.h"

namespace deeplab::crf {

void gaussian_features(int width, int height, float xy_std, float* out, int threads) {
  const float inv = 1.0f / xy_std;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      float* f = out + (static_cast<std::size_t>(y) * width + x) * kGaussianDim;
      f[0] = static_cast<float>(x) * inv;
      f[1] = static_cast<float>(y) * inv;
    }
}

void bilateral_features(const CrfImage& image, float xy_std, float rgb_std, float* out, int threads) {
  const float inv_xy = 1.0f / xy_std, inv_rgb = 1.0f / rgb_std;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int y = 0; y < image.height; ++y) {
    const std::uint8_t* row = image.rgb + static_cast<std::size_t>(y) * image.stride;
    for (int x = 0; x < image.width; ++x) {
      float* f = out + (static_cast<std::size_t>(y) * image.width + x) * kBilateralDim;
      f[0] = static_cast<float>(x) * inv_xy;
      f[1] = static_cast<float>(y) * inv_xy;
      for (int c = 0; c < 3; ++c) f[2 + c] = static_cast<float>(row[3 * x + c]) * inv_rgb;
    }
  }
}

// K1_i = sum_j k_ij: the lattice filters a vector of ones (each point's own weight included).
void CrfKernel::build_without_norm(const float* features, int count, int dim, int threads, int row_length) {
  if (normalisation_ != KernelNormalisation::kRow)
    throw Error(ErrorCode::kInternal, "CrfKernel::build_without_norm needs the row normalisation");
  threads_ = threads > 0 ? threads : omp_get_num_procs();
  lattice_.build(features, count, dim, threads_, row_length);
  norm_.resize(count);
}

void CrfKernel::build(const float* features, int count, int dim, int threads, int row_length) {
  threads_ = threads > 0 ? threads : omp_get_num_procs();
  lattice_.build(features, count, dim, threads_, row_length);
  ones_.assign(count, 1.0f);
  norm_.resize(count);
  const float* blurred = lattice_.splat_blur(ones_.data(), 1, nullptr);
#pragma omp parallel for num_threads(threads_) schedule(static)
  for (int i = 0; i < count; ++i) {
    float k1;
    lattice_.slice_point(blurred, 1, i, &k1);
    norm_[i] = normalisation_ == KernelNormalisation::kSymmetric ? 1.0f / std::sqrt(k1 + 1e-20f) : 1.0f / (k1 + 1e-20f);
  }
}

void CrfKernel::filter(const float* in, int stride, float* out) {
  const float* blurred = splat_blur(in, stride);
  const int n = lattice_.points();
#pragma omp parallel for num_threads(threads_) schedule(static)
  for (int i = 0; i < n; ++i) {
    float* o = out + static_cast<std::size_t>(i) * stride;
    lattice_.slice_point(blurred, stride, i, o);
    for (int k = 0; k < stride; ++k) o[k] *= norm_[i];
  }
}

}  // namespace deeplab::crf
