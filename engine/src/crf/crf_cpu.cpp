// The CPU mean field (multithreaded with OpenMP). Per call:
//   unary:  p^_i = max(p_i, 1e-8) per class (exp(-U) for U = -log(clamp(p, 1e-8))); with a unary
//           temperature T != 1, U = T * -log(clamp(p)), i.e. p^_i = (p_i / max_k p_k)^T (the
//           per-pixel factor cancels in the normalisation and keeps the power away from underflow)
//   Q0      = p^_i / sum p^_i (softmax of -U), or the caller's Q with warm_start
//   kernels = the smoothness kernel, an exact separable Gaussian on the pixel grid (crf/gaussian_blur.h:
//             taps and normalisation set up only when the size or std changes), and the bilateral
//             lattice (rebuilt every call: it depends on the image)
//   each iteration, both kernels filter the same Q, then per pixel
//     m     = w_g * filter_g(Q)_i + w_b * filter_b(Q)_i                   (crf/crf_kernel.h)
//     Q_i   = normalise(p^_i * exp(m - max m))  ==  normalise(exp(-U_i + m))
// i.e. the Potts model: Q ∝ exp(-U - sum_l' mu(l,l') msg(l')) with mu = w [l != l'] equals
// exp(-U + w msg(l) - w) (each kernel's messages sum to 1 over the classes), and the constant
// goes in the normalisation. Each pixel's own kernel weight is included in its messages, as in
// densecrf (the paper's sum is over j != i); DeepLab's weights assume that.
//
// Classes are padded to a multiple of 8 floats per pixel and per lattice vertex so that every
// per-class loop is whole SIMD vectors; padded lanes stay 0 (their p^ is 0).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "crf/crf_backend.h"
#include "crf/crf_kernel.h"
#include "crf/fast_exp.h"
#include "crf/gaussian_blur_simd.h"
#include "crf/simd_clones.h"
#include "deeplab/error.h"

