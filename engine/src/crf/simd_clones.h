// The CRF's hot loops are compiled twice, for AVX2 and for the baseline x86-64 (SSE2) the engine
// targets, and the loader picks the AVX2 one on CPUs that have it (GCC function multiversioning).
// Only vector width changes: the code has no FMA contraction (ISO C++ mode) and no reductions
// across lanes, so both versions compute the same floats.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define DEEPLAB_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DEEPLAB_SIMD_CLONES
#endif

namespace deeplab::crf {

// [begin, end) of `count` items for thread `t` of `threads` (static schedule).
inline void thread_range(int count, int t, int threads, int& begin, int& end) {
  begin = static_cast<int>(static_cast<long long>(count) * t / threads);
  end = static_cast<int>(static_cast<long long>(count) * (t + 1) / threads);
}

}  // namespace deeplab::crf
