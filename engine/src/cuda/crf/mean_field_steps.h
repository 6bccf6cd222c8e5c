// The CUDA mean field, one thread's work at a time (cuda/crf/mean_field.cu calls these; the unit
// tests run them on the CPU against the CPU backend, crf/crf_cpu.cpp). Per pixel i, as the CPU:
//   load    p^_ik = max(p_ik, 1e-8) (NaN -> 1e-8); Q0_i = p^_i / sum_k p^_ik, or the caller's Q;
//   update  m_ik = w_g * blur(i, k) + w_b * n^b_i * slice_b(i, k)   (each term only when its weight
//           > 0; blur: the separable Gaussian's horizontal pass, cuda/crf/gaussian_blur_steps.h),
//           Q_ik = normalise(p^_ik * fast_exp(m_ik - max_k m_ik)).
// The update gives each pixel a group of lanes of one warp (crf_plan.h's mean_field_group): lane l
// computes classes l, l + group, ...; the maximum and the sum are reduced across the group with
// butterfly shuffles. Every operation rounds as the CPU's does, except the order of the final sum
// over classes (the CPU's is its vectoriser's), so Q differs from the CPU's by float rounding only.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "cuda/crf/crf_plan.h"
#include "cuda/crf/gaussian_blur_steps.h"
#include "cuda/crf/lattice_steps.h"
#include "cuda/host_device.h"

