#include "tflite/tflite_import.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "deeplab/error.h"
#include "tflite/tflite_reader.h"

namespace deeplab {
namespace {

using tflite::Reader;
namespace fb = tflite::fb;

// NHWC (TFLite) <-> NCHW (the IR) for 4-D shapes and axes.
std::vector<std::int64_t> to_nchw(const std::vector<std::int64_t>& s) {
  return s.size() == 4 ? std::vector<std::int64_t>{s[0], s[3], s[1], s[2]} : s;
}
int nchw_axis(int nhwc_axis) { return nhwc_axis == 0 ? 0 : nhwc_axis == 3 ? 1 : nhwc_axis + 1; }

Attr int_attr(std::int64_t v) {
  Attr a;
  a.kind = Attr::kInt;
  a.i = v;
  return a;
}
Attr ints_attr(std::vector<std::int64_t> v) {
  Attr a;
  a.kind = Attr::kInts;
  a.ints = std::move(v);
  return a;
}
Attr float_attr(float v) {
  Attr a;
  a.kind = Attr::kFloat;
  a.f = v;
  return a;
}
Attr string_attr(std::string v) {
  Attr a;
  a.kind = Attr::kString;
  a.s = std::move(v);
  return a;
}

// A PAD's result waiting for what reads it: a convolution takes a zero PAD as its own padding (how
// TFLite converters emit explicit pads); any other reader gets a Pad node (materialize_pad).
struct PendingPad {
  int input = -1;                      // the IR value PAD reads
  std::int64_t top = 0, bottom = 0, left = 0, right = 0;
  std::int64_t channel_begin = 0, channel_end = 0;  // a convolution cannot take these
};

class Importer {
 public:
  Importer(Reader& r, Graph& g) : r_(r), g_(g), values_(r.tensor_count(), -1) {}

  void run() {
    import_input();
    for (int k = 0; k < r_.operator_count(); ++k) import_op(k);
    import_outputs();
  }

 private:
  Reader& r_;
  Graph& g_;
  std::vector<int> values_;  // TFLite tensor -> IR value
  std::map<int, PendingPad> pads_;  // TFLite tensor (a PAD's output) -> its pending padding
  std::set<int> argmax_outputs_;
  std::map<int, int> argmax_input_;  // ARG_MAX output tensor -> its input tensor
  int op_index_ = 0;
  int op_code_ = 0;

  std::string where() const { return "operator #" + std::to_string(op_index_) + " " + tflite::op_name(op_code_); }
  [[noreturn]] void unsupported(const std::string& what) const { r_.unsupported(where() + ": " + what); }
  [[noreturn]] void corrupt(const std::string& what) const { r_.corrupt(where() + ": " + what); }

  std::string name_of(int t) const {
    const fb::Tensor& tensor = r_.tensor(t, where());
    return tensor.name() && tensor.name()->size() ? tensor.name()->str() : "tensor_" + std::to_string(t);
  }

  void import_input() {
    const auto* ins = r_.subgraph().inputs();
    if (!ins || ins->size() != 1)
      r_.unsupported("the model has " + std::to_string(ins ? ins->size() : 0) +
                     " inputs; exactly one image input is supported");
    const int t = ins->Get(0);
    const fb::Tensor& tensor = r_.tensor(t, "graph input");
    const auto type = tensor.type();
    if (type != fb::TensorType::FLOAT32 && type != fb::TensorType::UINT8 && type != fb::TensorType::INT8)
      r_.unsupported("input " + r_.tensor_name(t) + " has type " + fb::EnumNameTensorType(type) +
                     " (float32, uint8 and int8 are supported)");
    const auto shape = r_.shape(t);
    if (shape.size() != 4) r_.unsupported("input " + r_.tensor_name(t) + " is not 4-D NHWC");
    Value v;
    v.name = name_of(t);
    v.shape = shape;  // NHWC: the float (dequantized) image
    const int nhwc = g_.add_value(std::move(v));
    g_.inputs.push_back(nhwc);
    Node n;
    n.op = "Transpose";
    n.name = g_.values[nhwc].name + "/to_nchw";
    n.attrs["perm"] = ints_attr({0, 3, 1, 2});
    n.inputs = {nhwc};
    n.outputs = {new_value(n.name)};
    g_.nodes.push_back(std::move(n));
    values_[t] = g_.nodes.back().outputs[0];
  }

  int new_value(const std::string& name) {
    Value v;
    v.name = name;
    return g_.add_value(std::move(v));
  }

