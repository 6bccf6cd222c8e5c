// Graph passes and CPU ops on synthetic models built in memory. Every model runs through
// load_cpu_network twice, with fusion on and off; both results must match a straightforward
// reference loop written here (so they also match each other), and the fused graph must have the
// shape the pass promises (node and op counts).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "graph/attrs.h"
#include "graph/passes.h"
#include "network_loader.h"
#include "onnx_builder.h"

using namespace deeplab;
using deeplab::test::OnnxAttr;
using deeplab::test::OnnxBuilder;
using deeplab::test::random_floats;
using deeplab::test::test_file_path;

namespace {

using Shape = std::vector<std::int64_t>;

// ---- reference tensors and ops (NCHW, row-major, batch 1 unless stated) ----

struct Tensor {
  Shape shape;
  std::vector<float> v;
  Tensor() = default;
  Tensor(Shape s, std::vector<float> data) : shape(std::move(s)), v(std::move(data)) {}
  explicit Tensor(Shape s) : shape(std::move(s)), v(static_cast<std::size_t>(count(shape)), 0.0f) {}
  static std::int64_t count(const Shape& s) {
    std::int64_t n = 1;
    for (auto d : s) n *= d;
    return n;
  }
  float& at(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
    return v[((n * shape[1] + c) * shape[2] + h) * shape[3] + w];
  }
  float at(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) const {
    return v[((n * shape[1] + c) * shape[2] + h) * shape[3] + w];
  }
};

Tensor random_tensor(const Shape& shape, std::uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  return Tensor(shape, random_floats(static_cast<std::size_t>(Tensor::count(shape)), seed, lo, hi));
}

struct ConvParams {
  int stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  int pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
  int groups = 1;
};

Tensor conv_ref(const Tensor& x, const Tensor& w, const std::vector<float>& bias, const ConvParams& p) {
  const auto C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const auto O = w.shape[0], CG = w.shape[1], KH = w.shape[2], KW = w.shape[3];
  const auto OH = (H + p.pad_t + p.pad_b - (KH - 1) * p.dil_h - 1) / p.stride_h + 1;
  const auto OW = (W + p.pad_l + p.pad_r - (KW - 1) * p.dil_w - 1) / p.stride_w + 1;
  EXPECT_EQ(C, CG * p.groups);
  Tensor y({x.shape[0], O, OH, OW});
  const auto OG = O / p.groups;
  for (std::int64_t n = 0; n < x.shape[0]; ++n)
    for (std::int64_t o = 0; o < O; ++o) {
      const auto g = o / OG;
      for (std::int64_t oh = 0; oh < OH; ++oh)
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          double sum = bias.empty() ? 0.0 : bias[o];
          for (std::int64_t c = 0; c < CG; ++c)
            for (std::int64_t kh = 0; kh < KH; ++kh)
              for (std::int64_t kw = 0; kw < KW; ++kw) {
                const auto ih = oh * p.stride_h - p.pad_t + kh * p.dil_h;
                const auto iw = ow * p.stride_w - p.pad_l + kw * p.dil_w;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                sum += static_cast<double>(x.at(n, g * CG + c, ih, iw)) * w.at(o, c, kh, kw);
              }
          y.at(n, o, oh, ow) = static_cast<float>(sum);
        }
    }
  return y;
}

struct PoolParams {
  int k_h = 1, k_w = 1, stride_h = 1, stride_w = 1;
  int pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
  bool ceil_mode = false, count_include_pad = false, max = true;
};

std::int64_t pool_extent(std::int64_t in, int k, int s, int pb, int pe, bool ceil_mode) {
  const double span = static_cast<double>(in + pb + pe - k) / s;
  std::int64_t out = static_cast<std::int64_t>(ceil_mode ? std::ceil(span) : std::floor(span)) + 1;
  if (ceil_mode && (out - 1) * s >= in + pb) --out;  // the last window must start inside
  return out;
}

Tensor pool_ref(const Tensor& x, const PoolParams& p) {
  const auto H = x.shape[2], W = x.shape[3];
  const auto OH = pool_extent(H, p.k_h, p.stride_h, p.pad_t, p.pad_b, p.ceil_mode);
  const auto OW = pool_extent(W, p.k_w, p.stride_w, p.pad_l, p.pad_r, p.ceil_mode);
  Tensor y({x.shape[0], x.shape[1], OH, OW});
  for (std::int64_t n = 0; n < x.shape[0]; ++n)
    for (std::int64_t c = 0; c < x.shape[1]; ++c)
      for (std::int64_t oh = 0; oh < OH; ++oh)
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          double acc = p.max ? -INFINITY : 0.0;
          int valid = 0;
          for (int kh = 0; kh < p.k_h; ++kh)
            for (int kw = 0; kw < p.k_w; ++kw) {
              const auto ih = oh * p.stride_h - p.pad_t + kh, iw = ow * p.stride_w - p.pad_l + kw;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              const float v = x.at(n, c, ih, iw);
              acc = p.max ? std::max(acc, static_cast<double>(v)) : acc + v;
              ++valid;
            }
          if (!p.max) acc /= p.count_include_pad ? p.k_h * p.k_w : valid;
          y.at(n, c, oh, ow) = static_cast<float>(acc);
        }
  return y;
}

enum class Coord { kHalfPixel, kPytorchHalfPixel, kAlignCorners, kAsymmetric };

// ONNX Resize along one axis: source coordinate of output index `o`.
double source_coord(std::int64_t o, std::int64_t in, std::int64_t out, float scale, Coord coord) {
  switch (coord) {
    case Coord::kHalfPixel: return (o + 0.5) / scale - 0.5;
    case Coord::kPytorchHalfPixel: return out > 1 ? (o + 0.5) / scale - 0.5 : 0.0;
    case Coord::kAlignCorners: return out == 1 ? 0.0 : static_cast<double>(o) * (in - 1) / (out - 1);
    case Coord::kAsymmetric: return o / static_cast<double>(scale);
  }
  return 0;
}

// Resizes H and W of an NCHW tensor. Nearest uses floor rounding; linear clamps to the edges.
// `scale_*` are output/input as the model states them (sizes given: out/in).
Tensor resize_ref(const Tensor& x, std::int64_t OH, std::int64_t OW, float scale_h, float scale_w, bool linear,
                  Coord coord) {
  const auto H = x.shape[2], W = x.shape[3];
  Tensor y({x.shape[0], x.shape[1], OH, OW});
  auto sample = [&](std::int64_t o, std::int64_t in, std::int64_t out, float scale, std::int64_t& i0,
                    std::int64_t& i1, double& w1) {
    double s = source_coord(o, in, out, scale, coord);
    if (!linear) {
      i0 = i1 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(s)), 0, in - 1);
      w1 = 0;
      return;
    }
    s = std::clamp(s, 0.0, static_cast<double>(in - 1));
    i0 = static_cast<std::int64_t>(std::floor(s));
    i1 = std::min(i0 + 1, in - 1);
    w1 = s - i0;
  };
  for (std::int64_t n = 0; n < x.shape[0]; ++n)
    for (std::int64_t c = 0; c < x.shape[1]; ++c)
      for (std::int64_t oh = 0; oh < OH; ++oh) {
        std::int64_t h0, h1;
        double wh;
        sample(oh, H, OH, scale_h, h0, h1, wh);
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          std::int64_t w0, w1i;
          double ww;
          sample(ow, W, OW, scale_w, w0, w1i, ww);
          const double top = x.at(n, c, h0, w0) * (1 - ww) + x.at(n, c, h0, w1i) * ww;
          const double bottom = x.at(n, c, h1, w0) * (1 - ww) + x.at(n, c, h1, w1i) * ww;
          y.at(n, c, oh, ow) = static_cast<float>(top * (1 - wh) + bottom * wh);
        }
      }
  return y;
}

