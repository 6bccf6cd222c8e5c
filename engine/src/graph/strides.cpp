#include "graph/strides.h"

#include <cstring>

#include "deeplab/error.h"

namespace deeplab {

std::vector<std::int64_t> plain_strides(const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> strides(shape.size(), 1);
  for (int k = static_cast<int>(shape.size()) - 2; k >= 0; --k) strides[k] = strides[k + 1] * shape[k + 1];
  return strides;
}

std::vector<std::int64_t> physical_strides(const Value& v) {
  const auto& s = v.shape;
  if (v.layout == Layout::kChannelsLast && s.size() == 4) return {s[2] * s[3] * s[1], 1, s[3] * s[1], s[1]};
  return plain_strides(s);
}

namespace {

void copy_recursive(float* dst, const std::int64_t* ds, const float* src, const std::int64_t* ss,
                    const std::int64_t* shape, std::size_t rank) {
  if (rank == 1) {
    if (ds[0] == 1 && ss[0] == 1) {
      std::memcpy(dst, src, static_cast<std::size_t>(shape[0]) * sizeof(float));
    } else {
      for (std::int64_t k = 0; k < shape[0]; ++k) dst[k * ds[0]] = src[k * ss[0]];
    }
    return;
  }
  for (std::int64_t k = 0; k < shape[0]; ++k)
    copy_recursive(dst + k * ds[0], ds + 1, src + k * ss[0], ss + 1, shape + 1, rank - 1);
}

}  // namespace

void copy_strided(float* dst, const std::vector<std::int64_t>& dst_strides, const float* src,
                  const std::vector<std::int64_t>& src_strides, const std::vector<std::int64_t>& shape) {
  if (shape.empty()) {
    *dst = *src;
    return;
  }
  // Put the dim with the smallest destination stride innermost, so writes are sequential. Fixed-size
  // arrays: this runs on every frame (Concat) and must not allocate.
  constexpr std::size_t kMaxRank = 16;
  if (shape.size() > kMaxRank)
    throw Error(ErrorCode::kUnsupported, "copy of a rank-" + std::to_string(shape.size()) + " tensor");
  std::size_t order[kMaxRank];
  for (std::size_t k = 0; k < shape.size(); ++k) {  // stable insertion sort (std::stable_sort allocates)
    std::size_t j = k;
    for (; j > 0 && dst_strides[order[j - 1]] < dst_strides[k]; --j) order[j] = order[j - 1];
    order[j] = k;
  }
  std::int64_t ds[kMaxRank], ss[kMaxRank], sh[kMaxRank];
  std::size_t rank = 0;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const std::size_t k = order[i];
    if (shape[k] == 1) continue;
    ds[rank] = dst_strides[k];
    ss[rank] = src_strides[k];
    sh[rank] = shape[k];
    ++rank;
  }
  if (rank == 0) {
    *dst = *src;
    return;
  }
  const std::int64_t outer = sh[0];
#pragma omp parallel for schedule(static) if (outer > 1)
  for (std::int64_t k = 0; k < outer; ++k) {
    if (rank == 1) dst[k * ds[0]] = src[k * ss[0]];
    else copy_recursive(dst + k * ds[0], ds + 1, src + k * ss[0], ss + 1, sh + 1, rank - 1);
  }
}

}  // namespace deeplab