  // The IR value of an operator's input `k`: an activation produced earlier or a constant.
  int input(const fb::Operator& op, int k) {
    const int t = tensor_index(op, k);
    if (pads_.count(t) && values_[t] < 0) materialize_pad(t);
    if (argmax_outputs_.count(t)) unsupported("reads an ARG_MAX result; ARG_MAX must end the graph");
    if (values_[t] >= 0) return values_[t];
    if (!r_.is_constant(t))
      corrupt("reads tensor " + r_.tensor_name(t) + ", which no earlier operator produces");
    const auto shape = r_.shape(t);
    std::vector<float> data = r_.constant_floats(t, where());
    values_[t] = g_.add_constant(name_of(t), std::move(data), shape);
    return values_[t];
  }

  // The IR Pad node of PAD result `t` (NCHW pads: begin N, C, H, W, then end), made once.
  void materialize_pad(int t) {
    const PendingPad& p = pads_.at(t);
    const int pads = g_.add_constant_int(name_of(t) + "/pads", {0, p.channel_begin, p.top, p.left, 0, p.channel_end, p.bottom, p.right}, {8});
    add_node("Pad", {p.input, pads}, {{"mode", string_attr("constant")}}, t);
  }

  // Operator input k's tensor; a DEQUANTIZE of a constant (float16 or int8 weights) reads as that constant.
  int tensor_index(const fb::Operator& op, int k) const {
    if (!op.inputs() || k >= static_cast<int>(op.inputs()->size()) || op.inputs()->Get(k) < 0)
      corrupt("input " + std::to_string(k) + " is missing");
    const int t = op.inputs()->Get(k);
    r_.tensor(t, where());
    auto it = constant_alias_.find(t);
    return it != constant_alias_.end() ? it->second : t;
  }
  std::map<int, int> constant_alias_;

  int output_tensor(const fb::Operator& op) const {
    if (!op.outputs() || op.outputs()->size() != 1) corrupt("must have exactly one output");
    const int t = op.outputs()->Get(0);
    r_.tensor(t, where());
    if (values_[t] >= 0 || r_.is_constant(t) || pads_.count(t) || argmax_outputs_.count(t))
      corrupt("output tensor " + r_.tensor_name(t) + " is written twice or is a constant");
    return t;
  }

  // Adds a node; its output becomes TFLite tensor `t` unless `t` < 0. Returns the output value.
  // The node and its output value are named after `t`, or `name` when given.
  int add_node(const std::string& op, std::vector<int> inputs, std::map<std::string, Attr> attrs, int t,
               const std::string& name = "") {
    Node n;
    n.op = op;
    n.name = name.empty() ? name_of(t) : name;
    n.inputs = std::move(inputs);
    n.attrs = std::move(attrs);
    n.outputs = {new_value(n.name)};
    g_.nodes.push_back(std::move(n));
    const int v = g_.nodes.back().outputs[0];
    if (t >= 0) values_[t] = v;
    return v;
  }

  // Applies a fused activation to value `v` (result = tensor t); the Conv fusion pass folds it back.
  // The name of an op's own result when a fused activation follows it (then `t` names the activation).
  std::string before_act(int t, fb::ActivationFunctionType act) const {
    return act == fb::ActivationFunctionType::NONE ? name_of(t) : name_of(t) + "/pre_act";
  }

  void finish(int v, fb::ActivationFunctionType act, int t) {
    values_[t] = -1;
    switch (act) {
      case fb::ActivationFunctionType::NONE: values_[t] = v; return;
      case fb::ActivationFunctionType::RELU: add_node("Relu", {v}, {}, t); return;
      case fb::ActivationFunctionType::RELU6:
        add_node("Clip", {v}, {{"min", float_attr(0)}, {"max", float_attr(6)}}, t);
        return;
      case fb::ActivationFunctionType::RELU_N1_TO_1:
        add_node("Clip", {v}, {{"min", float_attr(-1)}, {"max", float_attr(1)}}, t);
        return;
      default: unsupported(std::string("fused activation ") + fb::EnumNameActivationFunctionType(act));
    }
  }

  // TFLite SAME padding: total = max((out-1)*stride + (k-1)*dilation + 1 - in, 0), the odd pixel after.
  static std::pair<std::int64_t, std::int64_t> same_pad(std::int64_t in, std::int64_t k, std::int64_t stride,
                                                        std::int64_t dilation) {
    const std::int64_t out = (in + stride - 1) / stride;
    const std::int64_t total = std::max<std::int64_t>((out - 1) * stride + (k - 1) * dilation + 1 - in, 0);
    return {total / 2, total - total / 2};
  }

