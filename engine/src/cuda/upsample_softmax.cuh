// Upsampled class probabilities on the GPU: NHWC logits -> softmax over the classes of every output
// pixel as `channels` planes of out_h x out_w (CHW), as deeplab::upsample_softmax() computes them
// (within expf's ulp). Host-includable: declarations only.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/upsample_pixel.h"
#include "cuda/upsample_plan.h"

namespace deeplab::cuda {

// Enqueues on `stream`: planes[k * out_h * out_w + y * out_w + x] (kPlanes) or
// planes[(y * out_w + x) * channels + k] (kPixelMajor). `view` and `plan` as for
// launch_upsample_argmax(). Throws deeplab::Error (kDevice) when the launch fails.
void launch_upsample_softmax(const UpsampleView& view, const UpsamplePlan& plan, float* planes, cudaStream_t stream,
                             SoftmaxLayout layout = SoftmaxLayout::kPlanes);

}  // namespace deeplab::cuda
