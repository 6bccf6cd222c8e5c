// The CUDA permutohedral lattice, one thread's work at a time: each kernel of cuda/crf/lattice_build.cu
// and cuda/crf/lattice_filter.cu calls one step below for its thread's index, and the unit tests run
// the same steps on the CPU, index by index, against crf::PermutohedralLattice (crf/permutohedral.cpp).
//
// The maths both lattices share (keys, hash, embedding, simplex and neighbour keys) is common/lattice_maths.h;
// the arithmetic is the CPU lattice's, operation for operation and rounded as it rounds (mul_rn and
// friends: nvcc would otherwise contract a * b + c into one fused multiply-add):
//   embed      each point's elevated features, enclosing simplex (remainder-0 vertex and ranks) and
//              barycentric weights (Adams et al. 2010; densecrf's init());
//   hash       the d+1 (point, vertex) pairs ("entries", e = point * (d+1) + r) go into an open-addressing
//              table keyed by the vertex's d int16 coordinates (Adams et al.'s GPU lattice). An entry
//              claims an empty slot with compare-and-swap; then every entry lowers its slot to the
//              smallest entry with that key (atomic min), so that a vertex's owner is its first use in
//              point order whichever thread won the race;
//   number     owners get consecutive vertex ids in entry order (an exclusive scan of owner flags):
//              the CPU's first-use numbering exactly, so vertex ids, offsets and neighbours equal the
//              CPU's and each vertex's splat sums its points in the CPU's order;
//   lists      a stable sort of the entries by vertex gives every vertex its points in point order;
//   neighbours each vertex's two neighbours along each of the d+1 lattice directions (absent = m,
//              the all-zero row);
//   splat      vertex row v = sum over its points, in order, of weight * point_scale * in (a gather:
//              deterministic, no float atomics; point_scale = n_j for the symmetric normalisation);
//   blur       new = old + (left + right) / 2 along each direction in turn;
//   slice      a point's value = sum_r weight_r * row(vertex_r), r = 0..d in order.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/lattice_maths.h"
#include "cuda/crf/crf_plan.h"
#include "cuda/host_device.h"

namespace deeplab::cuda {

// The maths both lattices share (keys, hash, embedding, simplex vertices, neighbour keys).
using lattice::embed_point;
using lattice::neighbour_key;
using lattice::pack_key;
using lattice::unpack_key;
using LatticeKeyBits = lattice::Key;

// ---- feature sources (crf/crf_kernel.cpp's gaussian_features / bilateral_features) -------------

// (x / xy_std, y / xy_std) of pixel i = y * width + x.
struct GaussianFeatures {
  static constexpr int kDim = kCrfGaussianDim;
  int width = 0;
  float inv_xy = 0;  // 1.0f / xy_std
  DEEPLAB_HOST_DEVICE void operator()(int i, float* f) const {
    const int y = i / width, x = i - y * width;
    f[0] = mul_rn(static_cast<float>(x), inv_xy);
    f[1] = mul_rn(static_cast<float>(y), inv_xy);
  }
};

// (x / xy_std, y / xy_std, r / rgb_std, g / rgb_std, b / rgb_std) of pixel i; `rgb` is interleaved
// 8-bit RGB with `stride` bytes per row (device memory in a kernel).
struct BilateralFeatures {
  static constexpr int kDim = kCrfBilateralDim;
  const std::uint8_t* rgb = nullptr;
  int width = 0;
  int stride = 0;
  float inv_xy = 0, inv_rgb = 0;
  DEEPLAB_HOST_DEVICE void operator()(int i, float* f) const {
    const int y = i / width, x = i - y * width;
    const std::uint8_t* px = rgb + static_cast<std::int64_t>(y) * stride + 3 * x;
    f[0] = mul_rn(static_cast<float>(x), inv_xy);
    f[1] = mul_rn(static_cast<float>(y), inv_xy);
    for (int c = 0; c < 3; ++c) f[2 + c] = mul_rn(static_cast<float>(px[c]), inv_rgb);
  }
};

// ---- what the kernels see -------------------------------------------------------------------------

// Slots of LatticeView::counters.
inline constexpr int kCounterWorstCoordinate = 0;  // the largest |remainder-0 coordinate| (atomic max)
inline constexpr int kCounterVertices = 1;         // m, written by the numbering step
inline constexpr int kCounterCount = 2;

// Device pointers of one lattice (host pointers when the tests run the steps on the CPU). Per entry
// e = point * (d+1) + r, per vertex v in 0..m-1; the buffers entry_slot and entry_flag are reused
// as their comments say.
struct LatticeView {
  int points = 0, dim = 0, entries = 0;
  std::uint32_t slot_mask = 0;
  int slot_shift = 0;
  float scale[kLatticeMaxDim] = {};
  int vertices = 0;  // m: known once numbered (read back to the host)
  // The kernel's normalisation (crf/crf_kernel.h): symmetric n_i = 1 / sqrt(K1_i), applied on both
  // sides (the splat is scaled by n_j); otherwise row n_i = 1 / K1_i, applied to the message only.
  bool symmetric = true;