  std::map<std::string, Attr> window_attrs(int in_t, fb::Padding padding, int kh, int kw, int sh, int sw, int dh,
                                           int dw, const PendingPad* extra) {
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1 || kh > 4096 || kw > 4096 || sh > 4096 ||
        sw > 4096 || dh > 4096 || dw > 4096)
      corrupt("invalid window (kernel " + std::to_string(kh) + "x" + std::to_string(kw) + ", stride " +
              std::to_string(sh) + "x" + std::to_string(sw) + ", dilation " + std::to_string(dh) + "x" +
              std::to_string(dw) + ")");
    const auto s = r_.shape(in_t);
    if (s.size() != 4) unsupported("input " + r_.tensor_name(in_t) + " is not 4-D");
    std::int64_t top = 0, bottom = 0, left = 0, right = 0;
    // TF's SAME is ONNX's SAME_UPPER (the odd pixel after): as auto_pad it follows the input size,
    // so the network also runs at another input size (SegmenterOptions::aspect).
    if (padding == fb::Padding::SAME && !extra)
      return {{"kernel_shape", ints_attr({kh, kw})},
              {"strides", ints_attr({sh, sw})},
              {"dilations", ints_attr({dh, dw})},
              {"auto_pad", string_attr("SAME_UPPER")}};
    if (padding == fb::Padding::SAME) {
      std::tie(top, bottom) = same_pad(s[1], kh, sh, dh);
      std::tie(left, right) = same_pad(s[2], kw, sw, dw);
    } else if (padding != fb::Padding::VALID) {
      corrupt("unknown padding " + std::to_string(static_cast<int>(padding)));
    }
    if (extra) {
      top += extra->top;
      bottom += extra->bottom;
      left += extra->left;
      right += extra->right;
    }
    return {{"kernel_shape", ints_attr({kh, kw})},
            {"strides", ints_attr({sh, sw})},
            {"dilations", ints_attr({dh, dw})},
            {"pads", ints_attr({top, left, bottom, right})}};
  }

  // A convolution's data input: a pending PAD is folded into its padding (shape of the unpadded tensor).
  int conv_data_input(const fb::Operator& op, int& in_t, PendingPad& pad) {
    in_t = tensor_index(op, 0);
    auto it = pads_.find(in_t);
    if (it == pads_.end() || it->second.channel_begin || it->second.channel_end) return input(op, 0);
    pad = it->second;
    const int v = pad.input;
    in_t = pad_source_.at(in_t);
    return v;
  }
  std::map<int, int> pad_source_;  // PAD output tensor -> PAD input tensor

