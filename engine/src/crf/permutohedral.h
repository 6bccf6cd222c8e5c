// The permutohedral lattice (Adams, Baek & Davis, "Fast High-Dimensional Filtering Using the
// Permutohedral Lattice", 2010), as Krähenbühl's densecrf v2.2 (the core pydensecrf wraps) uses it
// for the dense CRF's Gaussian kernels: each point's d-dim feature vector is embedded in the
// (d+1)-dim lattice, its value is splatted onto the d+1 vertices of the enclosing simplex with
// barycentric weights, the vertex values are blurred with [1/2 1 1/2] along each of the d+1 lattice
// directions, and the result is sliced back at the points with the same weights. That
// approximates sum_j exp(-|f_i - f_j|^2 / 2) v_j (up to a constant factor) in time linear in the
// number of points; docs/crf.md measures the approximation against the exact sums.
//
// The lattice is built once per feature set (once per frame for the bilateral kernel) and then
// filters any number of value vectors (the CRF's class marginals, every mean-field iteration).
// Every step is written out in docs/crf.md ("The lattice, exactly") for the CUDA port; vertex
// numbering does not affect results (each vertex sums its contributions in point order), so a
// port may number vertices however its hash table likes.
#pragma once

#include <cstdint>
#include <vector>

#include "common/lattice_maths.h"

namespace deeplab::crf {

// Feature dimensions supported (common/lattice_maths.h packs keys and ranks for at most this many).
constexpr int kMaxLatticeDim = lattice::kMaxDim;

// Value rows whose stride is a multiple of kLaneBlock floats are processed in whole blocks of that
// many lanes: fixed-length inner loops that the compiler turns into SIMD with no remainder code.
constexpr int kLaneBlock = 8;

// The first d coordinates of a lattice point (the last one is minus their sum), int16 each.
using LatticeKey = lattice::Key;

// Open addressing with linear probing; keys are stored by vertex id, the table holds ids.
// Capacity is kept between builds, so steady-state builds allocate nothing.
class VertexTable {
 public:
  void reset(std::size_t expected_vertices);
  // The id of `key`, inserting it (with the next id) when absent.
  int find_or_insert(const LatticeKey& key);
  int find(const LatticeKey& key) const { return find_from(key, home(key)); }  // -1 when absent
  // find() in two steps, so that a caller can start several look-ups' memory loads at once: the
  // key's home slot (prefetch it), then the search from there.
  std::size_t home(const LatticeKey& key) const { return slot_of(key); }
  void prefetch(std::size_t slot) const { __builtin_prefetch(slots_.data() + slot); }
  int find_from(const LatticeKey& key, std::size_t slot) const;
  int size() const { return static_cast<int>(keys_.size()); }
  const LatticeKey& key(int id) const { return keys_[id]; }

 private:
  std::size_t slot_of(const LatticeKey& key) const;
  void grow();

  std::vector<LatticeKey> keys_;
  std::vector<std::int32_t> slots_;  // vertex id, or -1
  std::size_t mask_ = 0;
  int shift_ = 64;
};

class PermutohedralLattice {
 public:
  // `features`: count x dim floats, point-major, already divided by the kernel's standard
  // deviations. Throws Error(kInvalidArgument) if the lattice coordinates leave the int16 range
  // (a standard deviation far too small for the image); callers check that with
  // max_lattice_coordinate() first to name the option at fault. `row_length`: the points are an
  // image's pixels in raster order with this many per row (0: no such structure); only speeds up
  // the build (a pixel whose simplex equals the one above reuses its vertices).
  void build(const float* features, int count, int dim, int threads, int row_length = 0);

  int points() const { return n_; }
  int dim() const { return d_; }
  int vertices() const { return m_; }

  // Splat: vertex row v = sum over the points i on v of weight(i, v) * point_scale[i] * in[i]
  // (point_scale may be null = 1). `in` has `stride` floats per point; the blur buffers are sized
  // for `stride` floats per vertex. Then blur along the d+1 directions in order 0..d.
  // Returns the blurred vertex rows ((vertices() + 1) x stride; row vertices() is all zero).
  const float* splat_blur(const float* in, int stride, const float* point_scale);