Tensor transpose_ref(const Tensor& x, const std::vector<std::int64_t>& perm) {
  Shape shape;
  for (auto p : perm) shape.push_back(x.shape[p]);
  Tensor y(shape);
  const std::size_t rank = x.shape.size();
  std::vector<std::int64_t> in_strides(rank, 1);
  for (int k = static_cast<int>(rank) - 2; k >= 0; --k) in_strides[k] = in_strides[k + 1] * x.shape[k + 1];
  for (std::size_t f = 0; f < y.v.size(); ++f) {
    std::int64_t rem = static_cast<std::int64_t>(f), src = 0;
    for (int k = static_cast<int>(rank) - 1; k >= 0; --k) {
      const auto coord = rem % shape[k];
      rem /= shape[k];
      src += coord * in_strides[perm[k]];
    }
    y.v[f] = x.v[static_cast<std::size_t>(src)];
  }
  return y;
}

template <typename F>
Tensor map_ref(const Tensor& x, F f) {
  Tensor y = x;
  for (float& v : y.v) v = f(v);
  return y;
}

// Binary op with numpy broadcasting of 4-D operands.
template <typename F>
Tensor broadcast_ref(const Tensor& a, const Tensor& b, F f) {
  Shape shape(4);
  for (int k = 0; k < 4; ++k) shape[k] = std::max(a.shape[k], b.shape[k]);
  Tensor y(shape);
  auto pick = [](const Tensor& t, std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
    return t.at(t.shape[0] == 1 ? 0 : n, t.shape[1] == 1 ? 0 : c, t.shape[2] == 1 ? 0 : h, t.shape[3] == 1 ? 0 : w);
  };
  for (std::int64_t n = 0; n < shape[0]; ++n)
    for (std::int64_t c = 0; c < shape[1]; ++c)
      for (std::int64_t h = 0; h < shape[2]; ++h)
        for (std::int64_t w = 0; w < shape[3]; ++w) y.at(n, c, h, w) = f(pick(a, n, c, h, w), pick(b, n, c, h, w));
  return y;
}

Tensor concat_channels_ref(const std::vector<Tensor>& parts) {
  Shape shape = parts[0].shape;
  shape[1] = 0;
  for (const auto& p : parts) shape[1] += p.shape[1];
  Tensor y(shape);
  std::int64_t offset = 0;
  for (const auto& p : parts) {
    for (std::int64_t c = 0; c < p.shape[1]; ++c)
      for (std::int64_t h = 0; h < shape[2]; ++h)
        for (std::int64_t w = 0; w < shape[3]; ++w) y.at(0, offset + c, h, w) = p.at(0, c, h, w);
    offset += p.shape[1];
  }
  return y;
}

// ---- running models ----

struct RunResult {
  Tensor out;
  Graph graph;  // the optimized graph the network ran
  FinalResizeInfo final_resize;
};

struct RunOptions {
  bool fuse = true;
  bool remove_final_resize = true;
  Shape input_shape;  // empty: the model's own
};

RunResult run_model(const OnnxBuilder& b, const std::string& name, const Tensor& input, const RunOptions& o) {
  const std::string path = test_file_path(name + (o.fuse ? "_fused" : "_plain") + ".onnx");
  b.save(path);
  LoadOptions options;
  options.fuse = o.fuse;
  options.remove_final_resize = o.remove_final_resize;
  options.input_shape = o.input_shape;
  options.threads = 2;
  LoadedNetwork loaded = load_cpu_network(path, options);
  std::remove(path.c_str());
  CpuNetwork& net = *loaded.network;
  const Value& in = net.graph().values[net.input_value()];
  EXPECT_EQ(in.shape, input.shape) << name;
  if (in.shape != input.shape) throw std::runtime_error(name + ": input shape mismatch");
  net.set_input_logical(input.v.data());
  net.run();
  RunResult r;
  net.output_logical(net.output_value(), r.out.v);
  r.out.shape = net.graph().values[net.output_value()].shape;
  r.graph = net.graph();
  r.final_resize = loaded.final_resize;
  return r;
}

// Max abs difference relative to max(1, max |want|) must stay within `tol`.
::testing::AssertionResult close(const Tensor& got, const Tensor& want, float tol = 1e-4f) {
  if (got.shape != want.shape)
    return ::testing::AssertionFailure() << "shape " << shape_string(got.shape) << " != expected " << shape_string(want.shape);
  double max_err = 0, max_ref = 1;
  std::size_t worst = 0;
  for (std::size_t k = 0; k < want.v.size(); ++k) {
    const double err = std::fabs(static_cast<double>(got.v[k]) - want.v[k]);
    if (!(err <= max_err)) max_err = err, worst = k;  // NaN counts as the worst
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(want.v[k])));
  }
  if (max_err / max_ref <= tol)
    return ::testing::AssertionSuccess() << "max abs error " << max_err;
  return ::testing::AssertionFailure() << "max abs error " << max_err << " (relative " << max_err / max_ref
                                       << ", tolerance " << tol << ") at flat index " << worst << ": got "
                                       << got.v[worst] << ", expected " << want.v[worst];
}

// Runs the model with fusion on and off; both must match `want`. Returns {fused, unfused}.
std::pair<RunResult, RunResult> run_both(const OnnxBuilder& b, const std::string& name, const Tensor& input,
                                         const Tensor& want, RunOptions o = {}) {
  o.fuse = true;
  RunResult fused = run_model(b, name, input, o);
  o.fuse = false;
  RunResult plain = run_model(b, name, input, o);
  EXPECT_TRUE(close(fused.out, want)) << name << " (fused)";
  EXPECT_TRUE(close(plain.out, want)) << name << " (unfused)";
  EXPECT_TRUE(close(fused.out, plain.out)) << name << " (fused vs unfused)";
  return {std::move(fused), std::move(plain)};
}

// The ops the network runs, without layout Reorders.
std::vector<std::string> ops_of(const Graph& g) {
  std::vector<std::string> ops;
  for (const Node& n : g.nodes)
    if (n.op != "Reorder") ops.push_back(n.op);
  return ops;
}

