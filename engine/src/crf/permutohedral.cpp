#include "crf/permutohedral.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "crf/simd_clones.h"
#include "deeplab/error.h"

namespace deeplab::crf {

namespace {

using lattice::embedding_scale;
using lattice::pack_key;
using lattice::unpack_key;

}  // namespace

// ---------------------------------------------------------------------------------------------

void VertexTable::reset(std::size_t expected_vertices) {
  keys_.clear();
  std::size_t capacity = 64;
  while (capacity < 2 * expected_vertices) capacity *= 2;
  if (slots_.size() < capacity)
    slots_.assign(capacity, -1);
  else
    std::fill(slots_.begin(), slots_.end(), -1);
  mask_ = slots_.size() - 1;
  shift_ = 64;
  for (std::size_t s = slots_.size(); s > 1; s >>= 1) --shift_;
}

std::size_t VertexTable::slot_of(const LatticeKey& key) const {
  return static_cast<std::size_t>(lattice::slot_of(key, shift_));
}

void VertexTable::grow() {
  slots_.assign(slots_.size() * 2, -1);
  mask_ = slots_.size() - 1;
  --shift_;
  for (int id = 0; id < size(); ++id) {
    std::size_t s = slot_of(keys_[id]);
    while (slots_[s] >= 0) s = (s + 1) & mask_;
    slots_[s] = id;
  }
}

int VertexTable::find_or_insert(const LatticeKey& key) {
  if (2 * (keys_.size() + 1) > slots_.size()) grow();
  for (std::size_t s = slot_of(key);; s = (s + 1) & mask_) {
    const int id = slots_[s];
    if (id < 0) {
      slots_[s] = size();
      keys_.push_back(key);
      return slots_[s];
    }
    if (keys_[id] == key) return id;
  }
}

int VertexTable::find_from(const LatticeKey& key, std::size_t s) const {
  for (;; s = (s + 1) & mask_) {
    const int id = slots_[s];
    if (id < 0 || keys_[id] == key) return id;
  }
}

// ---------------------------------------------------------------------------------------------

double PermutohedralLattice::max_lattice_coordinate(const float* max_feature, int dim) {
  float scale[kMaxLatticeDim];
  embedding_scale(dim, scale);
  // elevated[0] is the sum of the scaled features; elevated[j] >= -j * scaled feature j-1.
  double sum = 0, largest = 0;
  for (int i = 0; i < dim; ++i) {
    const double cf = std::fabs(static_cast<double>(max_feature[i])) * scale[i];
    sum += cf;
    largest = std::max(largest, dim * cf);
  }
  // Rounding to a multiple of d+1, the rank wrap-around, the simplex's vertices and the blur's
  // neighbours each move a coordinate by at most d+1.
  return std::max(sum, largest) + 4.0 * (dim + 1);
}

void PermutohedralLattice::vertex_coordinates(int v, int* coords) const { unpack_key(keys_[v], d_, coords); }

void PermutohedralLattice::build(const float* features, int count, int dim, int threads, int row_length) {
  if (dim < 1 || dim > kMaxLatticeDim)
    throw Error(ErrorCode::kInvalidArgument, "permutohedral lattice: " + std::to_string(dim) +
                                                 " feature dimensions (1.." + std::to_string(kMaxLatticeDim) +
                                                 " supported)");
  if (count < 1) throw Error(ErrorCode::kInvalidArgument, "permutohedral lattice: no points");
  n_ = count;
  d_ = dim;
  threads_ = threads > 0 ? threads : omp_get_num_procs();
  embed(features, threads_);
  insert_vertices(row_length);
  find_neighbours(threads_);
}

// For each point: elevate its features onto the hyperplane sum = 0 of Z^(d+1) scaled by d+1, find
// the enclosing simplex and the barycentric weights (lattice::embed_point, one point at a time;
// embed_block below, 8 at a time).
typedef std::int32_t IntLanes __attribute__((vector_size(32)));

// lattice::embed_point for the 8 points at `f` (d features each), in vector code across the points: the
// same float operations in the same order, so the same results bit for bit (the scatter into the
// barycentric weights, whose index depends on the point, stays per point). Returns max |rem0|.
DEEPLAB_SIMD_CLONES
int embed_block(const float* f, int d, const float* scale, LatticeKey* base, std::uint32_t* ranks, float* weights) {
  const float down = 1.0f / static_cast<float>(d + 1);
  Lanes elevated[kMaxLatticeDim + 1], sm = {};
  for (int j = d; j > 0; --j) {
    Lanes feature;
    for (int p = 0; p < kLaneBlock; ++p) feature[p] = f[p * d + j - 1];
    const Lanes cf = feature * scale[j - 1];
    elevated[j] = sm - static_cast<float>(j) * cf;
    sm += cf;
  }
  elevated[0] = sm;
  IntLanes rem0[kMaxLatticeDim + 1], rank[kMaxLatticeDim + 1], sum = {};
  Lanes rest[kMaxLatticeDim + 1];
  for (int k = 0; k <= d; ++k) {
    const Lanes rounded = (elevated[k] * down + 12582912.0f) - 12582912.0f;
    const IntLanes v = __builtin_convertvector(rounded, IntLanes);
    rem0[k] = v * (d + 1);
    sum += v;
    rank[k] = IntLanes{};
  }
  for (int k = 0; k <= d; ++k) rest[k] = elevated[k] - __builtin_convertvector(rem0[k], Lanes);
  for (int a = 0; a < d; ++a)
    for (int b = a + 1; b <= d; ++b) {
      const IntLanes less = rest[a] < rest[b];  // -1 where true
      rank[a] -= less;
      rank[b] += 1 + less;
    }
  for (int k = 0; k <= d; ++k) {
    rank[k] += sum;
    const IntLanes wrap = (rank[k] > d) - (rank[k] < 0);  // masks are -1: +1 below 0, -1 above d
    rank[k] += wrap * (d + 1);
    rem0[k] += wrap * (d + 1);
  }
  Lanes contribution[kMaxLatticeDim + 1];
  for (int k = 0; k <= d; ++k) contribution[k] = (elevated[k] - __builtin_convertvector(rem0[k], Lanes)) * down;
  int worst = 0;
  for (int p = 0; p < kLaneBlock; ++p) {
    float bary[kMaxLatticeDim + 2] = {};
    int coords[kMaxLatticeDim];
    std::uint32_t packed = 0;
    for (int k = 0; k <= d; ++k) {
      const int r = rank[k][p];
      bary[d - r] += contribution[k][p];
      bary[d - r + 1] -= contribution[k][p];
      packed |= static_cast<std::uint32_t>(r) << (4 * k);
    }
    bary[0] += 1.0f + bary[d + 1];
    for (int k = 0; k < d; ++k) {
      coords[k] = rem0[k][p];
      worst = std::max(worst, std::abs(coords[k]));
    }
    base[p] = pack_key(coords, d);
    ranks[p] = packed;
    for (int r = 0; r <= d; ++r) weights[p * (d + 1) + r] = bary[r];
  }
  return worst;
}

// Blocks of 8 points in vector code, the rest one by one.
template <int D>
int embed_all(const float* features, int n, int threads, LatticeKey* base, std::uint32_t* ranks, float* weights) {
  float scale[D];
  embedding_scale(D, scale);
  const int blocks = n / kLaneBlock;
  int worst = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(max : worst)
  for (int b = 0; b < blocks; ++b) {
    const std::size_t i = static_cast<std::size_t>(b) * kLaneBlock;
    worst = std::max(worst, embed_block(features + i * D, D, scale, base + i, ranks + i, weights + i * (D + 1)));
  }
  for (int i = blocks * kLaneBlock; i < n; ++i)
    worst = std::max(worst, lattice::embed_point<D>(features + static_cast<std::size_t>(i) * D, scale, base + i,
                                                    ranks + i, weights + static_cast<std::size_t>(i) * (D + 1)));
  return worst;
}

void PermutohedralLattice::embed(const float* features, int threads) {
  const int d = d_;
  simplex_base_.resize(n_);
  simplex_rank_.resize(n_);
  barycentric_.resize(static_cast<std::size_t>(n_) * (d + 1));
  LatticeKey* base = simplex_base_.data();
  std::uint32_t* ranks = simplex_rank_.data();
  float* weights = barycentric_.data();
  int worst = 0;
  switch (d) {
    case 1: worst = embed_all<1>(features, n_, threads, base, ranks, weights); break;
    case 2: worst = embed_all<2>(features, n_, threads, base, ranks, weights); break;
    case 3: worst = embed_all<3>(features, n_, threads, base, ranks, weights); break;
    case 4: worst = embed_all<4>(features, n_, threads, base, ranks, weights); break;
    case 5: worst = embed_all<5>(features, n_, threads, base, ranks, weights); break;
    case 6: worst = embed_all<6>(features, n_, threads, base, ranks, weights); break;
    case 7: worst = embed_all<7>(features, n_, threads, base, ranks, weights); break;
  }
  if (worst + 2 * (d + 1) > 32767)
    throw Error(ErrorCode::kInvalidArgument,
                "permutohedral lattice: lattice coordinates reach " + std::to_string(worst) +
                    ", beyond the 16-bit keys (a kernel standard deviation is too small for the image)");
}

// Vertex ids are assigned in order of first use in point order (vertices of neighbouring pixels get
// nearby ids: locality for the blur; the CUDA lattice numbers the same way). In parallel: each
// thread hashes a contiguous range of points into its own table (local first-use ids), then the
// tables are merged into global ids (merge_tables). A key's first use overall is its first use in
// the earliest range holding it, so numbering the keys new to each range in range order, each
// range's in its local order, is exactly the serial first-use numbering: the lattice is the same
// for any thread count, bit for bit.
void PermutohedralLattice::insert_vertices(int row_length) {
  const int threads = std::min(threads_, std::max(1, n_ / 4096));  // tiny images: one range
  if (static_cast<int>(tables_.size()) < threads) tables_.resize(threads);
  range_start_.assign(threads + 1, 0);
  const int rows = row_length > 0 ? n_ / row_length : 0;
  const bool whole_rows = rows >= threads && static_cast<long long>(rows) * row_length == n_;
  if (!whole_rows)
    row_hashed_.clear();
  else if (static_cast<int>(row_hashed_.size()) != rows)
    row_hashed_.assign(rows, row_length);  // no earlier build of this shape: split by points
  row_work_.resize(static_cast<std::size_t>(rows) + 1);
  local_start_.assign(threads + 1, 0);
  fresh_.assign(threads, 0);
  offsets_.resize(static_cast<std::size_t>(n_) * (d_ + 1));
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), count = omp_get_num_threads();
    split_points(t, count, whole_rows ? row_length : 0);
    insert_range(tables_[t], range_start_[t], range_start_[t + 1], row_length, whole_rows);
    local_start_[t + 1] = tables_[t].size();
#pragma omp barrier
#pragma omp single
    {
      ranges_ = count;
      for (int k = 0; k < count; ++k) local_start_[k + 1] += local_start_[k];
      to_global_.resize(local_start_[count]);
    }
    merge_tables(t);
  }
  m_ = static_cast<int>(keys_.size());
  first_vertex_.assign(fresh_.begin(), fresh_.begin() + ranges_);
  first_vertex_.push_back(m_);
}

