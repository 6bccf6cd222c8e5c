// How the upsampling kernels (cuda/upsample_argmax.cu, cuda/upsample_softmax.cu) split the work:
// one block per (run of block_width output columns, output row). A "staged" block first blends the
// two source rows vertically for just the source columns its pixels read (its span) into shared
// memory — once per source column, as the CPU blends a row once — then each thread blends
// horizontally from there. When the widest span does not fit the shared-memory budget (strong
// downscaling, many classes) the "direct" kernels blend each pixel from global memory instead.
// Plain C++, unit-tested without a GPU.
#pragma once

#include <cstddef>
#include <vector>

#include "postprocess/interpolate.h"

namespace deeplab::cuda {

inline constexpr int kUpsampleBlockWidth = 128;
// Dynamic shared memory every GPU grants without opting in. The launchers do not opt in
// (cudaFuncAttributeMaxDynamicSharedMemorySize), so a larger budget makes wide spans fail to launch.
inline constexpr std::size_t kDefaultStagingBytes = 48 * 1024;

struct UpsamplePlan {
  int block_width = kUpsampleBlockWidth;  // output columns (threads) per block
  int channels = 0;
  // Per column block b (output columns [b * block_width, min(out_w, (b + 1) * block_width))): the
  // first source column its pixels read and how many consecutive source columns cover them all.
  std::vector<int> span_begin, span_count;
  int max_span = 0;               // the largest span_count
  std::size_t staged_bytes = 0;   // shared memory of a staged block: max_span * channels floats
  bool staged = false;            // staged_bytes <= the budget: staged kernels, else direct ones
};

// Throws deeplab::Error (kInvalidArgument) for channels < 1, block_width outside 1..1024 or empty
// sampling tables.
UpsamplePlan make_upsample_plan(const AxisSampling& cols, int channels, int block_width = kUpsampleBlockWidth,
                                std::size_t max_shared_bytes = kDefaultStagingBytes);

}  // namespace deeplab::cuda