namespace deeplab::crf {

namespace {

constexpr float kMinProbability = 1e-8f;
constexpr int kLanes = 8;
constexpr int kMaxClasses = 256;

int padded(int classes) { return (classes + kLanes - 1) / kLanes * kLanes; }

// Pixels are updated in runs of up to this many, within a row (smoothness_run, normalise_run).
constexpr int kRunPixels = 8;

// What one mean-field update reads and writes; a kernel is null when its weight is 0.
struct UpdateArgs {
  const GaussianBlur* gaussian;
  const float* gaussian_q;  // Q before the update (written to q, another buffer, when gaussian is set)
  float gaussian_weight;
  int width;
  float* gaussian_rows;  // per thread: a row's vertical pass (width x stride floats)
  const CrfKernel* bilateral;
  const float* bilateral_rows;
  float bilateral_weight;
  const float* unary;  // p^, stride floats per pixel
  float* q;            // the new Q, q_stride floats per pixel: stride, or classes for the caller's
  int q_stride;        // buffer in the last iteration (its padded lanes are not written)
  int classes, stride;
  // First iteration of a freshly built bilateral lattice: its norm is taken from this class lane
  // of the slice (Q held 1 there) and stored here. Null otherwise.
  float* bilateral_norm_out;
  int norm_lane;
};

// m += weight * norm_i * slice(i): one kernel's messages to pixel i, in blocks of 8 classes.
template <int kDim>
inline void add_slice(const CrfKernel& kernel, const float* rows, float weight, int i, int stride, float* m) {
  const float scale = weight * kernel.norm(i);
  const std::int32_t* v = kernel.lattice().point_vertices(i);
  const float* w = kernel.lattice().point_weights(i);
  for (int k0 = 0; k0 < stride; k0 += kLanes) {
    Lanes acc = {};
    for (int r = 0; r <= kDim; ++r) acc += w[r] * load_lanes(rows + static_cast<std::int64_t>(v[r]) * stride + k0);
    store_lanes(m + k0, load_lanes(m + k0) + scale * acc);
  }
}

// add_slice for a kernel whose row normalisation is not known yet: Q carried 1 in `norm_lane` (a
// padded class lane), so that lane of the slice is K1_i = sum_j k_ij, computed exactly as
// CrfKernel::build computes it (same splat, blur and slice order: the same floats). The norm
// 1 / (K1 + 1e-20) is stored for the next iterations.
template <int kDim>
inline void add_slice_taking_norm(const CrfKernel& kernel, const float* rows, float weight, int i, int stride,
                                  int norm_lane, float* norm_out, float* m) {
  alignas(32) float slice[kMaxClasses];
  const std::int32_t* v = kernel.lattice().point_vertices(i);
  const float* w = kernel.lattice().point_weights(i);
  float k1 = 0;
  for (int k0 = 0; k0 < stride; k0 += kLanes) {
    Lanes acc = {};
    for (int r = 0; r <= kDim; ++r) acc += w[r] * load_lanes(rows + static_cast<std::int64_t>(v[r]) * stride + k0);
    store_lanes(slice + k0, acc);
    if (norm_lane >= k0 && norm_lane < k0 + kLanes) k1 = acc[norm_lane - k0];
  }
  const float norm = 1.0f / (k1 + 1e-20f);
  norm_out[i] = norm;
  const float scale = weight * norm;
  for (int k0 = 0; k0 < stride; k0 += kLanes) store_lanes(m + k0, load_lanes(m + k0) + scale * load_lanes(slice + k0));
}

// Q_i = normalise(p^_i * exp(m_i - max m_i)) for the `count` pixels from i (m: count rows of stride
// floats); padded lanes have p^ = 0 and stay 0 (the lane that carried the 1s for
// add_slice_taking_norm included). Each step runs for all the pixels before the next: each pixel's
// arithmetic is the same, but its max, its sum over lanes and its division are chains of dependent
// scalar operations, and one pixel at a time the update waited on them (measured).
DEEPLAB_ALWAYS_INLINE void normalise_run(const UpdateArgs& a, int i, int count, float* m) {
  const int s = a.stride, full_blocks = a.classes / kLanes * kLanes;
  float peak[kRunPixels], sums[kRunPixels][kLanes] = {}, inv[kRunPixels];
  for (int p = 0; p < count; ++p) {
    const float* mp = m + p * s;
    Lanes top = load_lanes(mp);
    for (int k0 = kLanes; k0 < full_blocks; k0 += kLanes) {
      const Lanes x = load_lanes(mp + k0);
      top = x > top ? x : top;
    }
    float best = full_blocks > 0 ? top[0] : mp[0];
    for (int l = 1; l < (full_blocks > 0 ? kLanes : 0); ++l) best = std::max(best, top[l]);
    for (int k = full_blocks; k < a.classes; ++k) best = std::max(best, mp[k]);
    peak[p] = best;
  }
  const float* u = a.unary + static_cast<std::size_t>(i) * s;
  for (int p = 0; p < count; ++p)
    for (int k0 = 0; k0 < s; k0 += kLanes)
      for (int l = 0; l < kLanes; ++l) {
        const float e = u[p * s + k0 + l] * fast_exp(m[p * s + k0 + l] - peak[p]);
        m[p * s + k0 + l] = e;
        sums[p][l] += e;
      }
  for (int p = 0; p < count; ++p) {
    float sum = 0;
    for (int l = 0; l < kLanes; ++l) sum += sums[p][l];
    inv[p] = 1.0f / sum;
  }
  float* q = a.q + static_cast<std::size_t>(i) * a.q_stride;
  if (a.q_stride == s) {
    for (int p = 0; p < count; ++p)
      for (int k0 = 0; k0 < s; k0 += kLanes) store_lanes(q + p * s + k0, load_lanes(m + p * s + k0) * inv[p]);
    return;
  }
  for (int p = 0; p < count; ++p) {  // the classes only: the next pixel's start follows
    float* qp = q + p * a.q_stride;
    for (int k0 = 0; k0 < full_blocks; k0 += kLanes) store_lanes(qp + k0, load_lanes(m + p * s + k0) * inv[p]);
    for (int k = full_blocks; k < a.classes; ++k) qp[k] = m[p * s + k] * inv[p];
  }
}

// The smoothness kernel's messages, unnormalised (crf/gaussian_blur_simd.h), for a run of up to
// kRunPixels pixels from i within one row and before `end`, into `out`; returns the run's end.
// On entering a row (row_y tracks it) the vertical pass of the columns that the row's pixels before
// `end` reach goes into `row` (the thread's): the pass is folded into the update instead of writing a
// whole image of sums and reading it back (the same floats as GaussianBlur::column_sums; twice as
// fast, measured, as the vertical pass was bound by that memory traffic).
DEEPLAB_ALWAYS_INLINE int smoothness_run(const UpdateArgs& a, int i, int end, int& row_y, float* row, float* out) {
  const int y = i / a.width, x = i - y * a.width;
  const int radius = a.gaussian->radius(), height = a.gaussian->height();
  if (y != row_y) {
    const int xa = std::max(0, x - radius), xb = std::min(a.width, std::min(end - y * a.width, a.width) + radius);
    const int lo = std::max(-radius, -y), hi = std::min(radius, height - 1 - y);
    const std::int64_t row_floats = static_cast<std::int64_t>(a.width) * a.stride;
    blur_taps(a.gaussian_q + y * row_floats + static_cast<std::int64_t>(xa) * a.stride, row_floats,
              a.gaussian->taps(), lo, hi, static_cast<std::int64_t>(xb - xa) * a.stride,
              row + static_cast<std::int64_t>(xa) * a.stride);
    row_y = y;
  }
  const int count = std::min({kRunPixels, end - i, a.width - x});
  blur_row_run(*a.gaussian, row, a.stride, x, count, 0, out);
  return i + count;
}

// m = weight / (Sx Sy) * the run's sums for pixel i (the first term of its messages).
DEEPLAB_ALWAYS_INLINE void smoothness_messages(const UpdateArgs& a, int i, const float* sums, float* m) {
  const int y = i / a.width, x = i - y * a.width;
  const float scale = a.gaussian_weight * (a.gaussian->inv_sums_x()[x] * a.gaussian->inv_sums_y()[y]);
  for (int k0 = 0; k0 < a.stride; k0 += kLanes) store_lanes(m + k0, scale * load_lanes(sums + k0));
}

// Pixels [begin, end) of one mean-field update, in runs of up to kRunPixels within a row.
DEEPLAB_SIMD_CLONES
void update_rows(const UpdateArgs& a, int begin, int end, float* row) {
  alignas(32) float m[kRunPixels * kMaxClasses];
  alignas(32) float smooth[kRunPixels * kMaxClasses];
  int row_y = -1;
  for (int i = begin; i < end;) {
    const int run_end = a.gaussian ? smoothness_run(a, i, end, row_y, row, smooth)
                                   : std::min({i + kRunPixels, end, (i / a.width + 1) * a.width});
    for (int j = i; j < run_end; ++j) {
      float* mj = m + static_cast<std::size_t>(j - i) * a.stride;
      if (a.gaussian)
        smoothness_messages(a, j, smooth + static_cast<std::size_t>(j - i) * a.stride, mj);
      else
        for (int k0 = 0; k0 < a.stride; k0 += kLanes) store_lanes(mj + k0, Lanes{});
      if (a.bilateral_norm_out)
        add_slice_taking_norm<kBilateralDim>(*a.bilateral, a.bilateral_rows, a.bilateral_weight, j, a.stride,
                                             a.norm_lane, a.bilateral_norm_out, mj);
      else if (a.bilateral)
        add_slice<kBilateralDim>(*a.bilateral, a.bilateral_rows, a.bilateral_weight, j, a.stride, mj);
    }
    normalise_run(a, i, run_end - i, m);
    i = run_end;
  }
}

class CpuCrf final : public CrfBackend {
 public:
  explicit CpuCrf(int threads)
      : threads_(threads > 0 ? threads : omp_get_num_procs()), bilateral_(KernelNormalisation::kRow) {}