// A point whose simplex equals the one of the point before it or of the point a row above (same
// base vertex, same ranks): insert_range copies its vertices instead of hashing them.
bool PermutohedralLattice::same_simplex(int a, int b) const {
  return simplex_base_[a] == simplex_base_[b] && simplex_rank_[a] == simplex_rank_[b];
}

// The threads' ranges of points (range_start_; called by every thread of insert_vertices' region):
// for an image (`row_length` > 0, whole rows for every thread), whole rows with equal numbers of
// points to hash (the others copy their vertices), as counted by the last build of the same shape
// (row_hashed_): consecutive video frames hash much the same rows, and counting this frame's would
// be a pass of its own over every point (1 ms of a 480x360 frame's 2-thread build, measured). The
// top of a street scene (sky, facades) and its bottom hash different amounts: with equal point
// counts one of two threads spent 25-30 % more time hashing than the other on CamVid frames, and
// the build waited for it. Any split gives the same lattice (insert_vertices).
void PermutohedralLattice::split_points(int t, int count, int row_length) {
  if (count == 1 || row_length == 0) {
    int begin, end;
    thread_range(n_, t, count, begin, end);
    range_start_[t + 1] = end;
#pragma omp barrier
    return;
  }
#pragma omp single
  {
    const int rows = n_ / row_length;
    row_work_[0] = 0;
    for (int y = 0; y < rows; ++y) row_work_[y + 1] = row_work_[y] + row_hashed_[y] + 1;  // + 1: never all 0
    for (int k = 1; k < count; ++k) {
      const int target = static_cast<int>(static_cast<long long>(row_work_[rows]) * k / count);
      const auto row = std::lower_bound(row_work_.begin(), row_work_.begin() + rows, target) - row_work_.begin();
      range_start_[k] = static_cast<int>(row) * row_length;
    }
    range_start_[count] = n_;
  }
}