std::string joined(const std::vector<std::string>& ops) {
  std::ostringstream s;
  for (std::size_t k = 0; k < ops.size(); ++k) s << (k ? "," : "") << ops[k];
  return s.str();
}

int count_op(const Graph& g, const std::string& op) {
  return static_cast<int>(std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.op == op; }));
}

const Node& only_node(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes)
    if (n.op == op) return n;
  throw std::runtime_error("no " + op + " node");
}

// Adds "w_<name>" (and "b_<name>" when bias) initializers and a Conv node.
Tensor add_conv(OnnxBuilder& b, const std::string& name, const std::string& in, const std::string& out,
                std::int64_t in_c, std::int64_t out_c, int kh, int kw, const ConvParams& p, std::uint32_t seed,
                bool bias, std::vector<float>* bias_out, float weight_scale = 1.0f) {
  Tensor w = random_tensor({out_c, in_c / p.groups, kh, kw}, seed, -weight_scale, weight_scale);
  b.initializer("w_" + name, w.shape, w.v);
  std::vector<std::string> inputs = {in, "w_" + name};
  if (bias) {
    *bias_out = random_floats(static_cast<std::size_t>(out_c), seed + 1000);
    b.initializer("b_" + name, {out_c}, *bias_out);
    inputs.push_back("b_" + name);
  } else {
    bias_out->clear();
  }
  b.node("Conv", inputs, {out},
         {OnnxAttr::ints("strides", {p.stride_h, p.stride_w}), OnnxAttr::ints("dilations", {p.dil_h, p.dil_w}),
          OnnxAttr::ints("pads", {p.pad_t, p.pad_l, p.pad_b, p.pad_r}), OnnxAttr::i("group", p.groups),
          OnnxAttr::ints("kernel_shape", {kh, kw})},
         name);
  return w;
}

ConvParams same3x3() {
  ConvParams p;
  p.pad_t = p.pad_l = p.pad_b = p.pad_r = 1;
  return p;
}

}  // namespace

// ===================================== fusion passes =====================================

TEST(GraphPasses, ConvBatchNormReluBecomesOneConv) {
  const std::int64_t C = 7, O = 13, H = 13, W = 11;
  OnnxBuilder b(13);
  b.input("x", {1, C, H, W});
  std::vector<float> bias;
  const Tensor w = add_conv(b, "conv", "x", "c", C, O, 3, 3, same3x3(), 1, true, &bias);
  const auto scale = random_floats(O, 2, 0.5f, 1.5f), shift = random_floats(O, 3),
             mean = random_floats(O, 4), var = random_floats(O, 5, 0.5f, 1.5f);
  b.initializer("bn_scale", {O}, scale).initializer("bn_bias", {O}, shift);
  b.initializer("bn_mean", {O}, mean).initializer("bn_var", {O}, var);
  b.node("BatchNormalization", {"c", "bn_scale", "bn_bias", "bn_mean", "bn_var"}, {"n"},
         {OnnxAttr::f("epsilon", 1e-3f)}, "bn");
  b.node("Relu", {"n"}, {"y"}, {}, "relu");
  b.output("y");

  const Tensor x = random_tensor({1, C, H, W}, 6);
  Tensor want = conv_ref(x, w, bias, same3x3());
  for (std::int64_t c = 0; c < O; ++c)
    for (std::int64_t k = 0; k < H * W; ++k) {
      float& v = want.v[c * H * W + k];
      v = std::max(0.0f, (v - mean[c]) / std::sqrt(var[c] + 1e-3f) * scale[c] + shift[c]);
    }
  auto [fused, plain] = run_both(b, "conv_bn_relu", x, want);
  EXPECT_EQ(ops_of(fused.graph), std::vector<std::string>{"Conv"}) << joined(ops_of(fused.graph));
  EXPECT_EQ(only_node(fused.graph, "Conv").activation.kind, Activation::kRelu);
  EXPECT_EQ(ops_of(plain.graph), (std::vector<std::string>{"Conv", "BatchNormalization", "Relu"}))
      << joined(ops_of(plain.graph));
}

TEST(GraphPasses, ConvAddReluBecomesConvWithResidual) {
  const std::int64_t C = 7, H = 9, W = 19;
  // a = ConvA(x); y = Relu(ConvB(a) + a): the add fuses into ConvB, whose input a is also the residual.
  OnnxBuilder b(13);
  b.input("x", {1, C, H, W});
  std::vector<float> bias_a, bias_b;
  const Tensor wa = add_conv(b, "conv_a", "x", "a", C, C, 3, 3, same3x3(), 10, true, &bias_a);
  const Tensor wb = add_conv(b, "conv_b", "a", "bb", C, C, 1, 1, ConvParams{}, 11, true, &bias_b);
  b.node("Add", {"bb", "a"}, {"s"}, {}, "add");
  b.node("Relu", {"s"}, {"y"}, {}, "relu");
  b.output("y");
  const Tensor x = random_tensor({1, C, H, W}, 12);
  const Tensor a = conv_ref(x, wa, bias_a, same3x3());
  const Tensor want = map_ref(broadcast_ref(conv_ref(a, wb, bias_b, ConvParams{}), a, std::plus<float>()),
                              [](float v) { return std::max(v, 0.0f); });
  auto [fused, plain] = run_both(b, "conv_add_relu", x, want);
  EXPECT_EQ(ops_of(fused.graph), (std::vector<std::string>{"Conv", "Conv"})) << joined(ops_of(fused.graph));
  const Node& last = fused.graph.nodes.back();
  EXPECT_EQ(last.name, "conv_b");
  EXPECT_GE(last.residual, 0);
  EXPECT_EQ(last.activation.kind, Activation::kRelu);
  EXPECT_EQ(count_op(plain.graph, "Add"), 1);
  EXPECT_EQ(count_op(plain.graph, "Relu"), 1);
}

TEST(GraphPasses, ConvAddWithTheGraphInputAsResidual) {
  const std::int64_t C = 13, H = 6, W = 10;
  // y = Relu(x + Conv(x)), the residual on the Add's first input.
  OnnxBuilder b(11);
  b.input("x", {1, C, H, W});
  std::vector<float> bias;
  const Tensor w = add_conv(b, "conv", "x", "c", C, C, 3, 3, same3x3(), 20, true, &bias);
  b.node("Add", {"x", "c"}, {"s"});
  b.node("Relu", {"s"}, {"y"});
  b.output("y");
  const Tensor x = random_tensor({1, C, H, W}, 21);
  const Tensor want = map_ref(broadcast_ref(x, conv_ref(x, w, bias, same3x3()), std::plus<float>()),
                              [](float v) { return std::max(v, 0.0f); });
  auto [fused, plain] = run_both(b, "input_residual", x, want);
  EXPECT_EQ(ops_of(fused.graph), std::vector<std::string>{"Conv"}) << joined(ops_of(fused.graph));
  const Node& conv = only_node(fused.graph, "Conv");
  EXPECT_EQ(conv.residual, fused.graph.inputs[0]);
  EXPECT_EQ(conv.activation.kind, Activation::kRelu);
  EXPECT_EQ(ops_of(plain.graph), (std::vector<std::string>{"Conv", "Add", "Relu"})) << joined(ops_of(plain.graph));
}