  Device device() const override { return Device::kCpu; }

  void infer(const CrfImage& image, const float* probabilities, int num_classes, const CrfParams& params,
             int iterations, bool warm_start, float* q, float position_scale, float warm_blend) override {
    width_ = image.width;
    height_ = image.height;
    classes_ = num_classes;
    stride_ = padded(num_classes);
    const std::size_t n = static_cast<std::size_t>(width_) * height_;
    const bool use_g = params.gaussian_weight > 0, use_b = params.bilateral_weight > 0;
    unary_.resize(n * stride_);
    q_.resize(n * stride_);
    if (use_g) {  // the update writes Q here while the blur reads the last Q
      q_next_.resize(n * stride_);
      gaussian_rows_.resize(static_cast<std::size_t>(threads_) * width_ * stride_);
    }
    // With a padded class lane to spare, the bilateral kernel's normalisation comes from the
    // first iteration's filtering of Q with 1 in that lane, instead of filtering a vector of ones
    // (a splat, blur and slice saved per frame; the same floats).
    const bool norm_in_lane = iterations > 0 && use_b && classes_ < stride_;
    load(probabilities, warm_start ? q : nullptr, warm_blend, norm_in_lane, params.unary_temperature);
    if (iterations > 0) {
      const float g_std = params.gaussian_xy_std * position_scale;
      if (use_g && !gaussian_.matches(width_, height_, g_std)) gaussian_.configure(width_, height_, g_std);
      if (use_b) build_bilateral(image, params, position_scale, norm_in_lane);
      for (int it = 0; it < iterations; ++it) {
        const bool last = it + 1 == iterations;
        const float* vb = use_b ? bilateral_.splat_blur(q_.data(), stride_) : nullptr;
        update(use_g, params.gaussian_weight, vb, params.bilateral_weight,
               it == 0 && norm_in_lane ? bilateral_.row_norm_to_fill() : nullptr, last ? q : nullptr);
        if (use_g && !last) q_.swap(q_next_);  // no copy, no allocation
      }
      return;  // the last update wrote the caller's q
    }
    store(q);
  }

