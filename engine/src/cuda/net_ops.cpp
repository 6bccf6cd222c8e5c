#include "cuda/net_ops.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "deeplab/error.h"
#include "graph/ops.h"

namespace deeplab::cuda {
namespace {

void check_rank(std::size_t rank, const char* what) {
  if (rank > static_cast<std::size_t>(kMaxTensorRank))
    throw Error(ErrorCode::kUnsupported, std::string(what) + " of a rank-" + std::to_string(rank) +
                                             " tensor (the CUDA kernels handle up to " +
                                             std::to_string(kMaxTensorRank) + " dimensions)");
}

// Dims by descending `strides`, ties kept in logical order (the CPU's stable ordering).
std::vector<std::size_t> by_descending_stride(const std::vector<std::int64_t>& strides) {
  std::vector<std::size_t> order(strides.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return strides[a] > strides[b]; });
  return order;
}

}  // namespace

CopyParams make_copy_params(const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& src_strides,
                            const std::vector<std::int64_t>& dst_strides) {
  if (src_strides.size() != shape.size() || dst_strides.size() != shape.size())
    throw Error(ErrorCode::kInternal, "make_copy_params: " + std::to_string(shape.size()) + " dims but " +
                                          std::to_string(src_strides.size()) + "/" + std::to_string(dst_strides.size()) +
                                          " strides");
  CopyParams p;
  p.count = 1;
  for (auto d : shape) p.count *= d;
  std::vector<std::int64_t> sh, ss, ds;
  for (std::size_t k : by_descending_stride(dst_strides)) {
    if (shape[k] == 1) continue;
    if (!sh.empty() && ds.back() == dst_strides[k] * shape[k] && ss.back() == src_strides[k] * shape[k]) {
      // Contiguous with the outer neighbour on both sides: one longer dim.
      sh.back() *= shape[k];
      ds.back() = dst_strides[k];
      ss.back() = src_strides[k];
      continue;
    }
    sh.push_back(shape[k]);
    ss.push_back(src_strides[k]);
    ds.push_back(dst_strides[k]);
  }
  if (sh.empty()) sh = {1}, ss = {0}, ds = {0};
  check_rank(sh.size(), "a copy");
  p.rank = static_cast<int>(sh.size());
  for (int d = 0; d < p.rank; ++d) {
    p.shape[d] = sh[d];
    p.src_stride[d] = ss[d];
    p.dst_stride[d] = ds[d];
  }
  return p;
}

BinaryOp binary_op(deeplab::BinaryKind op) {
  switch (op) {
    case deeplab::BinaryKind::kAdd: return BinaryOp::kAdd;
    case deeplab::BinaryKind::kSub: return BinaryOp::kSub;
    case deeplab::BinaryKind::kMul: return BinaryOp::kMul;
    case deeplab::BinaryKind::kDiv: return BinaryOp::kDiv;
    case deeplab::BinaryKind::kMax: return BinaryOp::kMax;
    case deeplab::BinaryKind::kMin: return BinaryOp::kMin;
  }
  throw Error(ErrorCode::kInternal, "binary op " + std::to_string(static_cast<int>(op)));
}

BinaryParams make_binary_params(BinaryOp op, const std::vector<std::int64_t>& out_shape,
                                const std::vector<std::int64_t>& out_strides,
                                const std::vector<std::int64_t>& a_shape, const std::vector<std::int64_t>& a_strides,
                                const std::vector<std::int64_t>& b_shape, const std::vector<std::int64_t>& b_strides) {
  const std::size_t rank = out_shape.size();
  check_rank(rank, "a binary op");
  if (out_strides.size() != rank || a_shape.size() > rank || b_shape.size() > rank || a_strides.size() != a_shape.size() ||
      b_strides.size() != b_shape.size())
    throw Error(ErrorCode::kInternal, "make_binary_params: operand ranks do not fit the output's");
  // Operand dims aligned to the right; broadcast (size-1) dims read the same element.
  auto aligned = [&](const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& strides) {
    std::vector<std::int64_t> s(rank, 0);
    for (std::size_t d = 0; d < shape.size(); ++d) s[rank - shape.size() + d] = shape[d] == 1 ? 0 : strides[d];
    return s;
  };
  const auto as = aligned(a_shape, a_strides), bs = aligned(b_shape, b_strides);
  BinaryParams p;
  p.op = op;
  p.count = 1;
  for (auto d : out_shape) p.count *= d;
  for (std::size_t d : by_descending_stride(out_strides)) {
    if (out_shape[d] == 1) continue;
    p.shape[p.rank] = out_shape[d];
    p.dst_stride[p.rank] = out_strides[d];
    p.a_stride[p.rank] = as[d];
    p.b_stride[p.rank] = bs[d];
    ++p.rank;
  }
  if (p.rank == 0) {
    p.rank = 1;
    p.shape[0] = 1;
  }
  return p;
}

}  // namespace deeplab::cuda