  void import_conv(const fb::Operator& op, int out_t, bool depthwise) {
    int in_t = -1;
    PendingPad pad;
    const int x = conv_data_input(op, in_t, pad);
    const bool padded = pad.input >= 0;
    const int w_t = tensor_index(op, 1);
    if (!r_.is_constant(w_t)) unsupported("weights " + r_.tensor_name(w_t) + " are not constant");
    const auto ws = r_.shape(w_t);
    const auto xs = r_.shape(in_t);
    if (ws.size() != 4 || xs.size() != 4) corrupt("weights and input must be 4-D");
    const std::vector<float> w = r_.constant_floats(w_t, where());
    int sh, sw, dh = 1, dw = 1, groups = 1;
    fb::Padding padding;
    fb::ActivationFunctionType act;
    std::vector<float> oihw(w.size());
    std::vector<std::int64_t> oihw_shape;
    const std::int64_t kh = ws[1], kw = ws[2];
    if (!depthwise) {
      const auto* o = op.builtin_options_as_Conv2DOptions();
      if (!o) corrupt("Conv2DOptions missing");
      padding = o->padding(), sh = o->stride_h(), sw = o->stride_w(), dh = o->dilation_h_factor(),
      dw = o->dilation_w_factor(), act = o->fused_activation_function();
      const std::int64_t co = ws[0], ci = ws[3];
      if (ci != xs[3]) corrupt("weights " + r_.tensor_name(w_t) + " have " + std::to_string(ci) + " input channels, the input " + std::to_string(xs[3]));
      for (std::int64_t a = 0; a < co; ++a)
        for (std::int64_t y = 0; y < kh; ++y)
          for (std::int64_t z = 0; z < kw; ++z)
            for (std::int64_t c = 0; c < ci; ++c)
              oihw[((a * ci + c) * kh + y) * kw + z] = w[((a * kh + y) * kw + z) * ci + c];
      oihw_shape = {co, ci, kh, kw};
    } else {
      const auto* o = op.builtin_options_as_DepthwiseConv2DOptions();
      if (!o) corrupt("DepthwiseConv2DOptions missing");
      padding = o->padding(), sh = o->stride_h(), sw = o->stride_w(), dh = o->dilation_h_factor(),
      dw = o->dilation_w_factor(), act = o->fused_activation_function();
      const std::int64_t co = ws[3], ci = xs[3];
      if (ws[0] != 1 || co % ci != 0)
        corrupt("depthwise weights " + r_.tensor_name(w_t) + " " + shape_string(ws) + " do not fit " + std::to_string(ci) + " input channels");
      // TFLite [1, KH, KW, C*m] -> [C*m, 1, KH, KW]; group C: output o = c*m + j reads channel c.
      for (std::int64_t a = 0; a < co; ++a)
        for (std::int64_t y = 0; y < kh; ++y)
          for (std::int64_t z = 0; z < kw; ++z) oihw[(a * kh + y) * kw + z] = w[(y * kw + z) * co + a];
      oihw_shape = {co, 1, kh, kw};
      groups = static_cast<int>(ci);
    }
    auto attrs = window_attrs(in_t, padding, static_cast<int>(kh), static_cast<int>(kw), sh, sw, dh, dw,
                              padded ? &pad : nullptr);
    attrs["group"] = int_attr(groups);
    const int wv = g_.add_constant(name_of(w_t), std::move(oihw), oihw_shape);
    std::vector<int> ins = {x, wv};
    if (op.inputs()->size() > 2 && op.inputs()->Get(2) >= 0) {
      const int b_t = tensor_index(op, 2);
      if (r_.element_count(b_t) != oihw_shape[0]) corrupt("bias " + r_.tensor_name(b_t) + " has the wrong size");
      ins.push_back(g_.add_constant(name_of(b_t), r_.constant_floats(b_t, where()), {oihw_shape[0]}));
    }
    finish(add_node("Conv", ins, std::move(attrs), -1, before_act(out_t, act)), act, out_t);
  }

  void import_pool(const fb::Operator& op, int out_t, bool max) {
    const auto* o = op.builtin_options_as_Pool2DOptions();
    if (!o) corrupt("Pool2DOptions missing");
    const int in_t = tensor_index(op, 0);
    const auto act = o->fused_activation_function();
    if (is_global_window(in_t, out_t, *o)) {
      // A window over the whole feature map is global pooling: as such it follows the input size.
      finish(add_node(max ? "GlobalMaxPool" : "GlobalAveragePool", {input(op, 0)}, {}, -1, before_act(out_t, act)),
             act, out_t);
      return;
    }
    auto attrs = window_attrs(in_t, o->padding(), o->filter_height(), o->filter_width(), o->stride_h(),
                              o->stride_w(), 1, 1, nullptr);
    attrs.erase("dilations");
    if (!max) attrs["count_include_pad"] = int_attr(0);  // TFLite averages the valid pixels only
    finish(add_node(max ? "MaxPool" : "AveragePool", {input(op, 0)}, std::move(attrs), -1, before_act(out_t, act)),
           act, out_t);
  }

  bool is_global_window(int in_t, int out_t, const fb::Pool2DOptions& o) const {
    const auto in = r_.shape(in_t), out = r_.shape(out_t);
    return in.size() == 4 && out.size() == 4 && o.padding() == fb::Padding::VALID && o.filter_height() == in[1] &&
           o.filter_width() == in[2] && out[1] == 1 && out[2] == 1;
  }

  // The NCHW sizes of a resize of value `x` to the file's constant spatial size h x w. Where h x w is
  // the size of the graph input or of an activation produced earlier (the feature map a pooled
  // branch is broadcast back to), the sizes are computed from that tensor's shape, so that they
  // follow the input size; otherwise they stay constant (the model then runs at its own size only).
  int resize_sizes(int x, int out_t, std::int64_t h, std::int64_t w) {
    int ref = -1;  // the latest such value (the graph input's is its NCHW transpose)
    for (int t = 0; t < r_.tensor_count(); ++t) {
      const auto s = values_[t] >= 0 && !r_.is_constant(t) ? r_.shape(t) : std::vector<std::int64_t>{};
      if (s.size() == 4 && s[1] == h && s[2] == w) ref = std::max(ref, values_[t]);
    }
    if (ref < 0) {
      const auto nhwc = r_.shape(out_t);
      return g_.add_constant_int(name_of(out_t) + "/sizes", {nhwc[0], nhwc[3], h, w}, {4});
    }
    const int nc = add_node("Shape", {x}, {{"start", int_attr(0)}, {"end", int_attr(2)}}, -1, name_of(out_t) + "/nc");
    const int hw = add_node("Shape", {ref}, {{"start", int_attr(2)}, {"end", int_attr(4)}}, -1, name_of(out_t) + "/hw");
    return add_node("Concat", {nc, hw}, {{"axis", int_attr(0)}}, -1, name_of(out_t) + "/sizes");
  }

