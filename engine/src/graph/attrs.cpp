#include "graph/attrs.h"

#include <cmath>

#include "deeplab/error.h"
#include "graph/ops.h"

namespace deeplab {
namespace {

[[noreturn]] void unsupported(const Graph& g, const Node& n, const std::string& what) {
  throw Error(ErrorCode::kUnsupported, g.source + ": " + g.describe(n) + ": " + what);
}
[[noreturn]] void corrupt(const Graph& g, const Node& n, const std::string& what) {
  throw Error(ErrorCode::kModelCorrupt, g.source + ": " + g.describe(n) + ": " + what);
}

const Value& input_value(const Graph& g, const Node& n, std::size_t k) {
  if (k >= n.inputs.size() || n.inputs[k] < 0) corrupt(g, n, "missing input " + std::to_string(k));
  return g.values[n.inputs[k]];
}

// Resolves auto_pad / pads into begin/end paddings for one spatial axis.
void resolve_pads(const Graph& g, const Node& n, std::int64_t in, int kernel, int stride, int dilation,
                  int axis, int spatial_rank, int& begin, int& end) {
  const std::string auto_pad = attr_string(g, n, "auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") {
    auto pads = attr_ints(g, n, "pads", std::vector<std::int64_t>(2 * spatial_rank, 0));
    if (static_cast<int>(pads.size()) != 2 * spatial_rank) corrupt(g, n, "'pads' has the wrong length");
    begin = static_cast<int>(pads[axis]);
    end = static_cast<int>(pads[axis + spatial_rank]);
  } else if (auto_pad == "VALID") {
    begin = end = 0;
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    const std::int64_t out = (in + stride - 1) / stride;
    const std::int64_t total =
        std::max<std::int64_t>(0, (out - 1) * stride + (kernel - 1) * dilation + 1 - in);
    const int small = static_cast<int>(total / 2), large = static_cast<int>(total - total / 2);
    begin = auto_pad == "SAME_UPPER" ? small : large;
    end = auto_pad == "SAME_UPPER" ? large : small;
  } else {
    unsupported(g, n, "auto_pad '" + auto_pad + "'");
  }
  if (begin < 0 || end < 0) corrupt(g, n, "negative padding");
}

void require_4d(const Graph& g, const Node& n, const Value& x) {
  if (!x.shape_known || x.shape.size() != 4)
    unsupported(g, n, "only 2-D spatial (4-D NCHW) tensors are supported, input is " + shape_string(x.shape));
}

}  // namespace

std::int64_t window_output(std::int64_t in, int kernel, int stride, int dilation, int pad_begin,
                           int pad_end, bool ceil_mode) {
  const std::int64_t span = in + pad_begin + pad_end - (std::int64_t{kernel} - 1) * dilation - 1;
  if (span < 0) return 0;
  std::int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  // ONNX/PyTorch: the last window must start inside the input or left padding.
  if (ceil_mode && (out - 1) * stride >= in + pad_begin) --out;
  return out;
}

ConvAttrs parse_conv(const Graph& g, const Node& n) {
  const Value& x = input_value(g, n, 0);
  const Value& w = input_value(g, n, 1);
  require_4d(g, n, x);
  if (!w.is_constant || w.shape.size() != 4 || w.dtype != DType::kFloat)
    unsupported(g, n, "weights must be a constant 4-D float tensor");
  ConvAttrs a;
  a.out_channels = static_cast<int>(w.shape[0]);
  a.kernel_h = static_cast<int>(w.shape[2]);
  a.kernel_w = static_cast<int>(w.shape[3]);
  auto ks = attr_ints(g, n, "kernel_shape", {w.shape[2], w.shape[3]});
  if (ks.size() != 2 || ks[0] != w.shape[2] || ks[1] != w.shape[3])
    corrupt(g, n, "kernel_shape disagrees with the weights " + shape_string(w.shape));
  auto strides = attr_ints(g, n, "strides", {1, 1});
  auto dil = attr_ints(g, n, "dilations", {1, 1});
  if (strides.size() != 2 || dil.size() != 2) corrupt(g, n, "strides/dilations must have 2 entries");
  a.stride_h = static_cast<int>(strides[0]);
  a.stride_w = static_cast<int>(strides[1]);
  a.dilation_h = static_cast<int>(dil[0]);
  a.dilation_w = static_cast<int>(dil[1]);
  if (a.stride_h < 1 || a.stride_w < 1 || a.dilation_h < 1 || a.dilation_w < 1)
    corrupt(g, n, "strides and dilations must be >= 1");
  a.groups = static_cast<int>(attr_int(g, n, "group", 1));
  const std::int64_t in_c = x.shape[1];
  if (a.groups < 1 || in_c % a.groups || a.out_channels % a.groups || w.shape[1] * a.groups != in_c)
    corrupt(g, n, "group " + std::to_string(a.groups) + " does not fit input channels " +
                      std::to_string(in_c) + " and weights " + shape_string(w.shape));
  resolve_pads(g, n, x.shape[2], a.kernel_h, a.stride_h, a.dilation_h, 0, 2, a.pad_top, a.pad_bottom);
  resolve_pads(g, n, x.shape[3], a.kernel_w, a.stride_w, a.dilation_w, 1, 2, a.pad_left, a.pad_right);
  if (n.inputs.size() > 2 && n.inputs[2] >= 0) {
    const Value& b = g.values[n.inputs[2]];
    if (!b.is_constant || b.dtype != DType::kFloat || b.element_count() != a.out_channels)
      unsupported(g, n, "bias must be a constant of " + std::to_string(a.out_channels) + " values");
  }
  return a;
}

PoolAttrs parse_pool(const Graph& g, const Node& n) {
  const Value& x = input_value(g, n, 0);
  require_4d(g, n, x);
  const OpDef& def = op_def(n);
  PoolAttrs a;
  a.max = def.reduce_max;
  if (def.kernel == OpKernel::kGlobalPool) {
    a.global = true;
    a.kernel_h = static_cast<int>(x.shape[2]);
    a.kernel_w = static_cast<int>(x.shape[3]);
    a.out_h = a.out_w = 1;
    return a;
  }
  auto ks = attr_ints(g, n, "kernel_shape");
  if (ks.size() != 2) corrupt(g, n, "kernel_shape must have 2 entries");
  a.kernel_h = static_cast<int>(ks[0]);
  a.kernel_w = static_cast<int>(ks[1]);
  auto strides = attr_ints(g, n, "strides", {1, 1});
  if (strides.size() != 2) corrupt(g, n, "strides must have 2 entries");
  a.stride_h = static_cast<int>(strides[0]);
  a.stride_w = static_cast<int>(strides[1]);
  if (a.kernel_h < 1 || a.kernel_w < 1 || a.stride_h < 1 || a.stride_w < 1)
    corrupt(g, n, "kernel and strides must be >= 1");
  if (attr_ints(g, n, "dilations", {1, 1}) != std::vector<std::int64_t>{1, 1})
    unsupported(g, n, "dilated pooling");
  a.ceil_mode = attr_int(g, n, "ceil_mode", 0) != 0;
  a.count_include_pad = attr_int(g, n, "count_include_pad", 0) != 0;
  if (a.max && n.outputs.size() > 1 && n.outputs[1] >= 0)
    unsupported(g, n, "the Indices output of MaxPool");
  resolve_pads(g, n, x.shape[2], a.kernel_h, a.stride_h, 1, 0, 2, a.pad_top, a.pad_bottom);
  resolve_pads(g, n, x.shape[3], a.kernel_w, a.stride_w, 1, 1, 2, a.pad_left, a.pad_right);
  a.out_h = static_cast<int>(window_output(x.shape[2], a.kernel_h, a.stride_h, 1, a.pad_top, a.pad_bottom, a.ceil_mode));
  a.out_w = static_cast<int>(window_output(x.shape[3], a.kernel_w, a.stride_w, 1, a.pad_left, a.pad_right, a.ceil_mode));
  if (a.out_h < 1 || a.out_w < 1) corrupt(g, n, "the pooling window is larger than the input");
  return a;
}

std::string ResizeAttrs::describe() const {
  static const char* coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                 "tf_half_pixel_for_nn"};
  return std::string(mode == kLinear ? "linear" : "nearest") + "/" + coords[coord];
}