TEST(GraphPasses, MulByHardSigmoidBecomesHardSwishInTheConv) {
  const std::int64_t C = 7, O = 13, H = 10, W = 13;
  auto build = [&](float alpha, Tensor& w, std::vector<float>& bias) {
    OnnxBuilder b(13);
    b.input("x", {1, C, H, W});
    w = add_conv(b, "conv", "x", "c", C, O, 3, 3, same3x3(), 30, true, &bias, 2.0f);
    b.node("HardSigmoid", {"c"}, {"h"}, {OnnxAttr::f("alpha", alpha), OnnxAttr::f("beta", 0.5f)}, "hsig");
    b.node("Mul", {"c", "h"}, {"y"}, {}, "mul");
    b.output("y");
    return b;
  };
  const Tensor x = random_tensor({1, C, H, W}, 31);
  for (const float alpha : {1.0f / 6.0f, 0.2f}) {
    Tensor w;
    std::vector<float> bias;
    const OnnxBuilder b = build(alpha, w, bias);
    const Tensor c = conv_ref(x, w, bias, same3x3());
    const Tensor want = map_ref(c, [alpha](float v) { return v * std::min(std::max(alpha * v + 0.5f, 0.0f), 1.0f); });
    auto [fused, plain] = run_both(b, "hardswish", x, want);
    if (alpha == 1.0f / 6.0f) {
      EXPECT_EQ(ops_of(fused.graph), std::vector<std::string>{"Conv"}) << joined(ops_of(fused.graph));
      EXPECT_EQ(only_node(fused.graph, "Conv").activation.kind, Activation::kHardSwish);
    } else {
      // Not a HardSwish: nothing may fuse (the conv output has two consumers).
      EXPECT_EQ(ops_of(fused.graph), (std::vector<std::string>{"Conv", "HardSigmoid", "Mul"}))
          << joined(ops_of(fused.graph));
    }
    EXPECT_EQ(ops_of(plain.graph), (std::vector<std::string>{"Conv", "HardSigmoid", "Mul"}))
        << joined(ops_of(plain.graph));
  }
}

TEST(GraphPasses, ClipAsAttributesAndAsInputsFusesAsRelu6) {
  const std::int64_t C = 13, O = 7, H = 9, W = 15;
  const Tensor x = random_tensor({1, C, H, W}, 40, -2.0f, 2.0f);
  for (const int opset : {9, 11, 13}) {
    OnnxBuilder b(opset);
    b.input("x", {1, C, H, W});
    std::vector<float> bias;
    const Tensor w = add_conv(b, "conv", "x", "c", C, O, 3, 3, same3x3(), 41, true, &bias, 1.0f);
    if (opset < 11) {
      b.node("Clip", {"c"}, {"y"}, {OnnxAttr::f("min", 0.0f), OnnxAttr::f("max", 6.0f)}, "relu6");
    } else {
      b.initializer("lo", {}, {0.0f}).initializer("hi", {}, {6.0f});
      b.node("Clip", {"c", "lo", "hi"}, {"y"}, {}, "relu6");
    }
    b.output("y");
    const Tensor c = conv_ref(x, w, bias, same3x3());
    const Tensor want = map_ref(c, [](float v) { return std::min(std::max(v, 0.0f), 6.0f); });
    ASSERT_GT(*std::max_element(c.v.begin(), c.v.end()), 6.0f) << "the test must reach the upper bound";
    auto [fused, plain] = run_both(b, "clip" + std::to_string(opset), x, want);
    EXPECT_EQ(ops_of(fused.graph), std::vector<std::string>{"Conv"}) << "opset " << opset;
    const Activation& act = only_node(fused.graph, "Conv").activation;
    EXPECT_EQ(act.kind, Activation::kClip) << "opset " << opset;
    EXPECT_EQ(act.alpha, 0.0f);
    EXPECT_EQ(act.beta, 6.0f);
    EXPECT_EQ(ops_of(plain.graph), (std::vector<std::string>{"Conv", "Clip"})) << "opset " << opset;
  }
}

TEST(GraphPasses, IdentityAndDropoutAreRemoved) {
  const std::int64_t C = 7, H = 8, W = 9;
  for (const int opset : {9, 13}) {
    OnnxBuilder b(opset);
    b.input("x", {1, C, H, W});
    std::vector<float> bias;
    const Tensor w = add_conv(b, "conv", "x", "c", C, C, 3, 3, same3x3(), 50, true, &bias);
    b.node("Identity", {"c"}, {"i1"});
    if (opset < 12) b.node("Dropout", {"i1"}, {"d", "mask"}, {OnnxAttr::f("ratio", 0.5f)});
    else b.node("Dropout", {"i1"}, {"d"});
    b.node("Relu", {"d"}, {"r"});
    b.node("Identity", {"r"}, {"y"});
    b.output("y");
    const Tensor x = random_tensor({1, C, H, W}, 51);
    const Tensor want = map_ref(conv_ref(x, w, bias, same3x3()), [](float v) { return std::max(v, 0.0f); });
    auto [fused, plain] = run_both(b, "identity" + std::to_string(opset), x, want);
    for (const RunResult* r : {&fused, &plain}) {
      EXPECT_EQ(count_op(r->graph, "Identity"), 0) << joined(ops_of(r->graph));
      EXPECT_EQ(count_op(r->graph, "Dropout"), 0) << joined(ops_of(r->graph));
      EXPECT_EQ(r->graph.values[r->graph.outputs[0]].name, "y") << "the graph output keeps its ONNX name";
    }
    EXPECT_EQ(ops_of(fused.graph), std::vector<std::string>{"Conv"});
    EXPECT_EQ(ops_of(plain.graph), (std::vector<std::string>{"Conv", "Relu"}));
  }
}

// ===================================== constant folding =====================================

