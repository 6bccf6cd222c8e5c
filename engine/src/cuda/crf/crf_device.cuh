// Device-side helpers of the CRF kernels (cuda/crf/*.cu): SequentialAtomics' device twin, the
// thread index, and the dispatch from a lattice's run-time dimension to the kernels built for it.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "cuda/crf/crf_plan.h"
#include "deeplab/error.h"

namespace deeplab::cuda {

// The hash-table steps (cuda/crf/lattice_steps.h) as thousands of threads at once. A slot changes
// only from -1 to an entry (compare-and-swap), then only downwards (atomic min, in a later kernel),
// so a volatile read that sees an entry during insertion sees a final key.
struct DeviceAtomics {
  __device__ static int load(const int* p) { return *static_cast<const volatile int*>(p); }
  __device__ static int compare_swap(int* p, int expected, int desired) { return atomicCAS(p, expected, desired); }
  __device__ static void min(int* p, int value) { atomicMin(p, value); }
  __device__ static void max(int* p, int value) { atomicMax(p, value); }
};

// This thread's index in a one-dimensional launch.
__device__ inline std::int64_t global_thread() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

// Calls launch(std::integral_constant<int, D>{}) for the lattice dimensions the kernels are built
// for: the Gaussian kernel's 2 and the bilateral kernel's 5.
template <typename Launch>
void with_lattice_dim(int dim, Launch&& launch) {
  switch (dim) {
    case kCrfGaussianDim: launch(std::integral_constant<int, kCrfGaussianDim>{}); return;
    case kCrfBilateralDim: launch(std::integral_constant<int, kCrfBilateralDim>{}); return;
    default: break;
  }
  throw Error(ErrorCode::kInternal, "CUDA lattice kernels are built for " + std::to_string(kCrfGaussianDim) + " and " +
                                        std::to_string(kCrfBilateralDim) + " feature dimensions, not " +
                                        std::to_string(dim));
}

}  // namespace deeplab::cuda
