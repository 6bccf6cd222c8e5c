// The pre/post-processing kernels' per-pixel code (common/preprocess_pixel.h, cuda/upsample_pixel.h)
// run on the CPU thread by thread and block by block as the kernels run it: shared by the host
// tests of the kernels (test_cuda_host.cpp) and of the Segmenter's CRF stage (crf_stage_emulation.h).
#pragma once

#include <cstdint>
#include <vector>

#include "common/preprocess_pixel.h"
#include "cuda/upsample_pixel.h"
#include "cuda/upsample_plan.h"
#include "deeplab/frame.h"
#include "deeplab/manifest.h"
#include "postprocess/interpolate.h"
#include "preprocess/preprocess.h"

namespace deeplab::test {

// preprocess_kernel<F> over every output pixel: `f` in host memory, taps from make_taps() as
// CudaPreprocess builds them.
void emulate_preprocess(const FrameView& f, const InputSpec& spec, const InputTensorLayout& L, float* dst);

// The view a kernel gets, over host copies of the tables.
cuda::UpsampleView host_view(const ResampleGeometry& geo, const cuda::UpsamplePlan& plan, const float* logits);

// The upsample kernels: staged (per block, the span staged first) or direct.
std::vector<std::uint8_t> emulate_argmax(const cuda::UpsampleView& v, const cuda::UpsamplePlan& plan, bool staged);
std::vector<float> emulate_softmax(const cuda::UpsampleView& v, const cuda::UpsamplePlan& plan, bool staged,
                                   cuda::SoftmaxLayout layout = cuda::SoftmaxLayout::kPlanes);

}  // namespace deeplab::test