// Points [begin, end) into `table`, offsets_ as the table's ids. A point whose simplex equals the
// previous point's or the one a row above (common in smooth regions) reuses its vertices without
// hashing (when that point is in the same range: its ids are in the same table).
// With `count_rows` (the range is whole rows) the points hashed per row go to row_hashed_ for the
// next build's split_points.
void PermutohedralLattice::insert_range(VertexTable& table, int begin, int end, int row_length, bool count_rows) {
  const int d = d_;
  table.reset(std::max(static_cast<std::size_t>(table.size()), static_cast<std::size_t>(end - begin) / 2));
  int hashed = 0;
  for (int i = begin; i < end; ++i) {
    if (count_rows && i > begin && i % row_length == 0) {
      row_hashed_[i / row_length - 1] = hashed;
      hashed = 0;
    }
    std::int32_t* off = offsets_.data() + static_cast<std::size_t>(i) * (d + 1);
    const int earlier = i > begin && same_simplex(i, i - 1) ? i - 1
                        : row_length > 0 && i - row_length >= begin && same_simplex(i, i - row_length)
                            ? i - row_length
                            : -1;
    if (earlier >= 0) {
      const std::int32_t* from = offsets_.data() + static_cast<std::size_t>(earlier) * (d + 1);
      for (int r = 0; r <= d; ++r) off[r] = from[r];
      continue;
    }
    ++hashed;
    int rem0[kMaxLatticeDim];
    unpack_key(simplex_base_[i], d, rem0);
    for (int r = 0; r <= d; ++r) off[r] = table.find_or_insert(lattice::simplex_vertex(rem0, simplex_rank_[i], d, r));
  }
  if (count_rows && end > begin) row_hashed_[(end - 1) / row_length] = hashed;
}