namespace deeplab::cuda {

inline constexpr float kCrfMinProbability = 1e-8f;  // crf/crf_cpu.cpp's kMinProbability

DEEPLAB_HOST_DEVICE inline float bits_to_float(std::int32_t bits) {
#if defined(__CUDA_ARCH__)
  return __int_as_float(bits);
#else
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
#endif
}

// crf/fast_exp.h's fast_exp (Cephes' expf), operation for operation: bit-identical to it.
DEEPLAB_HOST_DEVICE inline float fast_exp_rn(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float n = sub_rn(add_rn(mul_rn(x, 1.44269504088896341f), 12582912.0f), 12582912.0f);
  float r = sub_rn(x, mul_rn(n, 0.693359375f));
  r = add_rn(r, mul_rn(n, 2.12194440e-4f));
  const float r2 = mul_rn(r, r);
  float p = 1.9875691500e-4f;
  p = add_rn(mul_rn(p, r), 1.3981999507e-3f);
  p = add_rn(mul_rn(p, r), 8.3334519073e-3f);
  p = add_rn(mul_rn(p, r), 4.1665795894e-2f);
  p = add_rn(mul_rn(p, r), 1.6666665459e-1f);
  p = add_rn(mul_rn(p, r), 5.0000001201e-1f);
  const float er = add_rn(add_rn(mul_rn(p, r2), r), 1.0f);
  // NaN (a NaN argument) converts as 0, as in fast_exp: the result is NaN anyway.
  const std::int32_t whole = n == n ? static_cast<std::int32_t>(n) : 0;
  return mul_rn(er, bits_to_float(static_cast<std::int32_t>(static_cast<std::uint32_t>(whole + 127) << 23)));
}

// std::max's choice: b only when a < b.
DEEPLAB_HOST_DEVICE inline float max_of(float a, float b) { return a < b ? b : a; }

// Below every message (the identity of the group maximum; lanes without a class keep it).
inline constexpr float kLowest = -3.402823466e38f;

// The bilateral kernel's part of the messages: its lattice's per-entry vertices and weights, per-point
// normalisation, blurred vertex rows (stride = classes) and weight. blurred == nullptr: not used
// (weight 0).
struct KernelSlice {
  const int* offsets = nullptr;
  const float* weights = nullptr;
  const float* norm = nullptr;
  const float* blurred = nullptr;
  float weight = 0;
};

struct MeanFieldView {
  int points = 0, classes = 0, group = 1;
  const float* unary = nullptr;  // points x classes: p^
  float* q = nullptr;            // points x classes: Q (read through the blurred rows, written here)
  BlurSlice gaussian;
  KernelSlice bilateral;
};

// Pixel i: p^ from the probabilities (which may be the unary buffer itself) and, without a warm
// start, Q0 = p^ / sum p^.
// A unary temperature T != 1 makes p^ = (p^ / max p^)^T, as the CPU's load (crf/crf_cpu.cpp).
DEEPLAB_HOST_DEVICE inline void load_step(const float* probabilities, float* unary, float* q, int classes,
                                          bool warm_start, int i, float temperature = 1.0f) {
  const std::int64_t at = static_cast<std::int64_t>(i) * classes;
  float peak = 0;
  for (int k = 0; k < classes; ++k) {
    const float p = probabilities[at + k];
    unary[at + k] = p > kCrfMinProbability ? p : kCrfMinProbability;  // NaN -> the floor too
    peak = max_of(peak, unary[at + k]);
  }
  float sum = 0;
  for (int k = 0; k < classes; ++k) {
    if (temperature != 1.0f) unary[at + k] = powf(unary[at + k] / peak, temperature);
    sum = add_rn(sum, unary[at + k]);
  }
  if (warm_start) return;
  const float inv = div_rn(1.0f, sum);
  for (int k = 0; k < classes; ++k) q[at + k] = mul_rn(unary[at + k], inv);
}

// Class k of pixel i's message (the CPU's m[k]: 0, plus each kernel's scaled slice in turn).
template <int DB>
DEEPLAB_HOST_DEVICE inline float message(const MeanFieldView& v, int i, int k) {
  float m = 0.0f;
  if (v.gaussian.cols) m = add_rn(m, blur_message(v.gaussian, i, k));
  if (v.bilateral.blurred) {
    const KernelSlice& b = v.bilateral;
    const float t = slice_value<DB>(b.offsets, b.weights, b.blurred, v.classes, i, k);
    m = add_rn(m, mul_rn(mul_rn(b.weight, b.norm[i]), t));
  }
  return m;
}

// Lane `lane` of pixel i's group: the messages of its classes into m[j] (class lane + j * group);
// returns their maximum (kLowest for a lane without classes).
template <int DB>
DEEPLAB_HOST_DEVICE inline float lane_messages(const MeanFieldView& v, int i, int lane, float* m) {
  float peak = kLowest;
  for (int j = 0; j < kMaxClassesPerLane; ++j) {
    const int k = lane + j * v.group;
    if (k >= v.classes) break;
    m[j] = message<DB>(v, i, k);
    peak = max_of(peak, m[j]);
  }
  return peak;
}

// Turns the lane's messages into p^ * exp(m - peak) in place; returns their sum, in class order.
DEEPLAB_HOST_DEVICE inline float lane_exponentials(const MeanFieldView& v, int i, int lane, float peak, float* m) {
  const std::int64_t at = static_cast<std::int64_t>(i) * v.classes;
  float sum = 0.0f;
  for (int j = 0; j < kMaxClassesPerLane; ++j) {
    const int k = lane + j * v.group;
    if (k >= v.classes) break;
    m[j] = mul_rn(v.unary[at + k], fast_exp_rn(sub_rn(m[j], peak)));
    sum = add_rn(sum, m[j]);
  }
  return sum;
}

// Writes the lane's classes of Q_i = t / (group's sum).
DEEPLAB_HOST_DEVICE inline void lane_store(const MeanFieldView& v, int i, int lane, float sum, const float* t) {
  const std::int64_t at = static_cast<std::int64_t>(i) * v.classes;
  const float inv = div_rn(1.0f, sum);
  for (int j = 0; j < kMaxClassesPerLane; ++j) {
    const int k = lane + j * v.group;
    if (k >= v.classes) break;
    v.q[at + k] = mul_rn(t[j], inv);
  }
}

}  // namespace deeplab::cuda
