#include "cuda/launch_geometry.h"

#include "deeplab/error.h"

namespace deeplab::cuda {
namespace {

[[noreturn]] void refuse(const std::string& what) { throw Error(ErrorCode::kInvalidArgument, "CUDA launch: " + what); }

void check_block(std::int64_t threads) {
  if (threads < 1 || threads > kMaxBlockThreads)
    refuse("a block of " + std::to_string(threads) + " threads (1.." + std::to_string(kMaxBlockThreads) + ")");
}

unsigned grid_extent(std::int64_t n, int block, std::int64_t limit, const char* axis) {
  if (n < 0) refuse(std::string("negative extent ") + std::to_string(n) + " along " + axis);
  const std::int64_t blocks = ceil_div(n, block);
  if (blocks > limit)
    refuse(std::to_string(n) + " elements along " + axis + " need " + std::to_string(blocks) +
           " blocks, more than the " + std::to_string(limit) + " a grid allows");
  return static_cast<unsigned>(blocks);
}

}  // namespace

std::string LaunchShape::describe() const {
  return "grid " + std::to_string(grid.x) + "x" + std::to_string(grid.y) + "x" + std::to_string(grid.z) + ", block " +
         std::to_string(block.x) + "x" + std::to_string(block.y) + "x" + std::to_string(block.z) + ", " +
         std::to_string(shared_bytes) + " B shared";
}

LaunchShape shape_1d(std::int64_t n, int block, std::size_t shared_bytes) {
  check_block(block);
  LaunchShape s;
  s.block.x = static_cast<unsigned>(block);
  s.grid.x = grid_extent(n, block, kMaxGridX, "x");
  s.shared_bytes = shared_bytes;
  return s;
}

LaunchShape shape_2d(int width, int height, int block_x, int block_y, std::size_t shared_bytes) {
  if (block_x < 1 || block_y < 1) refuse("a block of " + std::to_string(block_x) + "x" + std::to_string(block_y));
  check_block(static_cast<std::int64_t>(block_x) * block_y);
  LaunchShape s;
  s.block.x = static_cast<unsigned>(block_x);
  s.block.y = static_cast<unsigned>(block_y);
  s.grid.x = grid_extent(width, block_x, kMaxGridX, "x");
  s.grid.y = grid_extent(height, block_y, kMaxGridYZ, "y");
  s.shared_bytes = shared_bytes;
  return s;
}

}  // namespace deeplab::cuda