// Thread t's part of the merge (inside insert_vertices' parallel region, all threads present):
// which keys an earlier range already holds (mark_known_keys), global ids for the others in local
// order after all earlier ranges' new keys, the rest taken from the earliest range holding them,
// then its points' offsets rewritten to global ids (range 0's are global ids already).
void PermutohedralLattice::merge_tables(int t) {
  mark_known_keys(t);
#pragma omp barrier
  const VertexTable& table = tables_[t];
  std::int32_t* global = to_global_.data() + local_start_[t];
  fresh_[t] = static_cast<int>(std::count(global, global + table.size(), -1));
#pragma omp barrier
#pragma omp single
  {
    int total = 0;
    for (int s = 0; s < ranges_; ++s) std::swap(total, fresh_[s] += total);  // exclusive prefix
    keys_.resize(total);
  }
  for (int l = 0, id = fresh_[t]; l < table.size(); ++l)
    if (global[l] == -1) {
      keys_[id] = table.key(l);
      global[l] = id++;
    }
#pragma omp barrier
  if (t == 0) {  // range 0's local ids are the global ones: its points keep theirs
    if (ranges_ > 1) append_fresh_keys();  // no other thread reads table 0 any more
    return;
  }
  for (int l = 0; l < table.size(); ++l)
    if (global[l] < -1) global[l] = to_global_[-2 - global[l]];
  const std::size_t d1 = static_cast<std::size_t>(d_) + 1;
  for (std::size_t e = range_start_[t] * d1; e < range_start_[t + 1] * d1; ++e) offsets_[e] = global[offsets_[e]];
}

