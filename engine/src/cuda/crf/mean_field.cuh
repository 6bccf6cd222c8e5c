// The mean field's per-pixel kernels on the GPU (cuda/crf/mean_field_steps.h). Host-includable:
// declarations only; each launcher enqueues one kernel on `stream` and throws Error(kDevice) when it
// fails to launch.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/crf/mean_field_steps.h"

namespace deeplab::cuda {

// unary = max(probabilities, 1e-8) (probabilities may be unary itself); without warm_start,
// q = unary normalised per pixel; a unary temperature T != 1 raises unary / its pixel's peak to T.
void launch_mean_field_load(const float* probabilities, float* unary, float* q, int points, int classes,
                            bool warm_start, float temperature, cudaStream_t stream);

// One mean-field update of every pixel: v.q from v.unary, the smoothness kernel's horizontal pass
// (v.gaussian) and the bilateral lattice's blurred rows (kCrfBilateralDim dimensions).
void launch_mean_field_update(const MeanFieldView& v, cudaStream_t stream);

}  // namespace deeplab::cuda
