#include "cuda/upsample_plan.h"

#include <algorithm>
#include <string>

#include "cuda/launch_geometry.h"
#include "deeplab/error.h"

namespace deeplab::cuda {

UpsamplePlan make_upsample_plan(const AxisSampling& cols, int channels, int block_width,
                                std::size_t max_shared_bytes) {
  if (channels < 1) throw Error(ErrorCode::kInvalidArgument, "upsampling " + std::to_string(channels) + " channels");
  if (block_width < 1 || block_width > kMaxBlockThreads)
    throw Error(ErrorCode::kInvalidArgument, "upsampling block of " + std::to_string(block_width) + " threads");
  const int out_w = cols.size();
  if (out_w < 1) throw Error(ErrorCode::kInvalidArgument, "upsampling to an empty output row");
  UpsamplePlan plan;
  plan.block_width = block_width;
  plan.channels = channels;
  const int blocks = static_cast<int>(ceil_div(out_w, block_width));
  plan.span_begin.resize(blocks);
  plan.span_count.resize(blocks);
  for (int b = 0; b < blocks; ++b) {
    // Min and max over the block rather than its ends: no assumption that the tables are monotonic.
    int lo = cols.index0[b * block_width], hi = lo;
    for (int x = b * block_width; x < std::min(out_w, (b + 1) * block_width); ++x) {
      lo = std::min({lo, cols.index0[x], cols.index1[x]});
      hi = std::max({hi, cols.index0[x], cols.index1[x]});
    }
    plan.span_begin[b] = lo;
    plan.span_count[b] = hi - lo + 1;
    plan.max_span = std::max(plan.max_span, hi - lo + 1);
  }
  plan.staged_bytes = static_cast<std::size_t>(plan.max_span) * channels * sizeof(float);
  plan.staged = plan.staged_bytes <= max_shared_bytes;
  return plan;
}

}  // namespace deeplab::cuda