  LatticeKeyBits* base = nullptr;  // per point: remainder-0 vertex
  std::uint32_t* ranks = nullptr;  // per point: coordinate ranks, 4 bits each
  float* weights = nullptr;        // per entry: barycentric weight
  int* slots = nullptr;            // table_slots: an entry with the slot's key (the smallest, after claiming), or -1
  int* entry_slot = nullptr;       // per entry: the slot of its key; after numbering, the entry id (the sort's values)
  int* entry_flag = nullptr;       // per entry: 1 if it owns its vertex; after sorting, the sorted vertex ids
  int* entry_first = nullptr;      // per entry: exclusive scan of entry_flag (an owner's vertex id)
  int* offsets = nullptr;          // per entry: its vertex id
  int* splat_entry = nullptr;      // per entry: entry ids sorted by vertex, stable (point order)
  int* vertex_owner = nullptr;  // per vertex: its owner entry (first use); sized per entry (written before m is known)
  int* starts = nullptr;        // m + 1: vertex v's entries are splat_entry[starts[v] .. starts[v+1])
  int* neighbours = nullptr;    // (d+1) x m x 2: neighbours of v along direction j, m when absent
  int* counters = nullptr;      // kCounterCount ints
  float* norm = nullptr;        // per point: the CRF kernel's normalisation n_i
};

// The arrays of one lattice, each in a `Buffer<T>` with data(): DeviceBuffer in CudaLattice,
// std::vector in the tests' emulation. point() fills a view with their pointers and the sizes.
template <template <class> class Buffer>
struct LatticeBuffers {
  Buffer<LatticeKeyBits> base;
  Buffer<std::uint32_t> ranks;
  Buffer<float> weights, norm;
  Buffer<int> slots, entry_slot, entry_flag, entry_first, offsets, splat_entry, vertex_owner, starts, neighbours,
      counters;