// to_global_ per key of every range: -1 where no earlier range holds it (range 0's keys all), else
// -2 - (the to_global_ index of its entry in the earliest range holding it). The look-ups are
// shared evenly among the threads: done by each range's own thread, the last range's thread
// searched all the earlier tables while the first one waited (2-3 ms of a 480x360 frame's build
// on one thread of two).
void PermutohedralLattice::mark_known_keys(int t) {
  const int first = local_start_[1];
  int begin, end;
  thread_range(local_start_[ranges_] - first, t, ranges_, begin, end);
  if (t == 0) std::fill_n(to_global_.data(), first, -1);
  for (int e = first + begin, range = 1; e < first + end; ++e) {
    while (e >= local_start_[range + 1]) ++range;
    const LatticeKey& key = tables_[range].key(e - local_start_[range]);
    int owner = -1;
    for (int s = 0; s < range && owner < 0; ++s) {
      const int found = tables_[s].find(key);
      if (found >= 0) owner = local_start_[s] + found;
    }
    to_global_[e] = owner >= 0 ? -2 - owner : -1;
  }
}

// Range 0's table becomes the whole lattice's: its keys have their global ids already (they come
// first, in its order), and the later ranges' new keys are appended in global id order, so each gets
// its global id. find_neighbours then searches one table: it looked each key up in every range's
// table until found, and an absent neighbour in all of them.
void PermutohedralLattice::append_fresh_keys() {
  VertexTable& table = tables_[0];
  for (int id = table.size(); id < static_cast<int>(keys_.size()); ++id) table.find_or_insert(keys_[id]);
}

// Neighbours along lattice direction j: the key +- the direction vector u_j (d on coordinate j,
// -1 on the others; for j = d all coordinates -1, coordinate d being implicit). Absent -> m.
// Only the + side is looked up: if w = v + u_j exists, v is w's - neighbour, so each pair is
// found once, from its lower end (half the hash lookups; the lookups are most of the build).
// Entry (j, w, 1) is written only by v = w - u_j, so threads never write the same entry.
void PermutohedralLattice::find_neighbours(int threads) {
  const int d = d_, m = m_;
  neighbours_.resize(static_cast<std::size_t>(d + 1) * m * 2);
#pragma omp parallel num_threads(threads)
  {
#pragma omp for schedule(static)
    for (std::size_t k = 0; k < neighbours_.size(); ++k) neighbours_[k] = m;
    const VertexTable& table = tables_[0];  // all the vertices, by global id (append_fresh_keys)
#pragma omp for schedule(static)
    for (int v = 0; v < m; ++v) {
      int key[kMaxLatticeDim];
      unpack_key(keys_[v], d, key);
      LatticeKey next[kMaxLatticeDim + 1];
      std::size_t home[kMaxLatticeDim + 1];
      for (int j = 0; j <= d; ++j) {  // the d+1 look-ups' first loads all in flight at once
        next[j] = lattice::neighbour_key(key, d, j, 0);
        home[j] = table.home(next[j]);
        table.prefetch(home[j]);
      }
      for (int j = 0; j <= d; ++j) {
        const int w = table.find_from(next[j], home[j]);
        if (w < 0) continue;
        std::int32_t* direction = neighbours_.data() + static_cast<std::size_t>(j) * m * 2;
        direction[2 * static_cast<std::size_t>(v)] = w;
        direction[2 * static_cast<std::size_t>(w) + 1] = v;
      }
    }
  }
}

