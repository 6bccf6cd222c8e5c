// The smoothness kernel's vertical pass on the GPU (cuda/crf/gaussian_blur_steps.h; the horizontal
// pass is part of the mean-field update). Host-includable: declarations only; the launcher enqueues
// one kernel on `stream` and throws Error(kDevice) when it fails to launch.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/crf/gaussian_blur_steps.h"

namespace deeplab::cuda {

// cols (width x height x classes) = in blurred along y.
void launch_blur_columns(const BlurView& b, const float* in, float* cols, cudaStream_t stream);

}  // namespace deeplab::cuda
