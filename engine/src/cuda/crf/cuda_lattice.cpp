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
  DEEPLAB_CUDA_CHECK(cudaMemsetAsync(buffers_.slots.data(), 0xff, sizes_.table_slots * sizeof(int), stream));  // all -1
  launch_lattice_embed(view_, features, stream);
  launch_lattice_hash(view_, stream);
  launch_lattice_number(view_, scratch_bytes_.data(), scratch_bytes_.bytes(), stream);
  // The vertex count sizes the lists, the neighbours and every later launch: read it back.
  buffers_.counters.download(counters_host_.data(), kCounterCount, stream);
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
  buffers_.base.reserve(sizes.points);
  buffers_.ranks.reserve(sizes.points);
  buffers_.norm.reserve(sizes.points);
  buffers_.weights.reserve(sizes.entries);
  // vertex_owner is written by the numbering, before the vertex count is known: sized per entry.
  for (DeviceBuffer<int>* b : {&buffers_.entry_slot, &buffers_.entry_flag, &buffers_.entry_first, &buffers_.offsets,
                               &buffers_.splat_entry, &buffers_.vertex_owner})
    b->reserve(sizes.entries);
  buffers_.slots.reserve(sizes.table_slots);
  buffers_.counters.reserve(kCounterCount);
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
  buffers_.starts.reserve(capacity + 1);
  buffers_.neighbours.reserve(static_cast<std::size_t>(sizes_.dim + 1) * capacity * 2);
  rows_.reserve(static_cast<std::size_t>(capacity + 1) * stride);
  rows_scratch_.reserve(static_cast<std::size_t>(capacity + 1) * stride);
  point_view();
}

void CudaLattice::point_view() { buffers_.point(view_, sizes_); }

const float* CudaLattice::splat_blur(const float* in, int stride, cudaStream_t stream) {
  if (!built_) throw Error(ErrorCode::kInternal, "CudaLattice::splat_blur before a successful build");
  if (!in || stride < 1) throw Error(ErrorCode::kInternal, "CudaLattice::splat_blur of nothing");
  return splat_blur_scaled(in, stride, view_.symmetric ? buffers_.norm.data() : nullptr, stream);
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
  return KernelSlice{view_.offsets, view_.weights, view_.norm, blurred, weight};
}

std::size_t CudaLattice::device_bytes() const {
  return buffers_.base.bytes() + buffers_.ranks.bytes() + buffers_.weights.bytes() + buffers_.norm.bytes() +
         buffers_.slots.bytes() + buffers_.entry_slot.bytes() + buffers_.entry_flag.bytes() +
         buffers_.entry_first.bytes() + buffers_.offsets.bytes() + buffers_.splat_entry.bytes() +
         buffers_.vertex_owner.bytes() + buffers_.starts.bytes() + buffers_.neighbours.bytes() +
         buffers_.counters.bytes() + scratch_bytes_.bytes() + rows_.bytes() + rows_scratch_.bytes();
}

}  // namespace deeplab::cuda
