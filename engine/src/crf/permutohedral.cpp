#include "crf/permutohedral.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "deeplab/error.h"

namespace deeplab::crf {

namespace {

// Keys pack d int16 coordinates, 16 bits each: coordinates 0..3 in lo, 4..7 in hi.
inline void unpack_key(const LatticeKey& key, int d, int* coords) {
  for (int k = 0; k < d; ++k) {
    const std::uint64_t word = k < 4 ? key.lo : key.hi;
    coords[k] = static_cast<std::int16_t>(static_cast<std::uint16_t>(word >> (16 * (k & 3))));
  }
}

inline LatticeKey pack_key(const int* coords, int d) {
  LatticeKey key;
  for (int k = 0; k < d; ++k) {
    const std::uint64_t bits = static_cast<std::uint16_t>(static_cast<std::int16_t>(coords[k]));
    (k < 4 ? key.lo : key.hi) |= bits << (16 * (k & 3));
  }
  return key;
}

// Diagonal of the embedding E (Adams et al. 2010, p. 5) times the inverse of the filter's
// expected standard deviation sqrt(2/3) (d+1) (p. 6): densecrf's scale_factor, computed in double
// and rounded to float as densecrf does.
void embedding_scale(int d, float* scale) {
  const double inv_std_dev = std::sqrt(2.0 / 3.0) * (d + 1);
  for (int i = 0; i < d; ++i) scale[i] = static_cast<float>(inv_std_dev / std::sqrt(static_cast<double>((i + 1) * (i + 2))));
}

// Vertex `r` of the simplex whose remainder-0 vertex is `base` (rem0) with coordinate ranks
// `ranks`: the canonical simplex's vertex r, shifted. Coordinate k moves by r, or by r - (d+1)
// once its rank passes d - r.
inline LatticeKey simplex_vertex(const int* rem0, std::uint32_t ranks, int d, int r) {
  int coords[kMaxLatticeDim];
  for (int k = 0; k < d; ++k) {
    const int rank = static_cast<int>((ranks >> (4 * k)) & 15u);
    coords[k] = rem0[k] + (rank <= d - r ? r : r - (d + 1));
  }
  return pack_key(coords, d);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

void VertexTable::reset(std::size_t expected_vertices) {
  keys_.clear();
  std::size_t capacity = 64;
  while (capacity < 2 * expected_vertices) capacity *= 2;
  if (slots_.size() < capacity) slots_.assign(capacity, -1);
  else std::fill(slots_.begin(), slots_.end(), -1);
  mask_ = slots_.size() - 1;
  shift_ = 64;
  for (std::size_t s = slots_.size(); s > 1; s >>= 1) --shift_;
}

std::size_t VertexTable::slot_of(const LatticeKey& key) const {
  // Multiply-xorshift mixing; the top bits index the table (Fibonacci hashing).
  std::uint64_t h = key.lo * 0x9E3779B97F4A7C15ull + (key.hi ^ (key.hi >> 29)) * 0xBF58476D1CE4E5B9ull;
  h ^= h >> 31;
  h *= 0x94D049BB133111EBull;
  return static_cast<std::size_t>(h >> shift_);
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

int VertexTable::find(const LatticeKey& key) const {
  for (std::size_t s = slot_of(key);; s = (s + 1) & mask_) {
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

void PermutohedralLattice::vertex_coordinates(int v, int* coords) const { unpack_key(table_.key(v), d_, coords); }

void PermutohedralLattice::build(const float* features, int count, int dim, int threads) {
  if (dim < 1 || dim > kMaxLatticeDim)
    throw Error(ErrorCode::kInvalidArgument, "permutohedral lattice: " + std::to_string(dim) + " feature dimensions (1.." +
                                                 std::to_string(kMaxLatticeDim) + " supported)");
  if (count < 1) throw Error(ErrorCode::kInvalidArgument, "permutohedral lattice: no points");
  n_ = count;
  d_ = dim;
  threads_ = threads > 0 ? threads : omp_get_num_procs();
  embed(features, threads_);
  insert_vertices();
  build_splat_lists();
  find_neighbours(threads_);
}

// For each point: elevate its features onto the hyperplane sum = 0 of Z^(d+1) scaled by d+1,
// find the enclosing simplex (the nearest remainder-0 point and the ranks of the differences) and
// the barycentric weights of the d+1 vertices (Adams et al. 2010, pp. 5-10; densecrf's init()).
void PermutohedralLattice::embed(const float* features, int threads) {
  const int d = d_;
  float scale[kMaxLatticeDim];
  embedding_scale(d, scale);
  const float down = 1.0f / static_cast<float>(d + 1);
  simplex_base_.resize(n_);
  simplex_rank_.resize(n_);
  barycentric_.resize(static_cast<std::size_t>(n_) * (d + 1));
  int worst = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(max : worst)
  for (int i = 0; i < n_; ++i) {
    const float* f = features + static_cast<std::size_t>(i) * d;
    float elevated[kMaxLatticeDim + 1];
    float sm = 0;
    for (int j = d; j > 0; --j) {
      const float cf = f[j - 1] * scale[j - 1];
      elevated[j] = sm - static_cast<float>(j) * cf;
      sm += cf;
    }
    elevated[0] = sm;
    // Nearest remainder-0 point: each coordinate rounded to a multiple of d+1 (ties to even).
    int rem0[kMaxLatticeDim + 1], rank[kMaxLatticeDim + 1];
    int sum = 0;
    for (int k = 0; k <= d; ++k) {
      const int v = static_cast<int>(std::nearbyint(elevated[k] * down));
      rem0[k] = v * (d + 1);
      sum += v;
      rank[k] = 0;
    }
    // Rank of each coordinate's remainder (0 = largest), then back onto the hyperplane.
    for (int a = 0; a < d; ++a) {
      const float da = elevated[a] - static_cast<float>(rem0[a]);
      for (int b = a + 1; b <= d; ++b) {
        if (da < elevated[b] - static_cast<float>(rem0[b])) ++rank[a];
        else ++rank[b];
      }
    }
    for (int k = 0; k <= d; ++k) {
      rank[k] += sum;
      if (rank[k] < 0) {
        rank[k] += d + 1;
        rem0[k] += d + 1;
      } else if (rank[k] > d) {
        rank[k] -= d + 1;
        rem0[k] -= d + 1;
      }
    }
    float bary[kMaxLatticeDim + 2] = {};
    for (int k = 0; k <= d; ++k) {
      const float v = (elevated[k] - static_cast<float>(rem0[k])) * down;
      bary[d - rank[k]] += v;
      bary[d - rank[k] + 1] -= v;
    }
    bary[0] += 1.0f + bary[d + 1];
    std::uint32_t packed = 0;
    for (int k = 0; k <= d; ++k) packed |= static_cast<std::uint32_t>(rank[k]) << (4 * k);
    for (int k = 0; k < d; ++k) worst = std::max(worst, std::abs(rem0[k]));
    simplex_base_[i] = pack_key(rem0, d);
    simplex_rank_[i] = packed;
    float* w = barycentric_.data() + static_cast<std::size_t>(i) * (d + 1);
    for (int r = 0; r <= d; ++r) w[r] = bary[r];
  }
  if (worst + 2 * (d + 1) > 32767)
    throw Error(ErrorCode::kInvalidArgument,
                "permutohedral lattice: lattice coordinates reach " + std::to_string(worst) +
                    ", beyond the 16-bit keys (a kernel standard deviation is too small for the image)");
}

// Serial: the hash table assigns vertex ids in order of first use, so vertices of neighbouring
// pixels get nearby ids (locality for the blur). A point whose simplex equals the previous
// point's (common in smooth regions) reuses its vertices without hashing.
void PermutohedralLattice::insert_vertices() {
  const int d = d_;
  table_.reset(std::max<std::size_t>(static_cast<std::size_t>(m_), static_cast<std::size_t>(n_) / 2));
  offsets_.resize(static_cast<std::size_t>(n_) * (d + 1));
  for (int i = 0; i < n_; ++i) {
    std::int32_t* off = offsets_.data() + static_cast<std::size_t>(i) * (d + 1);
    if (i > 0 && simplex_base_[i] == simplex_base_[i - 1] && simplex_rank_[i] == simplex_rank_[i - 1]) {
      for (int r = 0; r <= d; ++r) off[r] = off[r - (d + 1)];
      continue;
    }
    int rem0[kMaxLatticeDim];
    unpack_key(simplex_base_[i], d, rem0);
    for (int r = 0; r <= d; ++r) off[r] = table_.find_or_insert(simplex_vertex(rem0, simplex_rank_[i], d, r));
  }
  m_ = table_.size();
}

// The points on each vertex, in point order (a counting sort of offsets_): the splat then runs in
// parallel over vertices, each summing its own contributions in a fixed order (deterministic
// for any thread count, no atomics).
void PermutohedralLattice::build_splat_lists() {
  const std::size_t entries = static_cast<std::size_t>(n_) * (d_ + 1);
  splat_start_.assign(static_cast<std::size_t>(m_) + 1, 0);
  for (std::size_t e = 0; e < entries; ++e) ++splat_start_[offsets_[e] + 1];
  for (int v = 0; v < m_; ++v) splat_start_[v + 1] += splat_start_[v];
  splat_point_.resize(entries);
  splat_weight_.resize(entries);
  // Fill with splat_start_[v] as the cursor of vertex v, then shift the starts back by one.
  for (std::size_t e = 0; e < entries; ++e) {
    const std::int32_t pos = splat_start_[offsets_[e]]++;
    splat_point_[pos] = static_cast<std::int32_t>(e / (d_ + 1));
    splat_weight_[pos] = barycentric_[e];
  }
  for (int v = m_; v > 0; --v) splat_start_[v] = splat_start_[v - 1];
  splat_start_[0] = 0;
}

// Neighbours along lattice direction j: the key +- the direction vector (d on coordinate j, -1 on
// the others; for j = d all coordinates -1, coordinate d being implicit). Absent vertices -> m.
void PermutohedralLattice::find_neighbours(int threads) {
  const int d = d_, m = m_;
  neighbours_.resize(static_cast<std::size_t>(d + 1) * m * 2);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int v = 0; v < m; ++v) {
    int key[kMaxLatticeDim], n1[kMaxLatticeDim], n2[kMaxLatticeDim];
    unpack_key(table_.key(v), d, key);
    for (int j = 0; j <= d; ++j) {
      for (int k = 0; k < d; ++k) {
        n1[k] = key[k] - 1;
        n2[k] = key[k] + 1;
      }
      if (j < d) {
        n1[j] = key[j] + d;
        n2[j] = key[j] - d;
      }
      const int a = table_.find(pack_key(n1, d)), b = table_.find(pack_key(n2, d));
      std::int32_t* out = neighbours_.data() + (static_cast<std::size_t>(j) * m + v) * 2;
      out[0] = a < 0 ? m : a;
      out[1] = b < 0 ? m : b;
    }
  }
}

const float* PermutohedralLattice::splat_blur(const float* in, int stride, const float* point_scale) {
  const std::size_t rows = static_cast<std::size_t>(m_) + 1;
  values_.resize(rows * stride);
  scratch_.resize(rows * stride);
  std::fill_n(values_.data() + static_cast<std::size_t>(m_) * stride, stride, 0.0f);
  std::fill_n(scratch_.data() + static_cast<std::size_t>(m_) * stride, stride, 0.0f);
  float* values = values_.data();
#pragma omp parallel for num_threads(threads_) schedule(static)
  for (int v = 0; v < m_; ++v) {
    float* row = values + static_cast<std::int64_t>(v) * stride;
    for (int k = 0; k < stride; ++k) row[k] = 0.0f;
    for (std::int32_t e = splat_start_[v]; e < splat_start_[v + 1]; ++e) {
      const std::int32_t p = splat_point_[e];
      const float w = point_scale ? splat_weight_[e] * point_scale[p] : splat_weight_[e];
      const float* src = in + static_cast<std::int64_t>(p) * stride;
#pragma omp simd
      for (int k = 0; k < stride; ++k) row[k] += w * src[k];
    }
  }
  blur(stride);
  return values_.data();
}

// new = old + (left + right) / 2 along each direction in turn (densecrf's [1/2 1 1/2], which
// leaves the overall scale to the normalisation).
void PermutohedralLattice::blur(int stride) {
  for (int j = 0; j <= d_; ++j) {
    const float* in = values_.data();
    float* out = scratch_.data();
    const std::int32_t* nb = neighbours_.data() + static_cast<std::size_t>(j) * m_ * 2;
#pragma omp parallel for num_threads(threads_) schedule(static)
    for (int v = 0; v < m_; ++v) {
      const float* self = in + static_cast<std::int64_t>(v) * stride;
      const float* a = in + static_cast<std::int64_t>(nb[2 * v]) * stride;
      const float* b = in + static_cast<std::int64_t>(nb[2 * v + 1]) * stride;
      float* o = out + static_cast<std::int64_t>(v) * stride;
#pragma omp simd
      for (int k = 0; k < stride; ++k) o[k] = self[k] + 0.5f * (a[k] + b[k]);
    }
    values_.swap(scratch_);
  }
}

}  // namespace deeplab::crf
