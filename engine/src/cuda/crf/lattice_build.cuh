// Building the permutohedral lattice on the GPU (cuda/crf/lattice_steps.h has the per-thread steps
// and the order). Host-includable: declarations only. Each launcher enqueues its kernels (and CUB
// scans/sorts) on `stream` and throws Error(kDevice) when one fails to launch.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "cuda/crf/lattice_steps.h"

namespace deeplab::cuda {

// Embedding: simplices, weights and the worst coordinate of every point (counters zeroed first).
void launch_lattice_embed(const LatticeView& v, const GaussianFeatures& features, cudaStream_t stream);
void launch_lattice_embed(const LatticeView& v, const BilateralFeatures& features, cudaStream_t stream);

// Insert, claim and flag (the table's slots must all be -1 first).
void launch_lattice_hash(const LatticeView& v, cudaStream_t stream);

// Scratch bytes the CUB scan and the CUB sort need for `entries` entries (the sort's for any
// number of key bits up to what entries vertices need).
std::size_t lattice_scan_scratch_bytes(int entries);
std::size_t lattice_sort_scratch_bytes(int entries);

// Exclusive scan of the owner flags and numbering: offsets, vertex owners, counters[kCounterVertices].
void launch_lattice_number(const LatticeView& v, void* scratch, std::size_t scratch_bytes, cudaStream_t stream);

// With v.vertices set (read back after numbering): the splat lists (a stable radix sort of the
// entries by vertex id on `vertex_bits` bits) and the neighbours.
void launch_lattice_lists(const LatticeView& v, int vertex_bits, void* scratch, std::size_t scratch_bytes,
                          cudaStream_t stream);

}  // namespace deeplab::cuda
