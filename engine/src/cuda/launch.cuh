// The kernel launch helper (for .cu files): computes nothing itself beyond the shape it is given
// (cuda/launch_geometry.h computes grids), launches nothing for an empty range, and checks the
// launch (cudaGetLastError), throwing deeplab::Error (kDevice) that names the kernel and its shape.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <utility>

#include "cuda/cuda_check.h"
#include "cuda/launch_geometry.h"

namespace deeplab::cuda {

inline dim3 to_dim3(const Dim3& d) { return dim3(d.x, d.y, d.z); }

template <typename... Params, typename... Args>
void launch(const char* name, const LaunchShape& shape, cudaStream_t stream, void (*kernel)(Params...),
            Args&&... args) {
  if (shape.empty()) return;
  kernel<<<to_dim3(shape.grid), to_dim3(shape.block), shape.shared_bytes, stream>>>(std::forward<Args>(args)...);
  check_launch(name, shape);
}

// One thread per element of [0, n).
template <typename... Params, typename... Args>
void launch_1d(const char* name, std::int64_t n, int block, cudaStream_t stream, void (*kernel)(Params...),
               Args&&... args) {
  launch(name, shape_1d(n, block), stream, kernel, std::forward<Args>(args)...);
}

// One thread per (x, y) of width x height.
template <typename... Params, typename... Args>
void launch_2d(const char* name, int width, int height, int block_x, int block_y, cudaStream_t stream,
               void (*kernel)(Params...), Args&&... args) {
  launch(name, shape_2d(width, height, block_x, block_y), stream, kernel, std::forward<Args>(args)...);
}

}  // namespace deeplab::cuda
