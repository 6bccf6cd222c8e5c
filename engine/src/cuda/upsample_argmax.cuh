// Upsampled class map on the GPU: NHWC logits -> the argmax class of every output pixel, equal to
// deeplab::upsample_argmax() (postprocess/interpolate.cpp) for identical logits. Full-resolution
// logits are never stored. Host-includable: declarations only.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "cuda/upsample_pixel.h"
#include "cuda/upsample_plan.h"

namespace deeplab::cuda {

// Enqueues on `stream`: classes[y * out_w + x] for the view's out_h x out_w pixels (uint8: at most
// 256 classes). `view` holds device pointers (its tables and, when plan.staged, its spans uploaded
// from `plan`, which must be the plan of view.channels and the view's column table). Throws
// deeplab::Error (kDevice) when the launch fails.
void launch_upsample_argmax(const UpsampleView& view, const UpsamplePlan& plan, std::uint8_t* classes,
                            cudaStream_t stream);

}  // namespace deeplab::cuda
