// The CRF's hot loops are compiled twice, for AVX2 and for the baseline x86-64 (SSE2) the engine
// targets, and the loader picks the AVX2 one on CPUs that have it (GCC function multiversioning).
// Only vector width changes: the code has no FMA contraction (ISO C++ mode) and no reductions
// across lanes, so both versions compute the same floats.
#pragma once

#include <cstring>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define DEEPLAB_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DEEPLAB_SIMD_CLONES
#endif

namespace deeplab::crf {

// Eight floats as one value (GCC's vector extension): one AVX register in the AVX2 clones, two SSE
// registers in the baseline ones. The per-class loops use it so that they are vector code whatever
// the vectoriser makes of an 8-iteration loop (it left the appearance kernel's slice scalar).
// (Inline helpers only: -Wpsabi's note about passing 32-byte vectors without AVX concerns calls across
// translation units, which never happen here; the CRF's sources are built with -Wno-psabi.)
typedef float Lanes __attribute__((vector_size(32)));
inline Lanes load_lanes(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store_lanes(float* p, const Lanes& v) { std::memcpy(p, &v, sizeof v); }

// [begin, end) of `count` items for thread `t` of `threads` (static schedule).
inline void thread_range(int count, int t, int threads, int& begin, int& end) {
  begin = static_cast<int>(static_cast<long long>(count) * t / threads);
  end = static_cast<int>(static_cast<long long>(count) * (t + 1) / threads);
}

}  // namespace deeplab::crf