namespace {

// Resize (opset 10+): coordinate transformation and nearest rounding modes; the scales (input 1 in
// opset 10, input 2 after) and sizes (input 3) when present.
void parse_resize_modes(const Graph& g, const Node& n, ResizeAttrs& a, std::vector<float>& scales,
                        std::vector<std::int64_t>& sizes) {
  const std::string coord = attr_string(
      g, n, "coordinate_transformation_mode", n.inputs.size() == 2 ? "asymmetric" : "half_pixel");  // opset 10: asymmetric
  if (coord == "half_pixel") a.coord = ResizeAttrs::kHalfPixel;
  else if (coord == "pytorch_half_pixel") a.coord = ResizeAttrs::kPytorchHalfPixel;
  else if (coord == "align_corners") a.coord = ResizeAttrs::kAlignCorners;
  else if (coord == "asymmetric") a.coord = ResizeAttrs::kAsymmetric;
  else if (coord == "tf_half_pixel_for_nn") a.coord = ResizeAttrs::kTfHalfPixelForNN;
  else unsupported(g, n, "coordinate_transformation_mode '" + coord + "'");
  const std::string nearest = attr_string(g, n, "nearest_mode", "round_prefer_floor");
  if (nearest == "round_prefer_floor") a.nearest = ResizeAttrs::kRoundPreferFloor;
  else if (nearest == "round_prefer_ceil") a.nearest = ResizeAttrs::kRoundPreferCeil;
  else if (nearest == "floor") a.nearest = ResizeAttrs::kFloor;
  else if (nearest == "ceil") a.nearest = ResizeAttrs::kCeil;
  else unsupported(g, n, "nearest_mode '" + nearest + "'");
  if (attr_int(g, n, "exclude_outside", 0) != 0) unsupported(g, n, "exclude_outside=1");
  // Opset 10: (X, scales). Opset 11+: (X, roi, scales, sizes).
  const int scales_at = n.inputs.size() == 2 ? 1 : 2;
  if (static_cast<int>(n.inputs.size()) > scales_at && n.inputs[scales_at] >= 0) {
    const Value& s = g.values[n.inputs[scales_at]];
    if (!s.is_constant) unsupported(g, n, "scales must be constant after folding");
    scales = s.f;
  }
  if (n.inputs.size() > 3 && n.inputs[3] >= 0) {
    const Value& s = g.values[n.inputs[3]];
    if (!s.is_constant) unsupported(g, n, "sizes must be constant after folding");
    sizes = s.i;
  }
}

// Output shape from sizes or scales (scales completed from sizes), then the two scaled axes:
// exactly the spatial axes of a 4-D tensor may change, NCHW (2,3) or NHWC (1,2).
void resize_output(const Graph& g, const Node& n, const Value& x, ResizeAttrs& a, std::vector<float>& scales,
                   const std::vector<std::int64_t>& sizes) {
  const std::size_t rank = x.shape.size();
  if (!sizes.empty()) {
    if (sizes.size() != rank) corrupt(g, n, "sizes has the wrong length");
    a.out_shape = sizes;
    for (std::size_t k = 0; k < rank; ++k)
      scales.push_back(static_cast<float>(sizes[k]) / static_cast<float>(x.shape[k]));
  } else {
    if (scales.size() != rank) corrupt(g, n, "needs " + std::to_string(rank) + " scales, has " + std::to_string(scales.size()));
    for (std::size_t k = 0; k < rank; ++k) {
      if (!(scales[k] > 0)) corrupt(g, n, "scales must be positive");
      const double out = std::floor(x.shape[k] * static_cast<double>(scales[k]));
      if (!(out < 1e12)) corrupt(g, n, "scales give an output too large");
      a.out_shape.push_back(static_cast<std::int64_t>(out));
    }
  }
  std::vector<int> scaled;
  for (std::size_t k = 0; k < rank; ++k)
    if (a.out_shape[k] != x.shape[k] || scales[k] != 1.0f) scaled.push_back(static_cast<int>(k));
  if (rank != 4) unsupported(g, n, "only 4-D tensors can be resized");
  if (scaled.empty()) scaled = {2, 3};
  if (scaled.size() == 1 && scaled[0] != 0) scaled = scaled[0] == 3 || scaled[0] == 2 ? std::vector<int>{2, 3} : std::vector<int>{1, 2};
  if (scaled != std::vector<int>{2, 3} && scaled != std::vector<int>{1, 2})
    unsupported(g, n, "resizing axes other than H and W");
  a.axis_h = scaled[0];
  a.axis_w = scaled[1];
}

}  // namespace

