#include "cuda/upsample_softmax.cuh"

#include "cuda/launch.cuh"
#include "cuda/upsample_stage.cuh"
#include "deeplab/error.h"

namespace deeplab::cuda {
namespace {

// Grid (column blocks, out_h); block = plan.block_width threads, one per output pixel of the row.
// Each class plane is written by consecutive threads (coalesced).
__global__ void upsample_softmax_staged_kernel(UpsampleView v, float* planes, SoftmaxLayout layout) {
  extern __shared__ float staged[];
  const int begin = stage_block_row(v, staged);
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  if (x >= v.out_w) return;
  std::int64_t plane = 0;
  float* out = softmax_output(v, planes, layout, x, blockIdx.y, plane);
  softmax_classes(staged_pixel(v, staged, begin, x), v.channels, out, plane);
}

__global__ void upsample_softmax_direct_kernel(UpsampleView v, float* planes, SoftmaxLayout layout) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  if (x >= v.out_w) return;
  DirectPixel pixel;
  pixel.v = v;
  pixel.y = blockIdx.y;
  pixel.x = x;
  std::int64_t plane = 0;
  float* out = softmax_output(v, planes, layout, x, blockIdx.y, plane);
  softmax_classes(pixel, v.channels, out, plane);
}

}  // namespace

void launch_upsample_softmax(const UpsampleView& view, const UpsamplePlan& plan, float* planes, cudaStream_t stream,
                             SoftmaxLayout layout) {
  if (view.channels < 1) throw Error(ErrorCode::kInvalidArgument, "softmax over no classes");
  if (plan.staged) {
    if (!view.span_begin || !view.span_count || view.block_width != plan.block_width || plan.channels != view.channels)
      throw Error(ErrorCode::kInternal, "launch_upsample_softmax: view and plan disagree");
    launch("upsample_softmax_staged_kernel", shape_2d(view.out_w, view.out_h, plan.block_width, 1, plan.staged_bytes),
           stream, upsample_softmax_staged_kernel, view, planes, layout);
  } else {
    launch("upsample_softmax_direct_kernel", shape_2d(view.out_w, view.out_h, kUpsampleBlockWidth, 1), stream,
           upsample_softmax_direct_kernel, view, planes, layout);
  }
}

}  // namespace deeplab::cuda
