// Shape inference for nodes that run at inference time, one function per kind of op of the table
// (graph/ops.cpp). Every input shape is known when these run (fold.cpp checks).
#include "deeplab/error.h"
#include "graph/attrs.h"
#include "graph/fold.h"
#include "graph/fold_context.h"

namespace deeplab::ops {
namespace {

std::string where(const Graph& g, const Node& n) { return g.source + ": " + g.describe(n); }

const Value& input(const Graph& g, const Node& n, std::size_t k) {
  if (k >= n.inputs.size() || n.inputs[k] < 0)
    throw Error(ErrorCode::kModelCorrupt, where(g, n) + ": missing input " + std::to_string(k));
  return g.values[n.inputs[k]];
}

}  // namespace

std::vector<std::int64_t> same_shape(const Graph& g, const Node& n) { return input(g, n, 0).shape; }

std::vector<std::int64_t> broadcast_shape(const Graph& g, const Node& n) {
  std::vector<std::int64_t> shape = input(g, n, 0).shape;
  for (std::size_t k = 1; k < n.inputs.size(); ++k) shape = broadcast_shapes(shape, input(g, n, k).shape, where(g, n));
  return shape;
}

std::vector<std::int64_t> batchnorm_shape(const Graph& g, const Node& n) {
  const auto& s = input(g, n, 0).shape;  // scale, bias, mean, var: C floats each
  for (std::size_t k = 1; k < 5; ++k) {
    const Value& p = input(g, n, k);
    if (s.size() < 2 || !p.is_constant || p.dtype != DType::kFloat || p.element_count() != s[1])
      throw Error(ErrorCode::kUnsupported, where(g, n) + ": parameter " + std::to_string(k) +
                                               " must be a constant float tensor of one value per channel");
  }
  return s;
}

std::vector<std::int64_t> conv_shape(const Graph& g, const Node& n) {
  const ConvAttrs a = parse_conv(g, n);
  const auto& s = input(g, n, 0).shape;
  const auto oh = window_output(s[2], a.kernel_h, a.stride_h, a.dilation_h, a.pad_top, a.pad_bottom, false);
  const auto ow = window_output(s[3], a.kernel_w, a.stride_w, a.dilation_w, a.pad_left, a.pad_right, false);
  if (oh < 1 || ow < 1)
    throw Error(ErrorCode::kModelCorrupt, where(g, n) + ": output would be empty for input " + shape_string(s));
  return {s[0], a.out_channels, oh, ow};
}

std::vector<std::int64_t> pool_shape(const Graph& g, const Node& n) {
  const PoolAttrs a = parse_pool(g, n);
  const auto& s = input(g, n, 0).shape;
  return {s[0], s[1], a.out_h, a.out_w};
}

std::vector<std::int64_t> resize_shape(const Graph& g, const Node& n) { return parse_resize(g, n).out_shape; }

std::vector<std::int64_t> concat_shape(const Graph& g, const Node& n) {
  const auto& first = input(g, n, 0).shape;
  auto shape = first;
  const auto axis = normalize_axis(attr_int(g, n, "axis", 1), shape.size(), where(g, n));
  shape[axis] = 0;
  for (std::size_t k = 0; k < n.inputs.size(); ++k) {
    const auto& s = input(g, n, k).shape;
    if (s.size() != shape.size()) throw Error(ErrorCode::kModelCorrupt, where(g, n) + ": inputs differ in rank");
    for (std::size_t d = 0; d < s.size(); ++d)
      if (static_cast<std::int64_t>(d) != axis && s[d] != first[d])
        throw Error(ErrorCode::kModelCorrupt,
                    where(g, n) + ": input shapes " + shape_string(first) + " and " + shape_string(s) + " differ");
    shape[axis] += s[axis];
  }
  return shape;
}

std::vector<std::int64_t> transpose_shape(const Graph& g, const Node& n) {
  const auto& s = input(g, n, 0).shape;
  std::vector<std::int64_t> shape;
  for (auto p : transpose_perm(g, n, s.size(), where(g, n))) shape.push_back(s.at(p));
  return shape;
}

// Data is not constant, but the target shape is: fold a stand-in with zeros to get the shape.
std::vector<std::int64_t> reshape_shape(const Graph& g, const Node& n) {
  Value stand_in = input(g, n, 0);
  const auto total = stand_in.element_count();
  if (total > (1 << 26))
    throw Error(ErrorCode::kUnsupported, where(g, n) + ": reshaping large activations is not supported");
  stand_in.is_constant = true;
  stand_in.f.assign(static_cast<std::size_t>(total), 0.0f);
  stand_in.dtype = DType::kFloat;
  Graph scratch;
  scratch.source = g.source;
  Node copy = n;
  copy.inputs.clear();
  copy.outputs.clear();
  copy.inputs.push_back(scratch.add_value(stand_in));
  for (std::size_t k = 1; k < n.inputs.size(); ++k) {
    if (n.inputs[k] >= 0 && !g.values[n.inputs[k]].is_constant)
      throw Error(ErrorCode::kUnsupported, where(g, n) + ": the target shape must be constant");
    copy.inputs.push_back(n.inputs[k] >= 0 ? scratch.add_value(g.values[n.inputs[k]]) : -1);
  }
  return op_def(n).fold(FoldContext(scratch, copy)).shape;
}

}  // namespace deeplab::ops
