// Sizes and launch shapes of the CUDA dense CRF (cuda/crf/): plain C++ with no CUDA header, so that
// the unit tests check them on machines without a GPU.
//
// The lattice's hash table is sized for the worst case, every (point, simplex vertex) pair a vertex
// of its own: with at least twice as many slots as pairs, linear probing always finds an empty slot
// and the load factor stays <= 1/2, whatever the image. Pair and slot indices are int32 on the GPU.
#pragma once

#include <cstdint>
#include <string>

#include "cuda/host_device.h"
#include "deeplab/error.h"

namespace deeplab::cuda {

// Feature dimensions of the CRF's two kernels (crf/crf_kernel.h's kGaussianDim, kBilateralDim: the
// kernels are instantiated for these two only) and the largest the lattice code handles
// (crf/permutohedral.h's kMaxLatticeDim). cuda_lattice.cpp checks that both sides agree.
inline constexpr int kCrfGaussianDim = 2;
inline constexpr int kCrfBilateralDim = 5;
inline constexpr int kLatticeMaxDim = 7;

// Threads per block of every CRF kernel (a multiple of 32, so that the mean-field update's groups
// of lanes never straddle a warp).
inline constexpr int kCrfBlock = 256;

// The mean-field update gives each pixel a group of `group` lanes of one warp: a power of two >= the
// class count, at most 32; lane l handles classes l, l + group, ... (at most kMaxClassesPerLane of
// them: 256 classes / 32 lanes).
inline constexpr int kMaxCrfClasses = 256;
inline constexpr int kMaxClassesPerLane = 8;

DEEPLAB_HOST_DEVICE constexpr int mean_field_group(int classes) {
  int group = 1;
  while (group < classes && group < 32) group *= 2;
  return group;
}

DEEPLAB_HOST_DEVICE constexpr int classes_per_lane(int classes) {
  const int group = mean_field_group(classes);
  return (classes + group - 1) / group;
}

// The sizes of one lattice build.
struct LatticeSizes {
  int points = 0;
  int dim = 0;
  std::int64_t entries = 0;      // points x (dim + 1) (point, simplex vertex) pairs: the most vertices possible
  std::int64_t table_slots = 0;  // a power of two >= 2 x entries (and >= 64)
  int slot_shift = 0;            // 64 - log2(table_slots): the hash's top bits index the table
};

// Throws Error(kInvalidArgument) naming the point count when the pairs or slots leave int32.
inline LatticeSizes lattice_sizes(std::int64_t points, int dim) {
  if (dim < 1 || dim > kLatticeMaxDim)
    throw Error(ErrorCode::kInvalidArgument, "CUDA lattice: " + std::to_string(dim) + " feature dimensions (1.." +
                                                 std::to_string(kLatticeMaxDim) + " supported)");
  if (points < 1) throw Error(ErrorCode::kInvalidArgument, "CUDA lattice: no points");
  constexpr std::int64_t kMaxSlots = std::int64_t{1} << 31;  // slot indices are int32
  const std::int64_t entries = points * (dim + 1);
  if (2 * entries > kMaxSlots)
    throw Error(ErrorCode::kInvalidArgument,
                "CUDA lattice: " + std::to_string(points) + " points of " + std::to_string(dim) + " dimensions need " +
                    std::to_string(2 * entries) + " hash slots, more than the 2^31 the GPU table indexes");
  LatticeSizes s;
  s.points = static_cast<int>(points);
  s.dim = dim;
  s.entries = entries;
  s.table_slots = 64;
  s.slot_shift = 58;
  while (s.table_slots < 2 * entries) {
    s.table_slots *= 2;
    --s.slot_shift;
  }
  return s;
}

// The kernels' normalisation of the CPU backend (crf/crf_cpu.cpp's CpuCrf: KernelNormalisation::
// kRow, DeepLab's normalisation), which the CUDA backend follows. The symmetric one is there for
// comparison, as crf::CrfKernel keeps it; the tests compare both with the CPU's kernels.
inline constexpr bool kCrfSymmetricNormalisation = false;

// Bits needed to write every value of 0..max_value (at least 1): the radix sort of the splat lists
// sorts vertex ids on this many bits only.
inline int bits_for(std::int64_t max_value) {
  int bits = 1;
  while (bits < 63 && (std::int64_t{1} << bits) <= max_value) ++bits;
  return bits;
}

}  // namespace deeplab::cuda
