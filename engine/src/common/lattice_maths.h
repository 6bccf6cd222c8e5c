// The permutohedral lattice's maths shared by the CPU lattice (crf/permutohedral.cpp) and the CUDA
// lattice's steps (cuda/crf/lattice_steps.h): the vertex keys and their hash, the embedding scale,
// a point's enclosing simplex with its barycentric weights, a simplex's vertices and a vertex's
// blur neighbours. One definition, so that both lattices number, hash and weigh identically (the
// CUDA host-emulation tests compare them bit for bit).
//
// Every float operation goes through the *_rn helpers of common/host_device.h (one IEEE rounding
// each, on the device too), so both lattices round identically.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/host_device.h"

namespace deeplab::lattice {

// Feature dimensions supported: keys hold d int16 coordinates in 128 bits and a point's d+1
// simplex ranks are packed in 4 bits each (32 bits).
inline constexpr int kMaxDim = 7;

// ---- one IEEE rounding per operation -------------------------------------------------------------

using pixel::add_rn;
using pixel::div_rn;
using pixel::mul_rn;
using pixel::sub_rn;

// The nearest integer, ties to even (as rintf in the default rounding mode), for |x| < 2^22: adding
// and subtracting 1.5 * 2^23 leaves no fraction bits. Inlined where std::nearbyint is a libm call.
DEEPLAB_HOST_DEVICE inline int round_to_even(float x) {
  return static_cast<int>(sub_rn(add_rn(x, 12582912.0f), 12582912.0f));
}

// ---- keys ---------------------------------------------------------------------------------------

// The first d coordinates of a lattice point (the last is minus their sum), int16 each:
// coordinates 0..3 in lo, 4..6 in hi.
struct Key {
  std::uint64_t lo = 0, hi = 0;
  DEEPLAB_HOST_DEVICE bool operator==(const Key& o) const { return lo == o.lo && hi == o.hi; }
};

DEEPLAB_HOST_DEVICE inline Key pack_key(const int* coords, int d) {
  Key key;
  for (int k = 0; k < d; ++k) {
    const std::uint64_t bits = static_cast<std::uint16_t>(static_cast<std::int16_t>(coords[k]));
    (k < 4 ? key.lo : key.hi) |= bits << (16 * (k & 3));
  }
  return key;
}

DEEPLAB_HOST_DEVICE inline void unpack_key(const Key& key, int d, int* coords) {
  for (int k = 0; k < d; ++k) {
    const std::uint64_t word = k < 4 ? key.lo : key.hi;
    coords[k] = static_cast<std::int16_t>(static_cast<std::uint16_t>(word >> (16 * (k & 3))));
  }
}

// Multiply-xorshift mixing; the top 64 - shift bits index a table of 2^(64 - shift) slots
// (Fibonacci hashing).
DEEPLAB_HOST_DEVICE inline std::uint64_t slot_of(const Key& key, int shift) {
  std::uint64_t h = key.lo * 0x9E3779B97F4A7C15ull + (key.hi ^ (key.hi >> 29)) * 0xBF58476D1CE4E5B9ull;
  h ^= h >> 31;
  h *= 0x94D049BB133111EBull;
  return h >> shift;
}

// ---- embedding ----------------------------------------------------------------------------------

// Diagonal of the embedding E (Adams et al. 2010, p. 5) times the inverse of the filter's
// expected standard deviation sqrt(2/3) (d+1) (p. 6): densecrf's scale_factor, computed in double
// and rounded to float as densecrf does. Host only (the device gets the scales in its view).
inline void embedding_scale(int d, float* scale) {
  const double inv_std_dev = std::sqrt(2.0 / 3.0) * (d + 1);
  for (int i = 0; i < d; ++i)
    scale[i] = static_cast<float>(inv_std_dev / std::sqrt(static_cast<double>((i + 1) * (i + 2))));
}

// Ranks of the d+1 remainders (0 = largest; ties: the earlier coordinate ranks lower) shifted by
// `sum` and wrapped into 0..D, moving rem0 back onto the hyperplane (Adams et al. 2010, pp. 5-10).
template <int D>
DEEPLAB_HOST_DEVICE inline void simplex_ranks(const float* elevated, int sum, int* rem0, int* rank) {
  for (int k = 0; k <= D; ++k) rank[k] = sum;
  for (int a = 0; a < D; ++a) {
    const float da = sub_rn(elevated[a], static_cast<float>(rem0[a]));
    for (int b = a + 1; b <= D; ++b) {
      if (da < sub_rn(elevated[b], static_cast<float>(rem0[b]))) ++rank[a];
      else ++rank[b];
    }
  }
  for (int k = 0; k <= D; ++k) {
    const int wrap = (rank[k] < 0) - (rank[k] > D);  // +1, -1 or 0
    rank[k] += wrap * (D + 1);
    rem0[k] += wrap * (D + 1);
  }
}

// A point's enclosing simplex: its features (already divided by the kernel's stds) times `scale`
// elevated onto the hyperplane sum = 0 of Z^(d+1) scaled by d+1, the nearest remainder-0 point
// `base`, the ranks of its d+1 coordinates (4 bits each) and the d+1 barycentric weights (densecrf's
// init()). D is a template argument so that the small loops unroll. Returns max |base coordinate|.
template <int D>
DEEPLAB_HOST_DEVICE inline int embed_point(const float* f, const float* scale, Key* base, std::uint32_t* ranks,
                                           float* weights) {
  const float down = div_rn(1.0f, static_cast<float>(D + 1));
  float elevated[D + 1];
  float sm = 0;
  for (int j = D; j > 0; --j) {
    const float cf = mul_rn(f[j - 1], scale[j - 1]);
    elevated[j] = sub_rn(sm, mul_rn(static_cast<float>(j), cf));
    sm = add_rn(sm, cf);
  }
  elevated[0] = sm;
  int rem0[D + 1], rank[D + 1];
  int sum = 0;
  for (int k = 0; k <= D; ++k) {
    const int v = round_to_even(mul_rn(elevated[k], down));
    rem0[k] = v * (D + 1);
    sum += v;
  }
  simplex_ranks<D>(elevated, sum, rem0, rank);
  float bary[D + 2];
  for (int k = 0; k < D + 2; ++k) bary[k] = 0.0f;
  for (int k = 0; k <= D; ++k) {
    const float v = mul_rn(sub_rn(elevated[k], static_cast<float>(rem0[k])), down);
    bary[D - rank[k]] = add_rn(bary[D - rank[k]], v);
    bary[D - rank[k] + 1] = sub_rn(bary[D - rank[k] + 1], v);
  }
  bary[0] = add_rn(bary[0], add_rn(1.0f, bary[D + 1]));
  std::uint32_t packed = 0;
  int worst = 0;
  for (int k = 0; k <= D; ++k) packed |= static_cast<std::uint32_t>(rank[k]) << (4 * k);
  for (int k = 0; k < D; ++k) {
    const int magnitude = rem0[k] < 0 ? -rem0[k] : rem0[k];
    if (magnitude > worst) worst = magnitude;
  }
  *base = pack_key(rem0, D);
  *ranks = packed;
  for (int r = 0; r <= D; ++r) weights[r] = bary[r];
  return worst;
}

// ---- vertices -----------------------------------------------------------------------------------

// Vertex r of the simplex whose remainder-0 vertex has coordinates `rem0` and whose coordinate
// ranks are `ranks`: the canonical simplex's vertex r, shifted. Coordinate k moves by r, or by
// r - (d+1) once its rank passes d - r.
DEEPLAB_HOST_DEVICE inline Key simplex_vertex(const int* rem0, std::uint32_t ranks, int d, int r) {
  int coords[kMaxDim];
  for (int k = 0; k < d; ++k) {
    const int rank = static_cast<int>((ranks >> (4 * k)) & 15u);
    coords[k] = rem0[k] + (rank <= d - r ? r : r - (d + 1));
  }
  return pack_key(coords, d);
}

// The blur's neighbour of the vertex with coordinates `key` along lattice direction j (0..d):
// side 0 = key + u_j, side 1 = key - u_j, where u_j is d on coordinate j and -1 on the others (all
// -1 for j = d, coordinate d being implicit).
DEEPLAB_HOST_DEVICE inline Key neighbour_key(const int* key, int d, int j, int side) {
  const int step = side == 0 ? 1 : -1;
  int coords[kMaxDim];
  for (int k = 0; k < d; ++k) coords[k] = key[k] - step;
  if (j < d) coords[j] = key[j] + step * d;
  return pack_key(coords, d);
}

}  // namespace deeplab::lattice