 private:
  // p^ into unary_ (padded lanes 0) and Q0 into q_: from p^, or from the caller's q (blended with
  // max(p, 1e-8) when `blend` > 0: crf_backend.h). Padded lanes of Q are 0, except the first one with
  // `one_in_spare_lane` (add_slice_taking_norm). Pixels go in blocks of kLanes so that the
  // normalisations' sums, each in class order, run side by side (normalise_block).
  void load(const float* probabilities, const float* warm_q, float blend, bool one_in_spare_lane, float temperature) {
    const int c = classes_, s = stride_;
    const int n = width_ * height_, blocks = (n + kLanes - 1) / kLanes;
    const bool blended = warm_q && blend > 0, copied = warm_q && !blended;
    const float keep = 1.0f - blend;
#pragma omp parallel for num_threads(threads_) schedule(static)
    for (int b = 0; b < blocks; ++b) {
      const int first = b * kLanes, count = std::min(kLanes, n - first);
      float* u = unary_.data() + static_cast<std::size_t>(first) * s;
      float* q = q_.data() + static_cast<std::size_t>(first) * s;
      for (int p = 0; p < count; ++p) {
        const std::size_t in = static_cast<std::size_t>(first + p) * c, out = static_cast<std::size_t>(p) * s;
        for (int k = 0; k < c; ++k)  // NaN -> the floor too
          u[out + k] = probabilities[in + k] > kMinProbability ? probabilities[in + k] : kMinProbability;
        if (blended)  // from max(p, 1e-8) before the temperature
          for (int k = 0; k < c; ++k) q[out + k] = keep * warm_q[in + k] + blend * u[out + k];
        else if (copied)
          for (int k = 0; k < c; ++k) q[out + k] = warm_q[in + k];
        if (temperature != 1.0f) temper(u + out, c, temperature);  // T = 1 leaves today's floats untouched
        for (int k = c; k < s; ++k) u[out + k] = q[out + k] = 0.0f;
      }
      if (!copied) normalise_block(blended ? q : u, count, c, s, q);
      if (one_in_spare_lane)
        for (int p = 0; p < count; ++p) q[static_cast<std::size_t>(p) * s + c] = 1.0f;
    }
  }

