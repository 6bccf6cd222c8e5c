// Element strides of a value's storage, per logical dimension, and the strided copy between them:
// the layout helpers both backends and the memory plan share.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace deeplab {

// Row-major strides of `shape` (the last dimension contiguous).
std::vector<std::int64_t> plain_strides(const std::vector<std::int64_t>& shape);
// Strides of the value's physical layout (NHWC storage of a logical NCHW tensor for kChannelsLast).
std::vector<std::int64_t> physical_strides(const Value& v);

// Strided N-d copy: dst[idx] = src[idx] over `shape`, each side with its own strides (floats);
// converts between layouts (and runs the CPU's copies). Allocates nothing.
void copy_strided(float* dst, const std::vector<std::int64_t>& dst_strides, const float* src,
                  const std::vector<std::int64_t>& src_strides, const std::vector<std::int64_t>& shape);

}  // namespace deeplab