  // A constant operand of a broadcasting op with a 4-D activation: NHWC-broadcast shape -> NCHW.
  int broadcast_operand(const fb::Operator& op, int k, std::size_t other_rank) {
    const int t = tensor_index(op, k);
    const int v = input(op, k);
    if (other_rank != 4 || !g_.values[v].is_constant) return v;
    auto s = r_.shape(t);
    if (s.size() > 4) unsupported("operand " + r_.tensor_name(t) + " has rank " + std::to_string(s.size()));
    while (s.size() < 4) s.insert(s.begin(), 1);
    const std::int64_t h = s[1], w = s[2], c = s[3];
    const std::vector<float>& src = g_.values[v].f;
    std::vector<float> dst(src.size());
    for (std::int64_t n = 0; n < s[0]; ++n)
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x)
          for (std::int64_t ch = 0; ch < c; ++ch)
            dst[((n * c + ch) * h + y) * w + x] = src[((n * h + y) * w + x) * c + ch];
    return g_.add_constant(g_.values[v].name + "/nchw", std::move(dst), to_nchw(s));
  }

  void import_binary(const fb::Operator& op, int out_t, const char* ir_op) {
    fb::ActivationFunctionType act = fb::ActivationFunctionType::NONE;
    if (const auto* o = op.builtin_options_as_AddOptions()) act = o->fused_activation_function();
    if (const auto* o = op.builtin_options_as_MulOptions()) act = o->fused_activation_function();
    if (const auto* o = op.builtin_options_as_SubOptions()) act = o->fused_activation_function();
    const auto a = r_.shape(tensor_index(op, 0)), b = r_.shape(tensor_index(op, 1));
    const bool a_const = r_.is_constant(tensor_index(op, 0)), b_const = r_.is_constant(tensor_index(op, 1));
    if (!a_const && !b_const && a.size() != b.size() && (a.size() == 4 || b.size() == 4))
      unsupported("broadcasting a 4-D tensor against a tensor of rank " + std::to_string(std::min(a.size(), b.size())));
    const int x = broadcast_operand(op, 0, b.size() == 4 ? 4 : a.size());
    const int y = broadcast_operand(op, 1, a.size() == 4 ? 4 : b.size());
    finish(add_node(ir_op, {x, y}, {}, -1, before_act(out_t, act)), act, out_t);
  }

