// Device-side helpers of the network kernels (cuda/net_*.cu): float <-> half element access and
// the host-side dispatch on TensorType.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/conv_plan.h"

namespace deeplab::cuda {

__host__ __device__ inline float to_float(float v) { return v; }
__host__ __device__ inline float to_float(__half v) { return __half2float(v); }

template <typename T>
__host__ __device__ inline T from_float(float v);
template <>
__host__ __device__ inline float from_float<float>(float v) { return v; }
template <>
__host__ __device__ inline __half from_float<__half>(float v) { return __float2half_rn(v); }

// Reads element i of a T tensor as float (the loaders of cuda/net_ops.h).
template <typename T>
struct Loader {
  const T* p;
  __host__ __device__ float operator()(std::int64_t i) const { return to_float(p[i]); }
};

__device__ inline std::int64_t global_index() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

// Calls f(T{}) with T = float or __half.
template <typename F>
void dispatch_type(TensorType type, F&& f) {
  if (type == TensorType::kHalf) f(__half{});
  else f(float{});
}

inline constexpr int kElementBlock = 256;

}  // namespace deeplab::cuda