PadAttrs parse_pad(const Graph& g, const Node& n) {
  const Value& x = input_value(g, n, 0);
  if (!x.shape_known) corrupt(g, n, "input shape unknown");
  const std::string mode = attr_string(g, n, "mode", "constant");
  if (mode != "constant") unsupported(g, n, "mode '" + mode + "' (only constant padding is supported)");
  std::vector<std::int64_t> pads;
  if (n.inputs.size() > 1 && n.inputs[1] >= 0) {
    const Value& p = g.values[n.inputs[1]];
    if (!p.is_constant || p.dtype != DType::kInt64) unsupported(g, n, "the pads must be a constant int64 tensor");
    pads = p.i;
  } else {
    pads = attr_ints(g, n, "pads");
  }
  const std::size_t rank = x.shape.size();
  if (pads.size() != 2 * rank)
    corrupt(g, n, "has " + std::to_string(pads.size()) + " pads for a rank-" + std::to_string(rank) + " input");
  PadAttrs a;
  a.begin.assign(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(rank));
  a.end.assign(pads.begin() + static_cast<std::ptrdiff_t>(rank), pads.end());
  for (std::size_t k = 0; k < rank; ++k) {
    if (a.begin[k] < 0 || a.end[k] < 0) unsupported(g, n, "negative pads (cropping)");
    if (a.begin[k] > 65536 || a.end[k] > 65536) corrupt(g, n, "pads larger than 65536");
    a.out_shape.push_back(x.shape[k] + a.begin[k] + a.end[k]);
  }
  if (n.inputs.size() > 2 && n.inputs[2] >= 0) {
    const Value& v = g.values[n.inputs[2]];
    if (!v.is_constant || v.element_count() != 1) unsupported(g, n, "the pad value must be a constant scalar");
    a.value = v.dtype == DType::kFloat ? v.f[0] : static_cast<float>(v.i[0]);
  } else {
    a.value = attr_float(g, n, "value", 0.0f);
  }
  return a;
}

