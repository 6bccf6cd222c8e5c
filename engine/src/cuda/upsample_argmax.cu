#include "cuda/upsample_argmax.cuh"

#include <string>

#include "cuda/launch.cuh"
#include "cuda/upsample_stage.cuh"
#include "deeplab/error.h"

namespace deeplab::cuda {
namespace {

// Grid (column blocks, out_h); block = plan.block_width threads, one per output pixel of the row.
__global__ void upsample_argmax_staged_kernel(UpsampleView v, std::uint8_t* classes) {
  extern __shared__ float staged[];
  const int begin = stage_block_row(v, staged);
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  if (x >= v.out_w) return;
  const int y = blockIdx.y;
  classes[static_cast<std::int64_t>(y) * v.out_w + x] =
      static_cast<std::uint8_t>(argmax_classes(staged_pixel(v, staged, begin, x), v.channels));
}

__global__ void upsample_argmax_direct_kernel(UpsampleView v, std::uint8_t* classes) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  if (x >= v.out_w) return;
  const int y = blockIdx.y;
  DirectPixel pixel;
  pixel.v = v;
  pixel.y = y;
  pixel.x = x;
  classes[static_cast<std::int64_t>(y) * v.out_w + x] = static_cast<std::uint8_t>(argmax_classes(pixel, v.channels));
}

}  // namespace

void launch_upsample_argmax(const UpsampleView& view, const UpsamplePlan& plan, std::uint8_t* classes,
                            cudaStream_t stream) {
  if (view.channels < 1 || view.channels > 256)
    throw Error(ErrorCode::kInvalidArgument,
                "class map of " + std::to_string(view.channels) + " classes (uint8 holds 1..256)");
  if (plan.staged) {
    if (!view.span_begin || !view.span_count || view.block_width != plan.block_width || plan.channels != view.channels)
      throw Error(ErrorCode::kInternal, "launch_upsample_argmax: view and plan disagree");
    launch("upsample_argmax_staged_kernel", shape_2d(view.out_w, view.out_h, plan.block_width, 1, plan.staged_bytes),
           stream, upsample_argmax_staged_kernel, view, classes);
  } else {
    launch("upsample_argmax_direct_kernel", shape_2d(view.out_w, view.out_h, kUpsampleBlockWidth, 1), stream,
           upsample_argmax_direct_kernel, view, classes);
  }
}

}  // namespace deeplab::cuda
