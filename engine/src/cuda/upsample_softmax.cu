#include "cuda/upsample_softmax.cuh"

#include "cuda/launch.cuh"
#include "cuda/upsample_stage.cuh"
#include "deeplab/error.h"

namespace deeplab::cuda {
namespace {

// Grid (column blocks, out_h); block = plan.block_width threads, one per output pixel of the row.
// Each class plane is written by consecutive threads (coalesced).
__global__ void upsample_softmax_staged_kernel(UpsampleView v, float* planes) {
  extern __shared__ float staged[];
  const int begin = stage_block_row(v, staged);
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  if (x >= v.out_w) return;
  const std::int64_t plane = static_cast<std::int64_t>(v.out_h) * v.out_w;
  softmax_classes(staged_pixel(v, staged, begin, x), v.channels,
                  planes + static_cast<std::int64_t>(blockIdx.y) * v.out_w + x, plane);
}

__global__ void upsample_softmax_direct_kernel(UpsampleView v, float* planes) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  if (x >= v.out_w) return;
  DirectPixel pixel;
  pixel.v = v;
  pixel.y = blockIdx.y;
  pixel.x = x;
  const std::int64_t plane = static_cast<std::int64_t>(v.out_h) * v.out_w;
  softmax_classes(pixel, v.channels, planes + static_cast<std::int64_t>(blockIdx.y) * v.out_w + x, plane);
}

}  // namespace

void launch_upsample_softmax(const UpsampleView& view, const UpsamplePlan& plan, float* planes, cudaStream_t stream) {
  if (view.channels < 1) throw Error(ErrorCode::kInvalidArgument, "softmax over no classes");
  if (plan.staged) {
    if (!view.span_begin || !view.span_count || view.block_width != plan.block_width || plan.channels != view.channels)
      throw Error(ErrorCode::kInternal, "launch_upsample_softmax: view and plan disagree");
    launch("upsample_softmax_staged_kernel", shape_2d(view.out_w, view.out_h, plan.block_width, 1, plan.staged_bytes),
           stream, upsample_softmax_staged_kernel, view, planes);
  } else {
    launch("upsample_softmax_direct_kernel", shape_2d(view.out_w, view.out_h, kUpsampleBlockWidth, 1), stream,
           upsample_softmax_direct_kernel, view, planes);
  }
}

}  // namespace deeplab::cuda