namespace {

// The splat of the vertices [first, last) (a range's fresh vertices: merge_tables numbered them
// first used in that range of points, so no earlier point touches them), scattered from the points
// `begin` (the range's first) to the end: row v = sum over its points p, in point order, of
// weight * point_scale[p] * in[p]. A vertex's first point stores its row (0 + w x, the same floats as
// summing from 0), the later ones add: ids are given in first-use order, so the next untouched
// vertex of the range is always `fresh`. The same sums in the same order as a gather over each
// vertex's list of points (the CUDA filter's), but each point's row of `in` is read once, in order,
// instead of once per vertex from all over the image, and no lists are built.
template <bool kBlocks>
DEEPLAB_SIMD_CLONES void splat_scatter(const std::int32_t* offsets, const float* weights, int d, const float* in,
                                       int stride, const float* point_scale, int begin, int end, int first, int last,
                                       float* values) {
  int fresh = first;
  for (int p = begin; p < end; ++p) {
    const std::int32_t* v = offsets + static_cast<std::size_t>(p) * (d + 1);
    const float* w = weights + static_cast<std::size_t>(p) * (d + 1);
    const float* x = in + static_cast<std::int64_t>(p) * stride;
    for (int r = 0; r <= d; ++r) {
      if (v[r] < first || v[r] >= last) continue;
      const float wr = point_scale ? w[r] * point_scale[p] : w[r];
      float* row = values + static_cast<std::int64_t>(v[r]) * stride;
      const bool new_row = v[r] == fresh;
      fresh += new_row;
      if constexpr (kBlocks) {
        for (int k = 0; k < stride; k += kLaneBlock)
          store_lanes(row + k, (new_row ? Lanes{} : load_lanes(row + k)) + wr * load_lanes(x + k));
      } else {
        for (int k = 0; k < stride; ++k) row[k] = (new_row ? 0.0f : row[k]) + wr * x[k];
      }
    }
  }
}

// One blur direction over vertices [begin, end): out = self + (left + right) / 2.
DEEPLAB_SIMD_CLONES
void blur_rows(const float* in, const std::int32_t* neighbours, int stride, int begin, int end, float* out) {
  for (int v = begin; v < end; ++v) {
    const float* self = in + static_cast<std::int64_t>(v) * stride;
    const float* a = in + static_cast<std::int64_t>(neighbours[2 * v]) * stride;
    const float* b = in + static_cast<std::int64_t>(neighbours[2 * v + 1]) * stride;
    float* o = out + static_cast<std::int64_t>(v) * stride;
    int k = 0;
    for (; k + kLaneBlock <= stride; k += kLaneBlock)
      store_lanes(o + k, load_lanes(self + k) + 0.5f * (load_lanes(a + k) + load_lanes(b + k)));
    for (; k < stride; ++k) o[k] = self[k] + 0.5f * (a[k] + b[k]);
  }
}

}  // namespace

const float* PermutohedralLattice::splat_blur(const float* in, int stride, const float* point_scale) {
  // Grown only: a resize up after a smaller lattice (or a narrower stride) would zero the new part.
  const std::size_t rows = static_cast<std::size_t>(m_) + 1;
  if (values_.size() < rows * stride) values_.resize(rows * stride);
  if (scratch_.size() < rows * stride) scratch_.resize(rows * stride);
  std::fill_n(values_.data() + static_cast<std::size_t>(m_) * stride, stride, 0.0f);
  std::fill_n(scratch_.data() + static_cast<std::size_t>(m_) * stride, stride, 0.0f);
  float* const buffers[2] = {values_.data(), scratch_.data()};  // blur direction j reads [j % 2]
  // One parallel region for the splat and the d+1 blur directions: each region's start wakes the
  // other threads, which costs more here than a barrier.
#pragma omp parallel num_threads(threads_)
  {
    // One thread per range of the build: it owns the vertices first used there.
#pragma omp for schedule(static, 1)
    for (int t = 0; t < ranges_; ++t) {
      const auto scatter = stride % kLaneBlock == 0 ? splat_scatter<true> : splat_scatter<false>;
      scatter(offsets_.data(), barycentric_.data(), d_, in, stride, point_scale, range_start_[t], n_,
              first_vertex_[t], first_vertex_[t + 1], buffers[0]);
    }
    int begin, end;
    thread_range(m_, omp_get_thread_num(), omp_get_num_threads(), begin, end);
    for (int j = 0; j <= d_; ++j) {
      if (j > 0) {
#pragma omp barrier
      }
      blur_direction(j, buffers[j % 2], stride, begin, end, buffers[1 - j % 2]);
    }
  }
  if ((d_ + 1) % 2 == 1) values_.swap(scratch_);  // the last direction wrote scratch_
  return values_.data();
}

// Direction j of the blur for vertices [begin, end): new = old + (left + right) / 2 (densecrf's
// [1/2 1 1/2], which leaves the overall scale to the normalisation).
void PermutohedralLattice::blur_direction(int j, const float* in, int stride, int begin, int end, float* out) const {
  blur_rows(in, neighbours_.data() + static_cast<std::size_t>(j) * m_ * 2, stride, begin, end, out);
}

}  // namespace deeplab::crf