  void point(LatticeView& v, const LatticeSizes& sizes) {
    v.points = sizes.points;
    v.dim = sizes.dim;
    v.entries = static_cast<int>(sizes.entries);
    v.slot_mask = static_cast<std::uint32_t>(sizes.table_slots - 1);
    v.slot_shift = sizes.slot_shift;
    lattice::embedding_scale(sizes.dim, v.scale);
    v.base = base.data();
    v.ranks = ranks.data();
    v.weights = weights.data();
    v.slots = slots.data();
    v.entry_slot = entry_slot.data();
    v.entry_flag = entry_flag.data();
    v.entry_first = entry_first.data();
    v.offsets = offsets.data();
    v.splat_entry = splat_entry.data();
    v.vertex_owner = vertex_owner.data();
    v.starts = starts.data();
    v.neighbours = neighbours.data();
    v.counters = counters.data();
    v.norm = norm.data();
  }
};

// The key of entry e's vertex, from its point's simplex (written by the embedding step).
template <int D>
DEEPLAB_HOST_DEVICE inline LatticeKeyBits entry_key(const LatticeView& v, int e) {
  const int point = e / (D + 1);
  int rem0[D];
  unpack_key(v.base[point], D, rem0);
  return lattice::simplex_vertex(rem0, v.ranks[point], D, e - point * (D + 1));
}

// Atomics on int slots. The device version (cuda/crf/lattice_atomics.cuh) uses atomicCAS/atomicMin;
// this one runs the steps one after the other on the CPU.
struct SequentialAtomics {
  static int load(const int* p) { return *p; }
  static int compare_swap(int* p, int expected, int desired) {
    const int old = *p;
    if (old == expected) *p = desired;
    return old;
  }
  static void min(int* p, int value) {
    if (value < *p) *p = value;
  }
  static void max(int* p, int value) {
    if (value > *p) *p = value;
  }
};

// ---- build steps (one per kernel, in order) --------------------------------------------------------

// Point i: simplex and weights; raises the worst-coordinate counter.
template <int D, typename Atomics, typename Features>
DEEPLAB_HOST_DEVICE inline void embed_step(const LatticeView& v, const Features& features, int i) {
  float f[D];
  features(i, f);
  const int worst =
      embed_point<D>(f, v.scale, &v.base[i], &v.ranks[i], v.weights + static_cast<std::int64_t>(i) * (D + 1));
  if (worst > Atomics::load(&v.counters[kCounterWorstCoordinate]))
    Atomics::max(&v.counters[kCounterWorstCoordinate], worst);
}

// Entry e: finds its key's slot, claiming an empty one if the key is new. The table has at least
// twice as many slots as entries (crf_plan.h), so the probe always ends.
template <int D, typename Atomics>
DEEPLAB_HOST_DEVICE inline void insert_step(const LatticeView& v, int e) {
  const LatticeKeyBits key = entry_key<D>(v, e);
  for (auto s = static_cast<std::uint32_t>(lattice::slot_of(key, v.slot_shift));; s = (s + 1) & v.slot_mask) {
    int owner = Atomics::load(&v.slots[s]);
    if (owner < 0) {
      owner = Atomics::compare_swap(&v.slots[s], -1, e);
      if (owner < 0) {
        v.entry_slot[e] = static_cast<int>(s);
        return;
      }
    }
    if (entry_key<D>(v, owner) == key) {
      v.entry_slot[e] = static_cast<int>(s);
      return;
    }
  }
}

// Entry e: its slot ends up holding the smallest entry with its key (the vertex's first use).
template <typename Atomics>
DEEPLAB_HOST_DEVICE inline void claim_step(const LatticeView& v, int e) {
  Atomics::min(&v.slots[v.entry_slot[e]], e);
}

DEEPLAB_HOST_DEVICE inline void flag_step(const LatticeView& v, int e) {
  v.entry_flag[e] = v.slots[v.entry_slot[e]] == e ? 1 : 0;
}

// After the exclusive scan of the flags into entry_first: vertex ids of entries and owners, m, and
// the sort's values (entry ids, in entry_slot, which is not needed any more).
DEEPLAB_HOST_DEVICE inline void number_step(const LatticeView& v, int e) {
  const int owner = v.slots[v.entry_slot[e]];
  const int vertex = v.entry_first[owner];
  v.offsets[e] = vertex;
  if (owner == e) v.vertex_owner[vertex] = e;
  if (e == v.entries - 1) v.counters[kCounterVertices] = v.entry_first[e] + v.entry_flag[e];
  v.entry_slot[e] = e;
}

// Position p of the entries sorted by vertex (entry_flag holds the sorted vertex ids): where each
// vertex's list starts.
DEEPLAB_HOST_DEVICE inline void starts_step(const LatticeView& v, int p) {
  const int vertex = v.entry_flag[p];
  if (p == 0 || v.entry_flag[p - 1] != vertex) v.starts[vertex] = p;
  if (p == v.entries - 1) v.starts[v.vertices] = v.entries;
}

// The vertex id of `key`, or m when the lattice has no such vertex.
template <int D>
DEEPLAB_HOST_DEVICE inline int find_vertex(const LatticeView& v, const LatticeKeyBits& key) {
  for (auto s = static_cast<std::uint32_t>(lattice::slot_of(key, v.slot_shift));; s = (s + 1) & v.slot_mask) {
    const int owner = v.slots[s];
    if (owner < 0) return v.vertices;
    if (entry_key<D>(v, owner) == key) return v.offsets[owner];
  }
}

// Task t = vertex * (d+1) + j: the neighbours of the vertex along direction j, the key -/+ the
// direction vector (d on coordinate j, -1 on the others; for j = d all -1, coordinate d implicit).
template <int D>
DEEPLAB_HOST_DEVICE inline void neighbours_step(const LatticeView& v, std::int64_t t) {
  const int vertex = static_cast<int>(t / (D + 1)), j = static_cast<int>(t % (D + 1));
  int key[D];
  unpack_key(entry_key<D>(v, v.vertex_owner[vertex]), D, key);
  int* out = v.neighbours + (static_cast<std::int64_t>(j) * v.vertices + vertex) * 2;
  out[0] = find_vertex<D>(v, neighbour_key(key, D, j, 0));
  out[1] = find_vertex<D>(v, neighbour_key(key, D, j, 1));
}

// ---- filter steps ----------------------------------------------------------------------------------

// Element idx = vertex * stride + k of the splatted rows: the vertex's points in order, each
// weight * point_scale[point] * in[point][k]. `in` null means all ones, `point_scale` null all ones.
template <int D>
DEEPLAB_HOST_DEVICE inline void splat_step(const LatticeView& v, const float* in, int stride, const float* point_scale,
                                           float* out, std::int64_t idx) {
  const int vertex = static_cast<int>(idx / stride), k = static_cast<int>(idx % stride);
  float acc = 0.0f;
  for (int p = v.starts[vertex]; p < v.starts[vertex + 1]; ++p) {
    const int e = v.splat_entry[p];
    const int point = e / (D + 1);
    const float w = point_scale ? mul_rn(v.weights[e], point_scale[point]) : v.weights[e];
    const float x = in ? in[static_cast<std::int64_t>(point) * stride + k] : 1.0f;
    acc = add_rn(acc, mul_rn(w, x));
  }
  out[idx] = acc;
}

// Element idx of the rows blurred along direction j: old + (left + right) / 2 (row m is all zero).
DEEPLAB_HOST_DEVICE inline void blur_step(const LatticeView& v, int j, const float* in, float* out, int stride,
                                          std::int64_t idx) {
  const int vertex = static_cast<int>(idx / stride), k = static_cast<int>(idx % stride);
  const int* nb = v.neighbours + (static_cast<std::int64_t>(j) * v.vertices + vertex) * 2;
  const float a = in[static_cast<std::int64_t>(nb[0]) * stride + k];
  const float b = in[static_cast<std::int64_t>(nb[1]) * stride + k];
  out[idx] = add_rn(in[idx], mul_rn(0.5f, add_rn(a, b)));
}

// Class k of point i sliced from blurred rows: sum_r weight_r * row(vertex_r)[k], r in order.
template <int D>
DEEPLAB_HOST_DEVICE inline float slice_value(const int* offsets, const float* weights, const float* blurred, int stride,
                                             int i, int k) {
  const int* vtx = offsets + static_cast<std::int64_t>(i) * (D + 1);
  const float* w = weights + static_cast<std::int64_t>(i) * (D + 1);
  float out = mul_rn(w[0], blurred[static_cast<std::int64_t>(vtx[0]) * stride + k]);
  for (int r = 1; r <= D; ++r) out = add_rn(out, mul_rn(w[r], blurred[static_cast<std::int64_t>(vtx[r]) * stride + k]));
  return out;
}

// Point i's normalisation, 1 / sqrt(K1_i) or 1 / K1_i, from the blurred splat of ones
// (crf/crf_kernel.cpp).
template <int D>
DEEPLAB_HOST_DEVICE inline void norm_step(const LatticeView& v, const float* blurred_ones, int i) {
  const float k1 = add_rn(slice_value<D>(v.offsets, v.weights, blurred_ones, 1, i, 0), 1e-20f);
  v.norm[i] = div_rn(1.0f, v.symmetric ? sqrt_rn(k1) : k1);
}

}  // namespace deeplab::cuda