ResizeAttrs parse_resize(const Graph& g, const Node& n) {
  const Value& x = input_value(g, n, 0);
  if (!x.shape_known) corrupt(g, n, "input shape unknown");
  ResizeAttrs a;
  const std::string mode = attr_string(g, n, "mode", "nearest");
  if (mode == "nearest") a.mode = ResizeAttrs::kNearest;
  else if (mode == "linear" || mode == "bilinear") a.mode = ResizeAttrs::kLinear;
  else unsupported(g, n, "mode '" + mode + "'");

  std::vector<float> scales;
  std::vector<std::int64_t> sizes;
  if (op_def(n).upsample) {
    // Opset 7: scales attribute; opset 9: scales input. Coordinates: asymmetric.
    if (has_attr(n, "scales")) scales = attr_floats(g, n, "scales");
    else {
      const Value& s = input_value(g, n, 1);
      if (!s.is_constant) unsupported(g, n, "scales must be constant");
      scales = s.f;
    }
    a.coord = ResizeAttrs::kAsymmetric;
    a.nearest = ResizeAttrs::kFloor;
  } else {
    parse_resize_modes(g, n, a, scales, sizes);
  }
  resize_output(g, n, x, a, scales, sizes);
  a.scale_h = scales[a.axis_h];
  a.scale_w = scales[a.axis_w];
  a.out_h = a.out_shape[a.axis_h];
  a.out_w = a.out_shape[a.axis_w];
  if (a.out_h < 1 || a.out_w < 1) corrupt(g, n, "output size is empty");
  return a;
}

bool try_activation_of(const Graph& g, const Node& n, Activation& a) {
  a = Activation{};
  a.kind = op_def(n).activation;
  if (a.kind == Activation::kHardSigmoid) {
    a.alpha = attr_float(g, n, "alpha", 0.2f);
    a.beta = attr_float(g, n, "beta", 0.5f);
  } else if (a.kind == Activation::kClip) {
    a.alpha = attr_float(g, n, "min", -INFINITY);
    a.beta = attr_float(g, n, "max", INFINITY);
    for (std::size_t k = 1; k < 3 && k < n.inputs.size(); ++k) {
      if (n.inputs[k] < 0) continue;
      const Value& v = g.values[n.inputs[k]];
      if (!v.is_constant || v.dtype != DType::kFloat || v.f.empty()) return false;
      (k == 1 ? a.alpha : a.beta) = v.f[0];
    }
  }
  return true;
}

Activation activation_of(const Graph& g, const Node& n) {
  Activation a;
  if (!try_activation_of(g, n, a)) unsupported(g, n, "Clip bounds must be constant");
  return a;
}

}  // namespace deeplab