  void import_concat(const fb::Operator& op, int out_t) {
    const auto* o = op.builtin_options_as_ConcatenationOptions();
    if (!o) corrupt("ConcatenationOptions missing");
    const auto s = r_.shape(out_t);
    int axis = o->axis();
    const int rank = static_cast<int>(s.size());
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) corrupt("axis " + std::to_string(o->axis()) + " is out of range");
    std::vector<int> ins;
    for (int k = 0; k < static_cast<int>(op.inputs()->size()); ++k) {
      const int t = tensor_index(op, k);
      if (r_.shape(t).size() != s.size()) corrupt("inputs of different rank");
      ins.push_back(rank == 4 ? broadcast_operand(op, k, 4) : input(op, k));
    }
    const auto act = o->fused_activation_function();
    finish(add_node("Concat", ins, {{"axis", int_attr(rank == 4 ? nchw_axis(axis) : axis)}}, -1, before_act(out_t, act)),
           act, out_t);
  }

  void import_resize(const fb::Operator& op, int out_t, bool linear) {
    bool align = false, half = false;
    if (linear) {
      if (const auto* o = op.builtin_options_as_ResizeBilinearOptions()) align = o->align_corners(), half = o->half_pixel_centers();
    } else if (const auto* o = op.builtin_options_as_ResizeNearestNeighborOptions()) {
      align = o->align_corners(), half = o->half_pixel_centers();
    }
    const auto size = r_.constant_ints(tensor_index(op, 1), where());
    const auto in = r_.shape(tensor_index(op, 0));
    if (size.size() != 2 || in.size() != 4 || size[0] < 1 || size[1] < 1 || size[0] > (1 << 16) || size[1] > (1 << 16))
      corrupt("needs a 4-D input and a size of 2 positive values");
    std::map<std::string, Attr> attrs;
    attrs["mode"] = string_attr(linear ? "linear" : "nearest");
    // TF's conventions: align_corners; half_pixel_centers (bilinear: half_pixel; nearest: floor of
    // (x + 0.5) * scale, ONNX tf_half_pixel_for_nn); neither: asymmetric (nearest: floor). Nearest
    // with align_corners rounds half away from zero (coordinates are >= 0: round_prefer_ceil).
    if (align) attrs["coordinate_transformation_mode"] = string_attr("align_corners");
    else if (half) attrs["coordinate_transformation_mode"] = string_attr(linear ? "half_pixel" : "tf_half_pixel_for_nn");
    else attrs["coordinate_transformation_mode"] = string_attr("asymmetric");
    if (!linear) attrs["nearest_mode"] = string_attr(align ? "round_prefer_ceil" : "floor");
    const int x = input(op, 0);
    add_node("Resize", {x, -1, -1, resize_sizes(x, out_t, size[0], size[1])}, std::move(attrs), out_t);
  }

  void import_mean(const fb::Operator& op, int out_t) {
    const int in_t = tensor_index(op, 0);
    auto axes = r_.constant_ints(tensor_index(op, 1), where());
    const auto s = r_.shape(in_t);
    for (auto& a : axes) a = a < 0 ? a + static_cast<std::int64_t>(s.size()) : a;
    std::sort(axes.begin(), axes.end());
    if (s.size() != 4 || axes != std::vector<std::int64_t>{1, 2})
      unsupported("only a mean over H and W of a 4-D tensor (global average pooling) is supported");
    const int v = add_node("GlobalAveragePool", {input(op, 0)}, {}, -1, name_of(out_t) + "/pool");
    const auto out = r_.shape(out_t);
    if (out.size() == 4) {
      g_.values[v].name = g_.nodes.back().name = name_of(out_t);
      values_[out_t] = v;
      return;
    }
    const int shape = g_.add_constant_int(name_of(out_t) + "/shape", out, {static_cast<std::int64_t>(out.size())});
    add_node("Reshape", {v, shape}, {}, out_t);
  }

  void import_reshape(const fb::Operator& op, int out_t) {
    const auto in = r_.shape(tensor_index(op, 0));
    const auto out = r_.shape(out_t);
    if (r_.element_count(out_t) != r_.element_count(tensor_index(op, 0))) corrupt("changes the element count");
    int v = input(op, 0);
    // The IR holds 4-D tensors as NCHW: reshape the NHWC order TFLite means.
    if (in.size() == 4) v = add_node("Transpose", {v}, {{"perm", ints_attr({0, 2, 3, 1})}}, -1, name_of(out_t) + "/nhwc");
    const int shape = g_.add_constant_int(name_of(out_t) + "/shape", out, {static_cast<std::int64_t>(out.size())});
    if (out.size() != 4) {
      add_node("Reshape", {v, shape}, {}, out_t);
      return;
    }
    v = add_node("Reshape", {v, shape}, {}, -1, name_of(out_t) + "/reshape");
    add_node("Transpose", {v}, {{"perm", ints_attr({0, 3, 1, 2})}}, out_t);
  }

  void import_pad(const fb::Operator& op, int out_t) {
    const int in_t = tensor_index(op, 0);
    const auto p = r_.constant_ints(tensor_index(op, 1), where());
    if (r_.shape(in_t).size() != 4 || p.size() != 8) unsupported("only 4-D PADs are supported");
    if (p[0] || p[1]) unsupported("padding the batch axis is not supported");
    for (auto q : p)
      if (q < 0 || q > 4096) corrupt("invalid padding " + std::to_string(q));
    PendingPad pad;
    pad.input = input(op, 0);
    pad.top = p[2], pad.bottom = p[3], pad.left = p[4], pad.right = p[5];
    pad.channel_begin = p[6], pad.channel_end = p[7];
    pads_[out_t] = pad;
    pad_source_[out_t] = in_t;
  }

  // TILE (the image-pooling branch broadcast back to the feature map): a Concat of copies per axis.
  void import_tile(const fb::Operator& op, int out_t) {
    const auto in = r_.shape(tensor_index(op, 0));
    const auto multiples = r_.constant_ints(tensor_index(op, 1), where());
    if (multiples.size() != in.size()) corrupt("multiples must have one value per input axis");
    int v = input(op, 0);
    std::int64_t copies = 1;
    for (std::size_t a = 0; a < in.size(); ++a) {
      if (multiples[a] < 1 || multiples[a] > 4096) corrupt("invalid multiple " + std::to_string(multiples[a]));
      copies *= multiples[a];
    }
    if (copies > 65536) unsupported("tiles into too many copies");
    if (in.size() == 4 && in[1] == 1 && in[2] == 1 && multiples[0] == 1 && multiples[3] == 1) {
      // A 1x1 map (a pooled branch) tiled over the feature map: a broadcast, as a nearest resize
      // whose size follows the feature map's.
      add_node("Resize", {v, -1, -1, resize_sizes(v, out_t, multiples[1], multiples[2])},
               {{"mode", string_attr("nearest")}, {"coordinate_transformation_mode", string_attr("asymmetric")},
                {"nearest_mode", string_attr("floor")}},
               out_t);
      return;
    }
    std::vector<int> pending;  // axes (IR order) that still need copies
    for (std::size_t a = 0; a < in.size(); ++a)
      if (multiples[a] > 1) pending.push_back(static_cast<int>(a));
    if (pending.empty()) {
      values_[out_t] = v;
      return;
    }
    for (std::size_t k = 0; k < pending.size(); ++k) {
      const int a = pending[k];
      const int axis = in.size() == 4 ? nchw_axis(a) : a;
      const bool last = k + 1 == pending.size();
      v = add_node("Concat", std::vector<int>(static_cast<std::size_t>(multiples[a]), v), {{"axis", int_attr(axis)}},
                   last ? out_t : -1, last ? "" : name_of(out_t) + "/tile" + std::to_string(a));
    }
  }

  void import_op(int k) {
    op_index_ = k;
    op_code_ = -1;
    const fb::Operator& op = r_.op(k);
    op_code_ = r_.op_code(op, k);
    if (!op.inputs() || op.inputs()->size() == 0) corrupt("has no inputs");
    const int out_t = output_tensor(op);
    switch (op_code_) {
      case tflite::kConv2d: import_conv(op, out_t, false); break;
      case tflite::kDepthwiseConv2d: import_conv(op, out_t, true); break;
      case tflite::kAdd: import_binary(op, out_t, "Add"); break;
      case tflite::kSub: import_binary(op, out_t, "Sub"); break;
      case tflite::kMul: import_binary(op, out_t, "Mul"); break;
      case tflite::kAveragePool2d: import_pool(op, out_t, false); break;
      case tflite::kMaxPool2d: import_pool(op, out_t, true); break;
      case tflite::kMean: import_mean(op, out_t); break;
      case tflite::kConcatenation: import_concat(op, out_t); break;
      case tflite::kResizeBilinear: import_resize(op, out_t, true); break;
      case tflite::kResizeNearestNeighbor: import_resize(op, out_t, false); break;
      case tflite::kRelu: add_node("Relu", {input(op, 0)}, {}, out_t); break;
      case tflite::kRelu6: add_node("Clip", {input(op, 0)}, {{"min", float_attr(0)}, {"max", float_attr(6)}}, out_t); break;
      case tflite::kReluN1To1: add_node("Clip", {input(op, 0)}, {{"min", float_attr(-1)}, {"max", float_attr(1)}}, out_t); break;
      case tflite::kLogistic: add_node("Sigmoid", {input(op, 0)}, {}, out_t); break;
      case tflite::kHardSwish: add_node("HardSwish", {input(op, 0)}, {}, out_t); break;
      case tflite::kPad: import_pad(op, out_t); break;
      case tflite::kTile: import_tile(op, out_t); break;
      case tflite::kReshape: import_reshape(op, out_t); break;
      case tflite::kQuantize:
      case tflite::kDequantize:  // the IR runs in float: both are the identity
        if (r_.is_constant(tensor_index(op, 0))) constant_alias_[out_t] = tensor_index(op, 0);
        else values_[out_t] = input(op, 0);
        break;
      case tflite::kArgMax: {
        argmax_input_[out_t] = tensor_index(op, 0);
        input(op, 0);
        argmax_outputs_.insert(out_t);
        break;
      }
      default: r_.unsupported(where() + " is not supported (docs/models.md lists the TFLite ops the importer reads)");
    }
  }

  void import_outputs() {
    const auto* outs = r_.subgraph().outputs();
    if (!outs || outs->size() == 0) r_.corrupt("the model has no outputs");
    for (int t : *outs) {
      r_.tensor(t, "graph output");
      // An ARG_MAX output: the class scores before it are what the engine segments with.
      if (argmax_outputs_.count(t)) t = argmax_input_.at(t);
      if (pads_.count(t) && values_[t] < 0) materialize_pad(t);
      if (values_[t] < 0) r_.corrupt("graph output " + r_.tensor_name(t) + " is never produced");
      int v = values_[t];
      // Back to TFLite's NHWC (the layout the manifest's NHWC input implies for the logits too); the
      // Transpose of a channels-last tensor is free (an alias), and remove_final_resize looks through it.
      if (r_.shape(t).size() == 4) {
        Node n;
        n.op = "Transpose";
        n.name = name_of(t) + "/nhwc";
        n.attrs["perm"] = ints_attr({0, 2, 3, 1});
        n.inputs = {v};
        n.outputs = {new_value(name_of(t))};
        g_.values[v].name = name_of(t) + "/nchw";
        g_.nodes.push_back(std::move(n));
        v = g_.nodes.back().outputs[0];
      }
      if (std::find(g_.outputs.begin(), g_.outputs.end(), v) == g_.outputs.end()) g_.outputs.push_back(v);
    }
  }
};

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(ErrorCode::kNotFound, path + ": model file not found or not readable");
  std::ostringstream bytes;
  bytes << file.rdbuf();
  if (!file.good() && !file.eof()) throw Error(ErrorCode::kIo, path + ": read error");
  return bytes.str();
}

}  // namespace

