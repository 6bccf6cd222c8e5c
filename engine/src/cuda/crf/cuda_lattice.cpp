#include "cuda/crf/cuda_lattice.h"

#include <algorithm>
#include <string>
#include <utility>

#include "crf/crf_kernel.h"
#include "crf/permutohedral.h"
#include "cuda/crf/lattice_build.cuh"
#include "cuda/crf/lattice_filter.cuh"
#include "deeplab/error.h"

namespace deeplab::cuda {

// The kernels are instantiated for the CPU CRF's feature dimensions (cuda/crf/crf_plan.h).
static_assert(kCrfGaussianDim == crf::kGaussianDim, "CUDA and CPU Gaussian kernels differ in dimension");
static_assert(kCrfBilateralDim == crf::kBilateralDim, "CUDA and CPU bilateral kernels differ in dimension");
static_assert(kLatticeMaxDim == crf::kMaxLatticeDim, "CUDA and CPU lattices pack keys differently");

void CudaLattice::build(const GaussianFeatures& features, int points, cudaStream_t stream) {
  build_lattice(features, points, stream);
}

void CudaLattice::build(const BilateralFeatures& features, int points, cudaStream_t stream) {
  build_lattice(features, points, stream);
}

template <typename Features>
void CudaLattice::build_lattice(const Features& features, int points, cudaStream_t stream) {
  built_ = false;
  reserve_entries(lattice_sizes(points, Features::kDim));
  view_.vertices = 0;
  view_.symmetric = symmetric_;
  DEEPLAB_CUDA_CHECK(cudaMemsetAsync(slots_.data(), 0xff, sizes_.table_slots * sizeof(int), stream));  // all -1
  launch_lattice_embed(view_, features, stream);
  launch_lattice_hash(view_, stream);
  launch_lattice_number(view_, scratch_bytes_.data(), scratch_bytes_.bytes(), stream);
  // The vertex count sizes the lists, the neighbours and every later launch: read it back.
  counters_.download(counters_host_.data(), kCounterCount, stream);
  DEEPLAB_CUDA_CHECK(cudaStreamSynchronize(stream));
  const int worst = counters_host_[kCounterWorstCoordinate];
  if (worst + 2 * (sizes_.dim + 1) > 32767)
    throw Error(ErrorCode::kInvalidArgument,
                "permutohedral lattice (CUDA): lattice coordinates reach " + std::to_string(worst) +
                    ", beyond the 16-bit keys (a kernel standard deviation is too small for the image)");
  const int vertices = counters_host_[kCounterVertices];
  if (vertices < 1 || vertices > sizes_.entries)
    throw Error(ErrorCode::kInternal, "CUDA lattice: " + std::to_string(vertices) + " vertices for " +
                                          std::to_string(sizes_.entries) + " entries");
  view_.vertices = vertices;
  reserve_vertices(vertices, 1);
  launch_lattice_lists(view_, bits_for(vertices - 1), scratch_bytes_.data(), scratch_bytes_.bytes(), stream);
  launch_lattice_norm(view_, splat_blur_scaled(nullptr, 1, nullptr, stream), stream);
  built_ = true;
}

// Per point, per entry and the table: reallocated only when a size needs more than they hold.
void CudaLattice::reserve_entries(const LatticeSizes& sizes) {
  const bool new_entries = sizes.entries != sizes_.entries;
  sizes_ = sizes;
  base_.reserve(sizes.points);
  ranks_.reserve(sizes.points);
  norm_.reserve(sizes.points);
  weights_.reserve(sizes.entries);
  // vertex_owner is written by the numbering, before the vertex count is known: sized per entry.
  for (DeviceBuffer<int>* b : {&entry_slot_, &entry_flag_, &entry_first_, &offsets_, &splat_entry_, &vertex_owner_})
    b->reserve(sizes.entries);
  slots_.reserve(sizes.table_slots);
  counters_.reserve(kCounterCount);
  counters_host_.reserve(kCounterCount);
  if (new_entries || scratch_bytes_.empty()) {
    const int entries = static_cast<int>(sizes.entries);
    scratch_bytes_.reserve(std::max(lattice_scan_scratch_bytes(entries), lattice_sort_scratch_bytes(entries)));
  }
  if (worst_case_vertices_) reserve_vertices(sizes.entries, 1);
  point_view();
}

// Per vertex: for `vertices`, or for the most the entries can make (worst_case_vertices_).
void CudaLattice::reserve_vertices(std::int64_t vertices, int stride) {
  const std::int64_t capacity = worst_case_vertices_ ? sizes_.entries : vertices;
  starts_.reserve(capacity + 1);
  neighbours_.reserve(static_cast<std::size_t>(sizes_.dim + 1) * capacity * 2);
  rows_.reserve(static_cast<std::size_t>(capacity + 1) * stride);
  rows_scratch_.reserve(static_cast<std::size_t>(capacity + 1) * stride);
  point_view();
}

void CudaLattice::point_view() {
  LatticeView& v = view_;
  v.points = sizes_.points;
  v.dim = sizes_.dim;
  v.entries = static_cast<int>(sizes_.entries);
  v.slot_mask = static_cast<std::uint32_t>(sizes_.table_slots - 1);
  v.slot_shift = sizes_.slot_shift;
  lattice::embedding_scale(sizes_.dim, v.scale);
  v.base = base_.data();
  v.ranks = ranks_.data();
  v.weights = weights_.data();
  v.slots = slots_.data();
  v.entry_slot = entry_slot_.data();
  v.entry_flag = entry_flag_.data();
  v.entry_first = entry_first_.data();
  v.offsets = offsets_.data();
  v.splat_entry = splat_entry_.data();
  v.vertex_owner = vertex_owner_.data();
  v.starts = starts_.data();
  v.neighbours = neighbours_.data();
  v.counters = counters_.data();
  v.norm = norm_.data();
}

const float* CudaLattice::splat_blur(const float* in, int stride, cudaStream_t stream) {
  if (!built_) throw Error(ErrorCode::kInternal, "CudaLattice::splat_blur before a successful build");
  if (!in || stride < 1) throw Error(ErrorCode::kInternal, "CudaLattice::splat_blur of nothing");
  return splat_blur_scaled(in, stride, view_.symmetric ? norm_.data() : nullptr, stream);
}

const float* CudaLattice::splat_blur_scaled(const float* in, int stride, const float* point_scale,
                                            cudaStream_t stream) {
  reserve_vertices(view_.vertices, stride);
  float* rows = rows_.data();
  float* other = rows_scratch_.data();
  // Row m stands for every absent neighbour: zero in both buffers (m moves with every build).
  const std::size_t zero_row = static_cast<std::size_t>(view_.vertices) * stride;
  DEEPLAB_CUDA_CHECK(cudaMemsetAsync(rows + zero_row, 0, stride * sizeof(float), stream));
  DEEPLAB_CUDA_CHECK(cudaMemsetAsync(other + zero_row, 0, stride * sizeof(float), stream));
  launch_lattice_splat(view_, in, stride, point_scale, rows, stream);
  for (int j = 0; j <= view_.dim; ++j) {
    launch_lattice_blur(view_, j, rows, other, stride, stream);
    std::swap(rows, other);
  }
  return rows;
}

KernelSlice CudaLattice::slice(const float* blurred, float weight) const {
  KernelSlice s;
  s.offsets = view_.offsets;
  s.weights = view_.weights;
  s.norm = view_.norm;
  s.blurred = blurred;
  s.weight = weight;
  return s;
}

std::size_t CudaLattice::device_bytes() const {
  return base_.bytes() + ranks_.bytes() + weights_.bytes() + norm_.bytes() + slots_.bytes() + entry_slot_.bytes() +
         entry_flag_.bytes() + entry_first_.bytes() + offsets_.bytes() + splat_entry_.bytes() + vertex_owner_.bytes() +
         starts_.bytes() + neighbours_.bytes() + counters_.bytes() + scratch_bytes_.bytes() + rows_.bytes() +
         rows_scratch_.bytes();
}

}  // namespace deeplab::cuda
