#include "cuda/step_params.h"

#include <cmath>

#include "deeplab/error.h"
#include "graph/attrs.h"
#include "graph/ops.h"
#include "graph/strides.h"

namespace deeplab::cuda {

std::vector<std::int64_t> operand_strides(const Graph& g, int value) {
  const Value& v = g.values[value];
  return v.is_constant ? plain_strides(v.shape) : physical_strides(v);
}

std::vector<ConcatPart> concat_parts(const Graph& g, const Node& n) {
  const Value& out = g.values[n.outputs[0]];
  std::int64_t axis = attr_int(g, n, "axis", 1);
  if (axis < 0) axis += static_cast<std::int64_t>(out.shape.size());
  if (axis < 0 || axis >= static_cast<std::int64_t>(out.shape.size()))
    throw Error(ErrorCode::kModelCorrupt, g.source + ": " + g.describe(n) + ": axis out of range");
  const auto out_strides = physical_strides(out);
  std::vector<ConcatPart> parts;
  std::int64_t offset = 0;
  for (int in : n.inputs) {
    const Value& v = g.values[in];
    parts.push_back({in, make_copy_params(v.shape, operand_strides(g, in), out_strides), offset * out_strides[axis]});
    offset += v.shape[axis];
  }
  return parts;
}

CopyParams transpose_params(const Graph& g, const Node& n) {
  const Value& in = g.values[n.inputs[0]];
  const Value& out = g.values[n.outputs[0]];
  auto perm = attr_ints(g, n, "perm");
  if (perm.empty())
    for (std::size_t k = 0; k < in.shape.size(); ++k) perm.push_back(static_cast<std::int64_t>(in.shape.size() - 1 - k));
  const auto in_strides = operand_strides(g, n.inputs[0]);
  std::vector<std::int64_t> src_strides;
  for (auto k : perm) {
    if (k < 0 || k >= static_cast<std::int64_t>(in_strides.size()))
      throw Error(ErrorCode::kModelCorrupt, g.source + ": " + g.describe(n) + ": perm out of range");
    src_strides.push_back(in_strides[k]);
  }
  return make_copy_params(out.shape, src_strides, physical_strides(out));
}

CopyParams relayout_params(const Graph& g, const Node& n) {
  const Value& in = g.values[n.inputs[0]];
  const Value& out = g.values[n.outputs[0]];
  if (in.shape == out.shape) return make_copy_params(out.shape, operand_strides(g, n.inputs[0]), physical_strides(out));
  // A reshape that could not share storage (a plain tensor, as the plan's aliasing rule says): flat.
  return make_copy_params({out.element_count()}, {1}, {1});
}

BinaryParams binary_params(const Graph& g, const Node& n) {
  const Value& out = g.values[n.outputs[0]];
  const int a = n.inputs[0], b = n.inputs[1];
  return make_binary_params(binary_op(op_def(n).binary), out.shape, physical_strides(out), g.values[a].shape,
                            operand_strides(g, a), g.values[b].shape, operand_strides(g, b));
}

PoolParams pool_params(const Graph& g, const Node& n) {
  const PoolAttrs a = parse_pool(g, n);
  const auto& s = g.values[n.inputs[0]].shape;
  PoolParams p;
  p.batch = static_cast<int>(s[0]);
  p.channels = static_cast<int>(s[1]);
  p.in_h = static_cast<int>(s[2]);
  p.in_w = static_cast<int>(s[3]);
  p.out_h = a.out_h;
  p.out_w = a.out_w;
  p.kernel_h = a.kernel_h;
  p.kernel_w = a.kernel_w;
  p.stride_h = a.stride_h;
  p.stride_w = a.stride_w;
  p.pad_top = a.pad_top;
  p.pad_left = a.pad_left;
  p.max = a.max;
  p.count_include_pad = a.count_include_pad;
  return p;
}

GlobalPoolShape global_pool_shape(const Graph& g, const Node& n) {
  const auto& s = g.values[n.inputs[0]].shape;
  GlobalPoolShape p;
  p.max = op_def(n).reduce_max;
  p.batch = static_cast<int>(s[0]);
  p.channels = static_cast<int>(s[1]);
  p.pixels = s[2] * s[3];
  return p;
}

ResampleGeometry resize_geometry(const Graph& g, const Node& n) {
  const ResizeAttrs a = parse_resize(g, n);
  const Value& in = g.values[n.inputs[0]];
  const int channel_axis = a.axis_h == 2 ? 1 : 3;
  return make_resample_geometry(static_cast<int>(in.shape[a.axis_h]), static_cast<int>(in.shape[a.axis_w]),
                                static_cast<int>(in.shape[channel_axis]), static_cast<int>(a.out_h),
                                static_cast<int>(a.out_w), a.scale_h, a.scale_w, a);
}

ResizeParams resize_params(const ResampleGeometry& geo, int batch) {
  ResizeParams p;
  p.batch = batch;
  p.in_h = geo.in_h;
  p.in_w = geo.in_w;
  p.channels = geo.channels;
  p.out_h = geo.rows.size();
  p.out_w = geo.cols.size();
  p.nearest = geo.mode == ResizeAttrs::kNearest;
  p.row0 = geo.rows.index0.data();
  p.row1 = geo.rows.index1.data();
  p.row_w1 = geo.rows.weight1.data();
  p.col0 = geo.cols.index0.data();
  p.col1 = geo.cols.index1.data();
  p.col_w1 = geo.cols.weight1.data();
  return p;
}

ChannelAffine batchnorm_affine(const Graph& g, const Node& n) {
  const Value& x = g.values[n.inputs[0]];
  ChannelAffine a;
  a.channels = static_cast<int>(x.shape[1]);
  a.count = x.element_count();
  const float eps = attr_float(g, n, "epsilon", 1e-5f);
  const auto& gamma = g.values[n.inputs[1]].f;
  const auto& beta = g.values[n.inputs[2]].f;
  const auto& mean = g.values[n.inputs[3]].f;
  const auto& var = g.values[n.inputs[4]].f;
  const std::size_t c = static_cast<std::size_t>(a.channels);
  if (gamma.size() < c || beta.size() < c || mean.size() < c || var.size() < c)
    throw Error(ErrorCode::kModelCorrupt, g.source + ": " + g.describe(n) + ": parameters shorter than the " +
                                              std::to_string(c) + " channels");
  for (std::size_t k = 0; k < c; ++k) {
    const float s = gamma[k] / std::sqrt(var[k] + eps);
    a.scale.push_back(s);
    a.shift.push_back(beta[k] - mean[k] * s);
  }
  return a;
}

}  // namespace deeplab::cuda
