// One permutohedral lattice on the GPU with its CRF kernel's normalisation: the device twin of
// crf::CrfKernel (crf/crf_kernel.h). Vertex ids, offsets, weights, neighbours and the normalisation
// are the CPU lattice's (cuda/crf/lattice_steps.h says why); the buffers are DeviceBuffers kept
// between builds, reallocated only when a build needs more than they hold.
//
//   CudaLattice lattice(/*worst_case_vertices=*/true);
//   lattice.build(BilateralFeatures{...}, points, stream);       // once per frame
//   const float* rows = lattice.splat_blur(q, classes, stream);  // every mean-field iteration
//   ... lattice.slice(rows, weight) into the update (cuda/crf/mean_field.cuh)
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cuda/crf/crf_plan.h"
#include "cuda/crf/lattice_steps.h"
#include "cuda/crf/mean_field_steps.h"
#include "cuda/cuda_resources.h"

namespace deeplab::cuda {

class CudaLattice {
 public:
  // worst_case_vertices: size the vertex buffers for the most vertices the points can make (every
  // entry its own vertex), so that rebuilding for new content never allocates — the bilateral
  // lattice, rebuilt every frame. Otherwise for the vertices of the build — the Gaussian lattice,
  // built once per size.
  explicit CudaLattice(bool worst_case_vertices) : worst_case_vertices_(worst_case_vertices) {}

  // The kernel's normalisation (LatticeView::symmetric): symmetric (crf::KernelNormalisation::
  // kSymmetric) or row. Takes effect at the next build.
  void set_symmetric(bool symmetric) { symmetric_ = symmetric; }
  bool symmetric() const { return symmetric_; }

  // Builds the lattice of `points` points (pixels) and the normalisation 1 / sqrt(K 1), enqueued on
  // `stream`; waits for the stream once, to read back the vertex count. Throws
  // Error(kInvalidArgument) when a lattice coordinate leaves the 16-bit keys (callers check the
  // options first, to name the one at fault) and Error(kDevice) on a CUDA failure.
  void build(const GaussianFeatures& features, int points, cudaStream_t stream);
  void build(const BilateralFeatures& features, int points, cudaStream_t stream);

  // Splats in_j (points x stride floats, device memory; times n_j when symmetric) and blurs.
  // Returns the blurred vertex rows ((vertices + 1) x stride), valid until the next splat_blur or
  // build.
  const float* splat_blur(const float* in, int stride, cudaStream_t stream);

  // The update's view of this kernel with `blurred` = splat_blur()'s rows.
  KernelSlice slice(const float* blurred, float weight) const;

  bool built() const { return built_; }
  int points() const { return view_.points; }
  int dim() const { return view_.dim; }
  int vertices() const { return view_.vertices; }
  // Device pointers of the built lattice (for the tests' comparisons with the CPU lattice).
  const LatticeView& view() const { return view_; }
  // Device memory held, in bytes.
  std::size_t device_bytes() const;

 private:
  template <typename Features>
  void build_lattice(const Features& features, int points, cudaStream_t stream);
  void reserve_entries(const LatticeSizes& sizes);
  void reserve_vertices(std::int64_t vertices, int stride);
  const float* splat_blur_scaled(const float* in, int stride, const float* point_scale, cudaStream_t stream);
  void point_view();

  const bool worst_case_vertices_;
  bool symmetric_ = true;
  bool built_ = false;
  LatticeSizes sizes_;
  LatticeView view_;

  LatticeBuffers<DeviceBuffer> buffers_;
  DeviceBuffer<unsigned char> scratch_bytes_;  // CUB's scan and sort
  DeviceBuffer<float> rows_, rows_scratch_;    // vertex rows, ping-pong for the blur
  PinnedBuffer<int> counters_host_;
};

}  // namespace deeplab::cuda