  // The first d coordinates of vertex v (the last is minus their sum).
  void vertex_coordinates(int v, int* coords) const;
  // The blur's neighbour of vertex v along direction j (0..d): side 0 = v + u_j, side 1 = v - u_j,
  // u_j = d on coordinate j and -1 on the others (all -1 for j = d); vertices() when absent.
  int neighbour(int j, int v, int side) const {
    return neighbours_[(static_cast<std::size_t>(j) * m_ + v) * 2 + side];
  }

  // The d+1 (vertex, barycentric weight) pairs of point i.
  const std::int32_t* point_vertices(int i) const { return offsets_.data() + static_cast<std::size_t>(i) * (d_ + 1); }
  const float* point_weights(int i) const { return barycentric_.data() + static_cast<std::size_t>(i) * (d_ + 1); }

  // out[0..stride) = sum_r weight(i, r) * blurred[vertex(i, r)].
  void slice_point(const float* blurred, int stride, int i, float* out) const {
    const std::int32_t* v = point_vertices(i);
    const float* w = point_weights(i);
    if (stride % kLaneBlock) {
      for (int k = 0; k < stride; ++k) out[k] = 0.0f;
      for (int r = 0; r <= d_; ++r)
        for (int k = 0; k < stride; ++k) out[k] += w[r] * blurred[static_cast<std::int64_t>(v[r]) * stride + k];
      return;
    }
    for (int k0 = 0; k0 < stride; k0 += kLaneBlock) {
      float acc[kLaneBlock] = {};
      for (int r = 0; r <= d_; ++r) {
        const float* row = blurred + static_cast<std::int64_t>(v[r]) * stride + k0;
        const float wr = w[r];
        for (int l = 0; l < kLaneBlock; ++l) acc[l] += wr * row[l];
      }
      for (int l = 0; l < kLaneBlock; ++l) out[k0 + l] = acc[l];
    }
  }

  // The largest |lattice coordinate| the features of `dim` dims within [0, max_feature[i]] can
  // produce, plus the blur's reach; build() needs it below 32768.
  static double max_lattice_coordinate(const float* max_feature, int dim);

 private:
  void embed(const float* features, int threads);
  void insert_vertices(int row_length);
  bool same_simplex(int a, int b) const;
  void split_points(int t, int count, int row_length);
  void insert_range(VertexTable& table, int begin, int end, int row_length, bool count_rows);
  void merge_tables(int t);
  void mark_known_keys(int t);
  void append_fresh_keys();
  void find_neighbours(int threads);
  void blur_direction(int j, const float* in, int stride, int begin, int end, float* out) const;

  int n_ = 0, d_ = 0, m_ = 0, threads_ = 1;
  // Vertex insertion in parallel: one table per range of points (local ids), merged into keys_.
  std::vector<VertexTable> tables_;
  int ranges_ = 0;                         // ranges (tables) of the last build
  std::vector<std::int32_t> range_start_;  // ranges_ + 1: the points of range t
  std::vector<std::int32_t> row_hashed_;   // per row: points the last build hashed there (split_points)
  std::vector<std::int32_t> row_work_;     // rows + 1: points to hash in the rows above (prefix)
  std::vector<std::int32_t> local_start_;  // ranges_ + 1: range t's local ids in to_global_
  std::vector<std::int32_t> to_global_;    // per range, per local id: the global vertex id
  std::vector<int> fresh_;                 // per range: keys new there, then their first id
  std::vector<std::int32_t> first_vertex_;  // ranges_ + 1: range t's new vertices are [t], [t + 1])
  std::vector<LatticeKey> keys_;           // per vertex: its key
  std::vector<LatticeKey> simplex_base_;     // per point: the remainder-0 vertex (rem0)
  std::vector<std::uint32_t> simplex_rank_;  // per point: ranks of its d+1 coordinates, 4 bits each
  std::vector<std::int32_t> offsets_;        // n x (d+1): vertex of point i for remainder r
  std::vector<float> barycentric_;           // n x (d+1)
  std::vector<std::int32_t> neighbours_;  // (d+1) x m x 2: the two neighbours along direction j, m = none
  std::vector<float> values_, scratch_;   // vertex rows, ping-pong for the blur
};

}  // namespace deeplab::crf