bool has_tflite_identifier(const void* data, std::size_t size) {
  return size >= 8 && std::memcmp(static_cast<const char*>(data) + 4, "TFL3", 4) == 0;
}

bool is_tflite_file(const std::string& path) {
  if (path.size() >= 7 && path.compare(path.size() - 7, 7, ".tflite") == 0) return true;
  std::ifstream file(path, std::ios::binary);
  char head[8] = {};
  if (!file.read(head, 8)) return false;
  return has_tflite_identifier(head, 8);
}

namespace {

Graph import_bytes(std::string bytes, const std::string& source_name) {
  Reader reader(std::move(bytes), source_name);
  Graph g;
  g.source = source_name;
  Importer(reader, g).run();
  return g;
}

}  // namespace

Graph import_tflite_bytes(const void* data, std::size_t size, const std::string& source_name) {
  return import_bytes(std::string(static_cast<const char*>(data), size), source_name);
}

Graph import_tflite_file(const std::string& path) { return import_bytes(read_file(path), path); }

TfliteInputInfo read_tflite_input_info(const std::string& path) {
  Reader r(read_file(path), path);
  const auto* ins = r.subgraph().inputs();
  if (!ins || ins->size() != 1) r.unsupported("exactly one image input is supported");
  const int t = ins->Get(0);
  const fb::Tensor& tensor = r.tensor(t, "graph input");
  TfliteInputInfo info;
  info.name = tensor.name() ? tensor.name()->str() : "";
  info.shape = r.shape(t);
  if (info.shape.size() != 4) r.unsupported("input " + r.tensor_name(t) + " is not 4-D NHWC");
  switch (tensor.type()) {
    case fb::TensorType::FLOAT32: info.type = TfliteInputInfo::kFloat; break;
    case fb::TensorType::UINT8: info.type = TfliteInputInfo::kUint8; break;
    case fb::TensorType::INT8: info.type = TfliteInputInfo::kInt8; break;
    default: r.unsupported("input " + r.tensor_name(t) + " is neither float32, uint8 nor int8");
  }
  const auto* q = tensor.quantization();
  if (q && q->scale() && q->scale()->size() == 1) {
    info.quantized = true;
    info.scale = q->scale()->Get(0);
    info.zero_point = q->zero_point() && q->zero_point()->size() ? q->zero_point()->Get(0) : 0;
    if (!(info.scale > 0)) r.corrupt("input " + r.tensor_name(t) + " has a non-positive scale");
  }
  // Classes: the channels of the tensor ARG_MAX reads, or of the output itself.
  const auto* outs = r.subgraph().outputs();
  if (outs && outs->size() >= 1) {
    int out_t = outs->Get(0);
    for (int k = 0; k < r.operator_count(); ++k) {
      const fb::Operator& op = r.op(k);
      if (op.outputs() && op.outputs()->size() == 1 && op.outputs()->Get(0) == out_t && op.inputs() &&
          op.inputs()->size() >= 1 && r.op_code(op, k) == tflite::kArgMax)
        out_t = op.inputs()->Get(0);
    }
    const auto s = r.shape(out_t);
    if (s.size() == 4) info.classes = static_cast<int>(s[3]);
  }
  return info;
}

}  // namespace deeplab
