// Device side of the staged upsampling kernels (cuda/upsample_plan.h): the block's threads blend
// the two source rows of output row blockIdx.y vertically for the block's span of source columns
// into shared memory, then wait for each other.
#pragma once

#include "cuda/upsample_pixel.h"

namespace deeplab::cuda {

// Returns the first staged source column. Every thread of the block must call it.
__device__ inline int stage_block_row(const UpsampleView& v, float* staged) {
  const int begin = v.span_begin[blockIdx.x];
  const int count = v.span_count[blockIdx.x] * v.channels;
  for (int j = threadIdx.x; j < count; j += blockDim.x) stage_element(v, blockIdx.y, begin, j, staged);
  __syncthreads();
  return begin;
}

}  // namespace deeplab::cuda
