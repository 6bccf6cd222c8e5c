// Launch shapes of one-thread-per-element kernels. Plain C++ (no CUDA header), so that the grid
// arithmetic is unit-tested on machines without a GPU; cuda/launch.cuh launches with them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace deeplab::cuda {

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

struct LaunchShape {
  Dim3 grid, block;
  std::size_t shared_bytes = 0;  // dynamic shared memory per block
  // Nothing to compute (an empty range): the launch helper launches nothing.
  bool empty() const { return grid.x == 0 || grid.y == 0 || grid.z == 0; }
  std::string describe() const;  // "grid 15x1080x1, block 128x1x1, 840 B shared"
};

// Limits every CUDA GPU of compute capability >= 3.0 shares.
inline constexpr std::int64_t kMaxGridX = 2147483647;
inline constexpr std::int64_t kMaxGridYZ = 65535;
inline constexpr int kMaxBlockThreads = 1024;

constexpr std::int64_t ceil_div(std::int64_t n, std::int64_t d) { return (n + d - 1) / d; }

// One thread per element of [0, n), blocks of `block` threads: ceil(n / block) blocks; n == 0 gives
// an empty shape. Throws deeplab::Error (kInvalidArgument) for n < 0, a block outside 1..1024 or a
// grid beyond the limits above.
LaunchShape shape_1d(std::int64_t n, int block, std::size_t shared_bytes = 0);

// One thread per (x, y) of a width x height range, blocks of block_x x block_y, x fastest (give
// block_x a multiple of 32 so that a warp covers consecutive x). Either size 0 gives an empty shape.
LaunchShape shape_2d(int width, int height, int block_x, int block_y, std::size_t shared_bytes = 0);

}  // namespace deeplab::cuda