  // q_p = from_p / sum_k from_p[k] for the `count` rows of `stride` floats at `from` (q may be from):
  // each sum in class order, as the CUDA steps sum (a pixel's floats do not depend on the block),
  // but the block's pixels side by side: one pixel's 21 dependent additions were bound by the adder's
  // latency.
  static void normalise_block(const float* from, int count, int classes, int stride, float* q) {
    float sums[kLanes] = {};
    for (int k = 0; k < classes; ++k)
      for (int p = 0; p < count; ++p) sums[p] += from[static_cast<std::size_t>(p) * stride + k];
    for (int p = 0; p < count; ++p) {
      const float inv = 1.0f / sums[p];
      for (int k = 0; k < classes; ++k)
        q[static_cast<std::size_t>(p) * stride + k] = from[static_cast<std::size_t>(p) * stride + k] * inv;
    }
  }

  // u = (u / max u)^T: exp(-T U) up to a per-pixel factor.
  static void temper(float* u, int classes, float temperature) {
    float peak = u[0];
    for (int k = 1; k < classes; ++k) peak = std::max(peak, u[k]);
    for (int k = 0; k < classes; ++k) u[k] = std::pow(u[k] / peak, temperature);
  }

  void store(float* q) const {
    const int c = classes_, s = stride_;
    const int n = width_ * height_;
#pragma omp parallel for num_threads(threads_) schedule(static)
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < c; ++k) q[static_cast<std::size_t>(i) * c + k] = q_[static_cast<std::size_t>(i) * s + k];
  }

  void build_bilateral(const CrfImage& image, const CrfParams& params, float position_scale, bool norm_in_lane) {
    const float xy_std = params.bilateral_xy_std * position_scale, rgb_std = params.bilateral_rgb_std;
    check_bilateral_range(width_, height_, params, position_scale);
    const int n = width_ * height_;
    features_.resize(static_cast<std::size_t>(n) * kBilateralDim);
    bilateral_features(image, xy_std, rgb_std, features_.data(), threads_);
    if (norm_in_lane)
      bilateral_.build_without_norm(features_.data(), n, kBilateralDim, threads_, width_);
    else
      bilateral_.build(features_.data(), n, kBilateralDim, threads_, width_);
  }

  // One mean-field update of every pixel from Q (the smoothness kernel, when use_g: the result goes
  // to q_next_) and the bilateral lattice's blurred vertex rows. With `final_q` (the last
  // iteration) the result goes there instead, classes_ floats per pixel: no pass of its own to copy
  // Q out of the padded rows.
  void update(bool use_g, float wg, const float* vb, float wb, float* bilateral_norm_out, float* final_q) {
    const UpdateArgs args{use_g ? &gaussian_ : nullptr,
                          q_.data(),
                          wg,
                          width_,
                          gaussian_rows_.data(),
                          vb ? &bilateral_ : nullptr,
                          vb,
                          wb,
                          unary_.data(),
                          final_q ? final_q : use_g ? q_next_.data() : q_.data(),
                          final_q ? classes_ : stride_,
                          classes_,
                          stride_,
                          bilateral_norm_out,
                          classes_};
    const int n = width_ * height_;
#pragma omp parallel num_threads(threads_)
    {
      int begin, end;
      const int t = omp_get_thread_num();
      thread_range(n, t, omp_get_num_threads(), begin, end);
      update_rows(args, begin, end, use_g ? gaussian_rows_.data() + static_cast<std::size_t>(t) * width_ * stride_ : nullptr);
    }
  }

  const int threads_;
  int width_ = 0, height_ = 0, classes_ = 0, stride_ = 0;
  std::vector<float> unary_, q_, q_next_, features_, gaussian_rows_;
  GaussianBlur gaussian_;  // the taps and normalisation follow the size and std
  CrfKernel bilateral_;
};

}  // namespace

std::unique_ptr<CrfBackend> make_cpu_crf_backend(int threads) { return std::make_unique<CpuCrf>(threads); }

}  // namespace deeplab::crf
