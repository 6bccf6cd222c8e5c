// The CRF's hot loops are compiled three times, for AVX-512F, for AVX2 and for the baseline x86-64
// (SSE2) the engine targets, and the loader picks the best one the CPU has (GCC function
// multiversioning). Only the instructions change: the CRF's sources are built with
// -ffp-contract=off (engine/CMakeLists.txt; GCC contracts a * b + c into an FMA by default, even in
// ISO C++ mode, and AVX-512F brings FMA) and have no reductions across lanes, so every version
// computes the same floats. The AVX-512 clones keep the 8-float vectors below; the compiler uses
// 16-float vectors where it vectorises loops itself (docs/performance.md has the measured gain).
#pragma once

#include <cstring>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define DEEPLAB_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
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
