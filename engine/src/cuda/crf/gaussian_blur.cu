#include "cuda/crf/gaussian_blur.cuh"

#include "cuda/crf/crf_device.cuh"
#include "cuda/crf/crf_plan.h"
#include "cuda/launch.cuh"

namespace deeplab::cuda {
namespace {

// One thread per (pixel, class): consecutive threads read consecutive classes of a pixel.
__global__ void blur_columns_kernel(BlurView b, const float* in, float* cols) {
  const std::int64_t idx = global_thread();
  if (idx < static_cast<std::int64_t>(b.width) * b.height * b.classes) blur_column_step(b, in, cols, idx);
}

}  // namespace

void launch_blur_columns(const BlurView& b, const float* in, float* cols, cudaStream_t stream) {
  launch_1d("blur_columns_kernel", static_cast<std::int64_t>(b.width) * b.height * b.classes, kCrfBlock, stream,
            blur_columns_kernel, b, in, cols);
}

}  // namespace deeplab::cuda
