// Filtering with a built lattice on the GPU: splat, blur along one direction, and the kernel's
// normalisation (cuda/crf/lattice_steps.h). Host-includable: declarations only; each launcher
// enqueues one kernel on `stream` and throws Error(kDevice) when it fails to launch.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/crf/lattice_steps.h"

namespace deeplab::cuda {

// out (m x stride floats) = the splatted rows of `in` (points x stride; null = all ones), each
// point's weight times point_scale[point] (null = 1).
void launch_lattice_splat(const LatticeView& v, const float* in, int stride, const float* point_scale, float* out,
                          cudaStream_t stream);

// out rows 0..m-1 = in blurred along direction j (in and out hold m + 1 rows; row m is zero).
void launch_lattice_blur(const LatticeView& v, int j, const float* in, float* out, int stride, cudaStream_t stream);

// v.norm = 1 / sqrt(K 1) from the blurred splat of ones (stride 1).
void launch_lattice_norm(const LatticeView& v, const float* blurred_ones, cudaStream_t stream);

}  // namespace deeplab::cuda
