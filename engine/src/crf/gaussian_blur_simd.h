// The inner loops of crf/gaussian_blur.h's separable Gaussian, inline for the CPU mean field's
// per-pixel update (crf/crf_cpu.cpp) and crf/gaussian_blur.cpp (a header of its own, so that code
// which only configures a blur, such as the CUDA backend's host side, does not see the 32-byte
// vector type).
//
// Both passes are one loop: dst[j] = sum_d t(|d|) src[j + d * step] over a run of consecutive floats
// (a strip of a row for the vertical pass, step = one image row; a run of a row's pixels for the
// horizontal one, step = one pixel). Summing 8 vectors side by side keeps 8 independent addition
// chains in flight (one chain per value is bound by the adder's latency); each value is still summed
// alone, in ascending d, as cuda/crf/gaussian_blur_steps.h does.
#pragma once

#include <algorithm>
#include <cstdint>

#include "crf/gaussian_blur.h"
#include "crf/simd_clones.h"

// Inlined into their callers whatever the optimiser's estimate: they are compiled for the callers'
// instruction set only there (an out-of-line copy is baseline SSE2 code, 2-3x slower, measured).
#if defined(__GNUC__)
#define DEEPLAB_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define DEEPLAB_ALWAYS_INLINE inline
#endif

namespace deeplab::crf {

constexpr int kBlurChunk = 8;  // vectors of 8 floats summed side by side

// dst[0..floats) = sum_{d = lo..hi} taps[|d|] * src[j + d * step]; floats a multiple of 8.
DEEPLAB_ALWAYS_INLINE void blur_taps(const float* src, std::int64_t step, const float* taps, int lo, int hi,
                                     std::int64_t floats, float* dst) {
  std::int64_t j = 0;
  for (; j + 8 * kBlurChunk <= floats; j += 8 * kBlurChunk) {
    // 0 + the first tap, not a zeroed array: GCC zeroed it with `rep stos`, whose start-up cost
    // showed in profiles; 0 + x is still added (the same floats as summing from 0, -0 included).
    Lanes acc[kBlurChunk];
    {
      const float t = taps[lo < 0 ? -lo : lo];
      for (int v = 0; v < kBlurChunk; ++v) acc[v] = Lanes{} + t * load_lanes(src + j + lo * step + 8 * v);
    }
    for (int d = lo + 1; d <= hi; ++d) {
      const float t = taps[d < 0 ? -d : d];
      const float* s = src + j + d * step;
      for (int v = 0; v < kBlurChunk; ++v) acc[v] += t * load_lanes(s + 8 * v);
    }
    for (int v = 0; v < kBlurChunk; ++v) store_lanes(dst + j + 8 * v, acc[v]);
  }
  for (; j < floats; j += 8) {
    Lanes acc = {};
    for (int d = lo; d <= hi; ++d) acc += taps[d < 0 ? -d : d] * load_lanes(src + j + d * step);
    store_lanes(dst + j, acc);
  }
}

// The horizontal pass of pixels x0 .. x0 + count - 1 of row y of the vertical pass's output `cols`,
// unnormalised: dst = count x stride floats (the caller scales pixel x's by weight / (Sx(x) Sy(y))).
// Pixels whose taps all land in the row go as one run; those within `radius` of an end one by one,
// their offsets clipped to the row.
DEEPLAB_ALWAYS_INLINE void blur_row_run(const GaussianBlur& blur, const float* cols, int stride, int x0, int count,
                                        int y, float* dst) {
  const int width = blur.width(), radius = blur.radius();
  const float* row = cols + static_cast<std::int64_t>(y) * width * stride;
  if (x0 >= radius && x0 + count - 1 + radius < width) {
    blur_taps(row + static_cast<std::int64_t>(x0) * stride, stride, blur.taps(), -radius, radius,
              static_cast<std::int64_t>(count) * stride, dst);
    return;
  }
  for (int p = 0; p < count; ++p) {
    const int x = x0 + p;
    blur_taps(row + static_cast<std::int64_t>(x) * stride, stride, blur.taps(), std::max(-radius, -x),
              std::min(radius, width - 1 - x), stride, dst + static_cast<std::int64_t>(p) * stride);
  }
}

}  // namespace deeplab::crf