namespace {

// torchvision-style dynamic export: Resize(f, sizes = Cast(Concat(Shape(f)[0:2], H(x), W(x)))).
OnnxBuilder dynamic_resize_model(int opset, Tensor& w, std::vector<float>& bias, const ConvParams& p) {
  OnnxBuilder b(opset);
  b.input("x", {1, 3, -1, -1});
  w = add_conv(b, "backbone", "x", "f", 3, 5, 3, 3, p, 60, true, &bias);
  add_dynamic_resize_sizes(b, opset, "x", "f");
  const std::vector<OnnxAttr> attrs = {OnnxAttr::s("mode", "linear"),
                                       OnnxAttr::s("coordinate_transformation_mode", "pytorch_half_pixel")};
  if (opset >= 13) {
    b.node("Resize", {"f", "", "", "sizes"}, {"y"}, attrs, "final_resize");
  } else {
    b.initializer("roi", {0}, {}).initializer("no_scales", {0}, {});
    b.node("Resize", {"f", "roi", "no_scales", "sizes"}, {"y"}, attrs, "final_resize");
  }
  b.output("y");
  return b;
}

const std::vector<std::string> kShapeOps = {"Shape", "Gather", "Unsqueeze", "Concat", "Cast", "Slice", "Div"};

void expect_no_shape_ops(const Graph& g, const std::string& what) {
  for (const auto& op : kShapeOps) EXPECT_EQ(count_op(g, op), 0) << what << ": " << joined(ops_of(g));
}

}  // namespace

TEST(ConstantFolding, ShapeChainIntoResizeSizesFoldsForEachInputSize) {
  ConvParams p = same3x3();
  p.stride_h = p.stride_w = 2;
  for (const int opset : {11, 13}) {
    Tensor w;
    std::vector<float> bias;
    const OnnxBuilder b = dynamic_resize_model(opset, w, bias, p);
    for (const Shape& shape : {Shape{1, 3, 17, 23}, Shape{1, 3, 32, 9}}) {
      const std::string what = "opset " + std::to_string(opset) + " input " + shape_string(shape);
      const Tensor x = random_tensor(shape, 61);
      const Tensor f = conv_ref(x, w, bias, p);
      const Tensor want = resize_ref(f, shape[2], shape[3], float(shape[2]) / f.shape[2], float(shape[3]) / f.shape[3],
                                     true, Coord::kPytorchHalfPixel);
      RunOptions o;
      o.input_shape = shape;
      o.remove_final_resize = false;
      auto [fused, plain] = run_both(b, "dyn_resize", x, want, o);
      EXPECT_EQ(fused.out.shape, (Shape{1, 5, shape[2], shape[3]})) << what;
      EXPECT_EQ(ops_of(fused.graph), (std::vector<std::string>{"Conv", "Resize"})) << what << ": " << joined(ops_of(fused.graph));
      expect_no_shape_ops(plain.graph, what);
      // With final-resize removal the same chain yields the backbone's low-resolution output.
      o.remove_final_resize = true;
      o.fuse = true;
      const RunResult low = run_model(b, "dyn_resize_low", x, o);
      EXPECT_TRUE(low.final_resize.removed) << what;
      EXPECT_TRUE(close(low.out, f)) << what;
    }
  }
}

