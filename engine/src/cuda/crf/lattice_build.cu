#include "cuda/crf/lattice_build.cuh"

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>

#include <algorithm>

#include "cuda/crf/crf_device.cuh"
#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"

namespace deeplab::cuda {
namespace {

template <int D, typename Features>
__global__ void lattice_embed_kernel(LatticeView v, Features features) {
  const std::int64_t i = global_thread();
  if (i < v.points) embed_step<D, DeviceAtomics>(v, features, static_cast<int>(i));
}

template <int D>
__global__ void lattice_insert_kernel(LatticeView v) {
  const std::int64_t e = global_thread();
  if (e < v.entries) insert_step<D, DeviceAtomics>(v, static_cast<int>(e));
}

__global__ void lattice_claim_kernel(LatticeView v) {
  const std::int64_t e = global_thread();
  if (e < v.entries) claim_step<DeviceAtomics>(v, static_cast<int>(e));
}

__global__ void lattice_flag_kernel(LatticeView v) {
  const std::int64_t e = global_thread();
  if (e < v.entries) flag_step(v, static_cast<int>(e));
}

__global__ void lattice_number_kernel(LatticeView v) {
  const std::int64_t e = global_thread();
  if (e < v.entries) number_step(v, static_cast<int>(e));
}

__global__ void lattice_starts_kernel(LatticeView v) {
  const std::int64_t p = global_thread();
  if (p < v.entries) starts_step(v, static_cast<int>(p));
}

template <int D>
__global__ void lattice_neighbours_kernel(LatticeView v) {
  const std::int64_t t = global_thread();
  if (t < static_cast<std::int64_t>(v.vertices) * (D + 1)) neighbours_step<D>(v, t);
}

template <typename Features>
void embed(const LatticeView& v, const Features& features, cudaStream_t stream) {
  if (v.dim != Features::kDim) throw Error(ErrorCode::kInternal, "launch_lattice_embed: lattice and features disagree");
  DEEPLAB_CUDA_CHECK(cudaMemsetAsync(v.counters, 0, kCounterCount * sizeof(int), stream));
  launch_1d("lattice_embed_kernel", v.points, kCrfBlock, stream, lattice_embed_kernel<Features::kDim, Features>, v,
            features);
}

}  // namespace

void launch_lattice_embed(const LatticeView& v, const GaussianFeatures& features, cudaStream_t stream) {
  embed(v, features, stream);
}

void launch_lattice_embed(const LatticeView& v, const BilateralFeatures& features, cudaStream_t stream) {
  embed(v, features, stream);
}

void launch_lattice_hash(const LatticeView& v, cudaStream_t stream) {
  with_lattice_dim(v.dim, [&](auto dim) {
    launch_1d("lattice_insert_kernel", v.entries, kCrfBlock, stream, lattice_insert_kernel<decltype(dim)::value>, v);
  });
  launch_1d("lattice_claim_kernel", v.entries, kCrfBlock, stream, lattice_claim_kernel, v);
  launch_1d("lattice_flag_kernel", v.entries, kCrfBlock, stream, lattice_flag_kernel, v);
}

std::size_t lattice_scan_scratch_bytes(int entries) {
  std::size_t bytes = 0;
  DEEPLAB_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, bytes, static_cast<const int*>(nullptr),
                                                   static_cast<int*>(nullptr), entries));
  return bytes;
}

// CUB's scratch may depend on the number of radix passes: the largest over every bit count a
// vertex id of this lattice can need.
std::size_t lattice_sort_scratch_bytes(int entries) {
  std::size_t most = 0;
  for (int bits = 1; bits <= bits_for(std::max(entries - 1, 1)); ++bits) {
    std::size_t bytes = 0;
    DEEPLAB_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, bytes, static_cast<const int*>(nullptr),
                                                       static_cast<int*>(nullptr), static_cast<const int*>(nullptr),
                                                       static_cast<int*>(nullptr), entries, 0, bits));
    most = std::max(most, bytes);
  }
  return most;
}

void launch_lattice_number(const LatticeView& v, void* scratch, std::size_t scratch_bytes, cudaStream_t stream) {
  std::size_t bytes = scratch_bytes;
  DEEPLAB_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(scratch, bytes, static_cast<const int*>(v.entry_flag), v.entry_first,
                                                   v.entries, stream));
  launch_1d("lattice_number_kernel", v.entries, kCrfBlock, stream, lattice_number_kernel, v);
}

void launch_lattice_lists(const LatticeView& v, int vertex_bits, void* scratch, std::size_t scratch_bytes,
                          cudaStream_t stream) {
  // Keys: each entry's vertex id; values: entry ids (number_step left them in entry_slot). The
  // sorted keys go to entry_flag, which the numbering no longer needs.
  std::size_t bytes = scratch_bytes;
  DEEPLAB_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(scratch, bytes, static_cast<const int*>(v.offsets), v.entry_flag,
                                                     static_cast<const int*>(v.entry_slot), v.splat_entry, v.entries, 0,
                                                     vertex_bits, stream));
  launch_1d("lattice_starts_kernel", v.entries, kCrfBlock, stream, lattice_starts_kernel, v);
  with_lattice_dim(v.dim, [&](auto dim) {
    constexpr int D = decltype(dim)::value;
    launch_1d("lattice_neighbours_kernel", static_cast<std::int64_t>(v.vertices) * (D + 1), kCrfBlock, stream,
              lattice_neighbours_kernel<D>, v);
  });
}

}  // namespace deeplab::cuda