TEST(ConstantFolding, Opset9UpsampleScalesFoldForEachInputSize) {
  ConvParams p = same3x3();
  p.stride_h = p.stride_w = 2;
  for (const bool computed_scales : {false, true}) {
    OnnxBuilder b(9);
    b.input("x", {1, 3, -1, -1});
    std::vector<float> bias;
    const Tensor w = add_conv(b, "backbone", "x", "f", 3, 5, 3, 3, p, 70, true, &bias);
    if (computed_scales) {
      // PyTorch opset-9 style: scales = [1, 1] ++ float(H(x) / H(f), W(x) / W(f)).
      b.initializer_int64("hw_idx", {2}, {2, 3});
      b.node("Shape", {"x"}, {"sx"});
      b.node("Gather", {"sx", "hw_idx"}, {"x_hw"}, {OnnxAttr::i("axis", 0)});
      b.node("Shape", {"f"}, {"sf"});
      b.node("Gather", {"sf", "hw_idx"}, {"f_hw"}, {OnnxAttr::i("axis", 0)});
      b.node("Div", {"x_hw", "f_hw"}, {"ratio"});
      b.node("Cast", {"ratio"}, {"ratio_f"}, {OnnxAttr::i("to", onnx::TensorProto::FLOAT)});
      b.constant("ones", {2}, {1.0f, 1.0f});
      b.node("Concat", {"ones", "ratio_f"}, {"scales"}, {OnnxAttr::i("axis", 0)});
    } else {
      b.constant("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
    }
    b.node("Upsample", {"f", "scales"}, {"y"}, {OnnxAttr::s("mode", "linear")}, "upsample");
    b.output("y");
    for (const Shape& shape : {Shape{1, 3, 18, 26}, Shape{1, 3, 12, 40}}) {
      const std::string what = std::string(computed_scales ? "computed" : "constant") + " scales, input " + shape_string(shape);
      const Tensor x = random_tensor(shape, 71);
      const Tensor f = conv_ref(x, w, bias, p);
      const Tensor want = resize_ref(f, shape[2], shape[3], 2.0f, 2.0f, true, Coord::kAsymmetric);
      RunOptions o;
      o.input_shape = shape;
      o.remove_final_resize = false;
      auto [fused, plain] = run_both(b, "upsample9", x, want, o);
      EXPECT_EQ(fused.out.shape, (Shape{1, 5, shape[2], shape[3]})) << what;
      EXPECT_EQ(ops_of(fused.graph), (std::vector<std::string>{"Conv", "Upsample"})) << what;
      expect_no_shape_ops(plain.graph, what);
    }
  }
}

// ===================================== final resize =====================================

TEST(FinalResize, ConvThenResizeBackToInputSize) {
  const std::int64_t H = 20, W = 28, O = 6;
  ConvParams p = same3x3();
  p.stride_h = p.stride_w = 2;
  OnnxBuilder b(13);
  b.input("x", {1, 3, H, W});
  std::vector<float> bias;
  const Tensor w = add_conv(b, "classifier", "x", "logits", 3, O, 3, 3, p, 80, true, &bias);
  b.initializer_int64("sizes", {4}, {1, O, H, W});
  b.node("Resize", {"logits", "", "", "sizes"}, {"y"},
         {OnnxAttr::s("mode", "linear"), OnnxAttr::s("coordinate_transformation_mode", "pytorch_half_pixel")},
         "upsample_logits");
  b.output("y");
  const Tensor x = random_tensor({1, 3, H, W}, 81);
  const Tensor low = conv_ref(x, w, bias, p);
  ASSERT_EQ(low.shape, (Shape{1, O, 10, 14}));
  const Tensor full = resize_ref(low, H, W, float(H) / 10, float(W) / 14, true, Coord::kPytorchHalfPixel);

  RunOptions o;
  o.remove_final_resize = true;
  auto [removed, removed_plain] = run_both(b, "final_resize_on", x, low, o);
  EXPECT_TRUE(removed.final_resize.removed);
  EXPECT_EQ(removed.final_resize.attrs.mode, ResizeAttrs::kLinear);
  EXPECT_EQ(removed.final_resize.attrs.coord, ResizeAttrs::kPytorchHalfPixel);
  EXPECT_EQ(removed.final_resize.attrs.out_h, H);
  EXPECT_EQ(removed.final_resize.attrs.out_w, W);
  EXPECT_EQ(count_op(removed.graph, "Resize"), 0);
  EXPECT_EQ(removed.graph.values[removed.final_resize.logits_value].shape, (Shape{1, O, 10, 14}));

  o.remove_final_resize = false;
  auto [kept, kept_plain] = run_both(b, "final_resize_off", x, full, o);
  EXPECT_FALSE(kept.final_resize.removed);
  EXPECT_EQ(count_op(kept.graph, "Resize"), 1);
}

TEST(FinalResize, TfStyleUpsampleThenTransposeToNhwc) {
  // NHWC input -> Transpose to NCHW -> Conv -> Upsample x2 (opset 9) -> Transpose back to NHWC.
  const std::int64_t H = 16, W = 24, O = 5;
  ConvParams p;
  p.stride_h = p.stride_w = 2;
  p.pad_b = p.pad_r = 1;  // TF "SAME" for stride 2: all padding at the end
  OnnxBuilder b(9);
  b.input("image", {1, H, W, 3});
  b.node("Transpose", {"image"}, {"nchw"}, {OnnxAttr::ints("perm", {0, 3, 1, 2})});
  std::vector<float> bias;
  const Tensor w = add_conv(b, "logits_conv", "nchw", "logits", 3, O, 3, 3, p, 90, true, &bias);
  b.constant("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
  b.node("Upsample", {"logits", "scales"}, {"up"}, {OnnxAttr::s("mode", "linear")}, "ResizeBilinear_3");
  b.node("Transpose", {"up"}, {"y"}, {OnnxAttr::ints("perm", {0, 2, 3, 1})});
  b.output("y");
  const Tensor x_nhwc = random_tensor({1, H, W, 3}, 91);
  const Tensor low = conv_ref(transpose_ref(x_nhwc, {0, 3, 1, 2}), w, bias, p);
  ASSERT_EQ(low.shape, (Shape{1, O, H / 2, W / 2}));
  const Tensor full = resize_ref(low, H, W, 2.0f, 2.0f, true, Coord::kAsymmetric);

  RunOptions o;
  o.remove_final_resize = true;
  auto [removed, removed_plain] = run_both(b, "tf_final_on", x_nhwc, transpose_ref(low, {0, 2, 3, 1}), o);
  EXPECT_TRUE(removed.final_resize.removed);
  EXPECT_EQ(removed.final_resize.attrs.coord, ResizeAttrs::kAsymmetric);
  EXPECT_EQ(count_op(removed.graph, "Upsample"), 0);
  EXPECT_EQ(removed.out.shape, (Shape{1, H / 2, W / 2, O}));

  o.remove_final_resize = false;
  auto [kept, kept_plain] = run_both(b, "tf_final_off", x_nhwc, transpose_ref(full, {0, 2, 3, 1}), o);
  EXPECT_FALSE(kept.final_resize.removed);
  EXPECT_EQ(kept.out.shape, (Shape{1, H, W, O}));
}

// ===================================== CPU ops =====================================

TEST(CpuOps, ConvStridesDilationsGroupsAndPads) {
  struct Case {
    std::int64_t c, o, h, w;
    int kh, kw;
    ConvParams p;
    bool bias;
    const char* what;
  };
  auto params = [](int sh, int sw, int dh, int dw, int t, int l, int bo, int r, int groups) {
    ConvParams p;
    p.stride_h = sh, p.stride_w = sw, p.dil_h = dh, p.dil_w = dw;
    p.pad_t = t, p.pad_l = l, p.pad_b = bo, p.pad_r = r;
    p.groups = groups;
    return p;
  };
  const Case cases[] = {
      {7, 13, 9, 19, 3, 3, params(2, 2, 1, 1, 1, 1, 1, 1, 1), true, "stride 2"},
      {7, 13, 10, 21, 3, 3, params(1, 2, 1, 1, 1, 1, 1, 1, 1), true, "stride 1x2"},
      {1, 7, 11, 13, 3, 3, params(1, 1, 2, 2, 2, 2, 2, 2, 1), true, "dilation 2, C=1"},
      {13, 13, 10, 15, 3, 3, params(1, 1, 1, 1, 1, 1, 1, 1, 13), true, "depthwise"},
      {7, 7, 15, 9, 3, 3, params(2, 2, 1, 1, 0, 0, 1, 1, 7), false, "depthwise stride 2, pads at the end"},
      {13, 13, 12, 11, 3, 3, params(1, 1, 4, 4, 4, 4, 4, 4, 13), true, "depthwise dilation 4"},
      {14, 6, 7, 9, 3, 3, params(1, 1, 1, 1, 1, 1, 1, 1, 2), true, "groups 2"},
      {7, 1, 8, 21, 3, 5, params(1, 1, 1, 1, 0, 1, 2, 3, 1), true, "asymmetric pads, 3x5 kernel"},
      {13, 7, 12, 17, 3, 3, params(2, 2, 2, 2, 0, 2, 1, 0, 1), true, "stride 2 dilation 2 asymmetric pads"},
      {13, 1, 5, 11, 1, 1, params(1, 1, 1, 1, 0, 0, 0, 0, 1), false, "1x1 to one channel"},
  };
  std::uint32_t seed = 100;
  for (const Case& k : cases) {
    OnnxBuilder b(13);
    b.input("x", {1, k.c, k.h, k.w});
    std::vector<float> bias;
    const Tensor w = add_conv(b, "conv", "x", "y", k.c, k.o, k.kh, k.kw, k.p, seed++, k.bias, &bias);
    b.output("y");
    const Tensor x = random_tensor({1, k.c, k.h, k.w}, seed++);
    run_both(b, std::string("conv_") + std::to_string(seed), x, conv_ref(x, w, bias, k.p));
    if (HasFailure()) {
      ADD_FAILURE() << "case: " << k.what;
      return;
    }
  }
}

TEST(CpuOps, ConvAutoPadSameUpper) {
  // auto_pad SAME_UPPER, stride 2 on odd sizes: total padding split with the extra at the end.
  const std::int64_t C = 7, O = 13, H = 11, W = 13;
  Tensor w = random_tensor({O, C, 3, 3}, 110);
  OnnxBuilder b(13);
  b.input("x", {1, C, H, W});
  b.initializer("w", w.shape, w.v);
  b.node("Conv", {"x", "w"}, {"y"}, {OnnxAttr::s("auto_pad", "SAME_UPPER"), OnnxAttr::ints("strides", {2, 2})});
  b.output("y");
  const Tensor x = random_tensor({1, C, H, W}, 111);
  ConvParams p;
  p.stride_h = p.stride_w = 2;
  p.pad_t = p.pad_l = p.pad_b = p.pad_r = 1;  // out = ceil(11/2) = 6: total (6-1)*2+3-11 = 2 -> 1 + 1
  const Tensor want = conv_ref(x, w, {}, p);
  ASSERT_EQ(want.shape, (Shape{1, O, 6, 7}));
  run_both(b, "conv_same_upper", x, want);
}

TEST(CpuOps, MaxPoolWithCeilModeAndPads) {
  struct Case { std::int64_t c, h, w; PoolParams p; };
  auto pool = [](int k, int s, int pad, bool ceil_mode) {
    PoolParams p;
    p.k_h = p.k_w = k;
    p.stride_h = p.stride_w = s;
    p.pad_t = p.pad_l = p.pad_b = p.pad_r = pad;
    p.ceil_mode = ceil_mode;
    return p;
  };
  PoolParams asym = pool(3, 2, 0, false);
  asym.k_w = 2, asym.pad_l = 1, asym.pad_b = 1;
  const Case cases[] = {{7, 13, 11, pool(3, 2, 1, true)},  {1, 10, 10, pool(3, 2, 0, true)},
                        {13, 9, 15, pool(2, 2, 0, true)},  {7, 12, 17, pool(3, 1, 1, false)},
                        {13, 8, 9, asym}};
  std::uint32_t seed = 200;
  for (const Case& k : cases) {
    OnnxBuilder b(13);
    b.input("x", {1, k.c, k.h, k.w});
    b.node("MaxPool", {"x"}, {"y"},
           {OnnxAttr::ints("kernel_shape", {k.p.k_h, k.p.k_w}), OnnxAttr::ints("strides", {k.p.stride_h, k.p.stride_w}),
            OnnxAttr::ints("pads", {k.p.pad_t, k.p.pad_l, k.p.pad_b, k.p.pad_r}),
            OnnxAttr::i("ceil_mode", k.p.ceil_mode ? 1 : 0)});
    b.output("y");
    const Tensor x = random_tensor({1, k.c, k.h, k.w}, seed++);
    run_both(b, "maxpool", x, pool_ref(x, k.p));
  }
}

TEST(CpuOps, AveragePoolCountIncludePad) {
  std::uint32_t seed = 300;
  for (const int include : {0, 1})
    for (const bool ceil_mode : {false, true}) {
      if (include && ceil_mode) continue;  // ceil windows past the padding: ONNX leaves the divisor vague
      for (const std::int64_t C : {1, 7, 13}) {
        PoolParams p;
        p.max = false;
        p.k_h = 3, p.k_w = 3, p.stride_h = 2, p.stride_w = 2;
        p.pad_t = p.pad_l = p.pad_b = p.pad_r = 1;
        p.count_include_pad = include != 0;
        p.ceil_mode = ceil_mode;
        const std::int64_t H = 10, W = 13;
        OnnxBuilder b(13);
        b.input("x", {1, C, H, W});
        b.node("AveragePool", {"x"}, {"y"},
               {OnnxAttr::ints("kernel_shape", {3, 3}), OnnxAttr::ints("strides", {2, 2}),
                OnnxAttr::ints("pads", {1, 1, 1, 1}), OnnxAttr::i("count_include_pad", include),
                OnnxAttr::i("ceil_mode", ceil_mode ? 1 : 0)});
        b.output("y");
        const Tensor x = random_tensor({1, C, H, W}, seed++);
        run_both(b, "avgpool", x, pool_ref(x, p));
        if (HasFailure()) {
          ADD_FAILURE() << "count_include_pad " << include << " ceil_mode " << ceil_mode << " C " << C;
          return;
        }
      }
    }
}

TEST(CpuOps, GlobalAveragePool) {
  for (const std::int64_t C : {1, 7, 13}) {
    const std::int64_t H = 7, W = 9;
    OnnxBuilder b(13);
    b.input("x", {1, C, H, W});
    b.node("GlobalAveragePool", {"x"}, {"y"});
    b.output("y");
    const Tensor x = random_tensor({1, C, H, W}, 400 + static_cast<std::uint32_t>(C));
    Tensor want({1, C, 1, 1});
    for (std::int64_t c = 0; c < C; ++c) {
      double sum = 0;
      for (std::int64_t k = 0; k < H * W; ++k) sum += x.v[c * H * W + k];
      want.v[c] = static_cast<float>(sum / (H * W));
    }
    run_both(b, "gap", x, want);
  }
}

TEST(CpuOps, ConcatOnChannels) {
  const std::int64_t C = 7, H = 5, W = 13;
  const Tensor x = random_tensor({1, C, H, W}, 500);
  {  // Mixed producers: a conv (channels-last), an activation and the graph input itself.
    OnnxBuilder b(13);
    b.input("x", {1, C, H, W});
    std::vector<float> bias;
    const Tensor w = add_conv(b, "conv", "x", "a", C, 13, 3, 3, same3x3(), 501, true, &bias);
    b.node("Relu", {"x"}, {"r"});
    b.node("Concat", {"a", "r", "x"}, {"y"}, {OnnxAttr::i("axis", 1)});
    b.output("y");
    const Tensor want = concat_channels_ref(
        {conv_ref(x, w, bias, same3x3()), map_ref(x, [](float v) { return std::max(v, 0.0f); }), x});
    run_both(b, "concat_mixed", x, want);
  }
  {  // Plain-layout inputs, negative axis, a 1-channel constant part.
    OnnxBuilder b(13);
    b.input("x", {1, C, H, W});
    const Tensor k = random_tensor({1, 1, H, W}, 502);
    b.initializer("k", k.shape, k.v);
    b.node("Sigmoid", {"x"}, {"s"});
    b.node("Relu", {"x"}, {"r"});
    b.node("Concat", {"s", "k", "r"}, {"y"}, {OnnxAttr::i("axis", -3)});
    b.output("y");
    const Tensor want = concat_channels_ref({map_ref(x, [](float v) { return 1.0f / (1.0f + std::exp(-v)); }), k,
                                             map_ref(x, [](float v) { return std::max(v, 0.0f); })});
    run_both(b, "concat_plain", x, want);
  }
}

TEST(CpuOps, TransposeGeneralPermutations) {
  const std::int64_t C = 7, H = 5, W = 13;
  const Tensor x = random_tensor({1, C, H, W}, 600);
  const std::vector<std::vector<std::int64_t>> perms = {{0, 2, 3, 1}, {0, 3, 1, 2}, {2, 0, 3, 1},
                                                        {0, 1, 3, 2}, {3, 2, 1, 0}, {1, 0, 2, 3}};
  for (const auto& perm : perms) {
    std::string what = "perm";
    for (auto p : perm) what += "_" + std::to_string(p);
    {  // From the plain graph input.
      OnnxBuilder b(13);
      b.input("x", {1, C, H, W});
      b.node("Transpose", {"x"}, {"y"}, {OnnxAttr::ints("perm", perm)});
      b.output("y");
      run_both(b, "transpose_" + what, x, transpose_ref(x, perm));
    }
    {  // From a conv's channels-last output.
      OnnxBuilder b(13);
      b.input("x", {1, C, H, W});
      std::vector<float> bias;
      const Tensor w = add_conv(b, "conv", "x", "c", C, 13, 1, 1, ConvParams{}, 601, true, &bias);
      b.node("Transpose", {"c"}, {"y"}, {OnnxAttr::ints("perm", perm)});
      b.output("y");
      run_both(b, "conv_transpose_" + what, x, transpose_ref(conv_ref(x, w, bias, ConvParams{}), perm));
    }
  }
}

TEST(CpuOps, BroadcastingMulAndAdd) {
  const std::int64_t C = 13, H = 7, W = 11;
  const Tensor x = random_tensor({1, C, H, W}, 700);
  const auto mul = [](float a, float b) { return a * b; };
  const auto add = [](float a, float b) { return a + b; };
  // y = x op k, or k op x, with k an initializer, on both paths against `want`.
  const auto with_constant = [&](const char* op, const Tensor& k, bool k_first, const std::string& name,
                                 const Tensor& want) {
    OnnxBuilder b(13);
    b.input("x", {1, C, H, W});
    b.initializer("k", k.shape, k.v);
    b.node(op, k_first ? std::vector<std::string>{"k", "x"} : std::vector<std::string>{"x", "k"}, {"y"});
    b.output("y");
    run_both(b, name, x, want);
  };
  {  // [1,C,H,W] * constant [1,C,1,1]
    const Tensor s = random_tensor({1, C, 1, 1}, 701);
    with_constant("Mul", s, false, "mul_const", broadcast_ref(x, s, mul));
  }
  {  // Squeeze-excitation style: Conv(x) * GlobalAveragePool(Conv(x)), both activations.
    OnnxBuilder b(13);
    b.input("x", {1, C, H, W});
    std::vector<float> bias;
    const Tensor w = add_conv(b, "conv", "x", "c", C, 7, 3, 3, same3x3(), 702, true, &bias);
    b.node("GlobalAveragePool", {"c"}, {"g"});
    b.node("Mul", {"g", "c"}, {"y"});
    b.output("y");
    const Tensor c = conv_ref(x, w, bias, same3x3());
    Tensor g({1, 7, 1, 1});
    for (std::int64_t k = 0; k < 7; ++k) {
      double sum = 0;
      for (std::int64_t p = 0; p < H * W; ++p) sum += c.v[k * H * W + p];
      g.v[k] = static_cast<float>(sum / (H * W));
    }
    run_both(b, "mul_gap", x, broadcast_ref(g, c, mul));
  }
  {  // [1,C,H,W] + constant [1,1,H,W], constant first.
    const Tensor t = random_tensor({1, 1, H, W}, 703);
    with_constant("Add", t, true, "add_const_plane", broadcast_ref(t, x, add));
  }
  {  // Conv(x) [1,C,H,W] (channels-last) + Conv1(x) [1,1,H,W].
    OnnxBuilder b(13);
    b.input("x", {1, C, H, W});
    std::vector<float> bias_a, bias_b;
    const Tensor wa = add_conv(b, "conv_a", "x", "a", C, 7, 3, 3, same3x3(), 704, true, &bias_a);
    const Tensor wb = add_conv(b, "conv_b", "x", "p", C, 1, 1, 1, ConvParams{}, 705, true, &bias_b);
    b.node("Add", {"a", "p"}, {"y"});
    b.output("y");
    run_both(b, "add_plane", x,
             broadcast_ref(conv_ref(x, wa, bias_a, same3x3()), conv_ref(x, wb, bias_b, ConvParams{}), add));
  }
}

TEST(CpuOps, ResizeNearestAndLinearAgainstOnnxFormulas) {
  struct Case {
    std::int64_t c, h, w, oh, ow;
    bool linear;
    Coord coord;
    const char* coord_name;
    const char* nearest_mode;
  };
  const Case cases[] = {
      {7, 13, 11, 29, 30, false, Coord::kAsymmetric, "asymmetric", "floor"},
      {1, 29, 17, 13, 9, false, Coord::kAsymmetric, "asymmetric", "floor"},
      {13, 5, 6, 20, 18, false, Coord::kAsymmetric, "asymmetric", "floor"},
      {7, 13, 11, 29, 30, true, Coord::kHalfPixel, "half_pixel", "round_prefer_floor"},
      {13, 29, 17, 13, 9, true, Coord::kHalfPixel, "half_pixel", "round_prefer_floor"},
      {1, 4, 9, 31, 33, true, Coord::kHalfPixel, "half_pixel", "round_prefer_floor"},
      {7, 13, 11, 29, 30, true, Coord::kAlignCorners, "align_corners", "round_prefer_floor"},
      {13, 29, 17, 13, 9, true, Coord::kAlignCorners, "align_corners", "round_prefer_floor"},
      {7, 9, 9, 33, 33, true, Coord::kPytorchHalfPixel, "pytorch_half_pixel", "round_prefer_floor"},
  };
  std::uint32_t seed = 800;
  for (const Case& k : cases) {
    const std::string what = std::string(k.linear ? "linear/" : "nearest/") + k.coord_name + " " +
                             std::to_string(k.h) + "x" + std::to_string(k.w) + "->" + std::to_string(k.oh) + "x" +
                             std::to_string(k.ow) + " C=" + std::to_string(k.c);
    OnnxBuilder b(13);
    b.input("x", {1, k.c, k.h, k.w});
    b.initializer_int64("sizes", {4}, {1, k.c, k.oh, k.ow});
    b.node("Resize", {"x", "", "", "sizes"}, {"y"},
           {OnnxAttr::s("mode", k.linear ? "linear" : "nearest"),
            OnnxAttr::s("coordinate_transformation_mode", k.coord_name), OnnxAttr::s("nearest_mode", k.nearest_mode)});
    b.output("y");
    const Tensor x = random_tensor({1, k.c, k.h, k.w}, seed++);
    const Tensor want = resize_ref(x, k.oh, k.ow, float(k.oh) / float(k.h), float(k.ow) / float(k.w), k.linear, k.coord);
    RunOptions o;
    o.remove_final_resize = false;
    run_both(b, "resize", x, want, o);
    if (HasFailure()) {
      ADD_FAILURE() << "case: " << what;
      return;
    }
  }
  {  // Scales instead of sizes (opset 13), nearest asymmetric floor: out = floor(in * scale).
    OnnxBuilder b(13);
    b.input("x", {1, 7, 6, 10});
    b.initializer("scales", {4}, {1.0f, 1.0f, 2.5f, 1.5f});
    b.node("Resize", {"x", "", "scales"}, {"y"},
           {OnnxAttr::s("mode", "nearest"), OnnxAttr::s("coordinate_transformation_mode", "asymmetric"),
            OnnxAttr::s("nearest_mode", "floor")});
    b.output("y");
    const Tensor x = random_tensor({1, 7, 6, 10}, seed++);
    RunOptions o;
    o.remove_final_resize = false;
    run_both(b, "resize_scales", x, resize_ref(x, 15, 15, 2.5f, 1.5f, false, Coord::kAsymmetric), o);
  }
}
