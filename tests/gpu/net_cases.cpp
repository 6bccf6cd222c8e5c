#include "net_cases.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>

#include "network_loader.h"
#include "onnx_builder.h"

namespace deeplab::test {
namespace {

using Ints = std::vector<std::int64_t>;

// A Conv node with "w_<name>" (and "b_<name>") initializers, weights uniform in +-1/sqrt(fan-in).
void conv(OnnxBuilder& b, const std::string& name, const std::string& in, const std::string& out, std::int64_t in_c,
          std::int64_t out_c, int k, std::vector<OnnxAttr> attrs, std::uint32_t seed, bool bias = true,
          std::int64_t groups = 1) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(in_c / groups * k * k));
  b.initializer("w_" + name, {out_c, in_c / groups, k, k},
                random_floats(static_cast<std::size_t>(out_c * (in_c / groups) * k * k), seed, -scale, scale));
  std::vector<std::string> inputs = {in, "w_" + name};
  if (bias) {
    b.initializer("b_" + name, {out_c}, random_floats(static_cast<std::size_t>(out_c), seed + 1, -0.5f, 0.5f));
    inputs.push_back("b_" + name);
  }
  attrs.push_back(OnnxAttr::ints("kernel_shape", {k, k}));
  attrs.push_back(OnnxAttr::i("group", groups));
  b.node("Conv", inputs, {out}, attrs, name);
}

std::vector<OnnxAttr> pads(std::int64_t p) { return {OnnxAttr::ints("pads", {p, p, p, p})}; }

// Conv 3x3 + BatchNorm + Relu (folded, cuDNN's fused ReLU); depthwise stride 2 + Clip(0, 6);
// 1x1 + x * HardSigmoid(x) (HardSwish); dilated + Sigmoid; SAME_UPPER stride 2 on an even size
// (asymmetric padding: pre-padded) + HardSigmoid; 1x1 without activation.
void conv_zoo(OnnxBuilder& b) {
  b.input("x", {1, 3, 23, 31});
  conv(b, "c1", "x", "c1", 3, 13, 3, pads(1), 11);
  b.initializer("bn_s", {13}, random_floats(13, 21, 0.5f, 1.5f));
  b.initializer("bn_b", {13}, random_floats(13, 22, -0.3f, 0.3f));
  b.initializer("bn_m", {13}, random_floats(13, 23, -0.3f, 0.3f));
  b.initializer("bn_v", {13}, random_floats(13, 24, 0.5f, 2.0f));
  b.node("BatchNormalization", {"c1", "bn_s", "bn_b", "bn_m", "bn_v"}, {"bn"});
  b.node("Relu", {"bn"}, {"r1"});
  std::vector<OnnxAttr> dw = pads(1);
  dw.push_back(OnnxAttr::ints("strides", {2, 2}));
  conv(b, "c2", "r1", "c2", 13, 13, 3, dw, 31, true, 13);
  b.initializer("lo", {}, {0.0f});
  b.initializer("hi", {}, {6.0f});
  b.node("Clip", {"c2", "lo", "hi"}, {"r2"});
  conv(b, "c3", "r2", "c3", 13, 7, 1, {}, 41, false);
  b.node("HardSigmoid", {"c3"}, {"hs"}, {OnnxAttr::f("alpha", 1.0f / 6), OnnxAttr::f("beta", 0.5f)});
  b.node("Mul", {"c3", "hs"}, {"r3"});
  std::vector<OnnxAttr> dil = pads(2);
  dil.push_back(OnnxAttr::ints("dilations", {2, 2}));
  conv(b, "c4", "r3", "c4", 7, 7, 3, dil, 51);
  b.node("Sigmoid", {"c4"}, {"r4"});
  conv(b, "c5", "r4", "c5", 7, 5, 3, {OnnxAttr::s("auto_pad", "SAME_UPPER"), OnnxAttr::ints("strides", {2, 2})}, 61);
  b.node("HardSigmoid", {"c5"}, {"r5"}, {OnnxAttr::f("alpha", 0.2f), OnnxAttr::f("beta", 0.5f)});
  conv(b, "c6", "r5", "y", 5, 9, 1, {}, 71);
  b.output("y");
}

// Residuals: one that dies at its conv (accumulates in place), one still needed afterwards (added
// from its own storage), one that is also the conv's input.
void residuals(OnnxBuilder& b) {
  b.input("x", {1, 8, 17, 19});
  conv(b, "a", "x", "a0", 8, 8, 3, pads(1), 101);
  b.node("Relu", {"a0"}, {"a"});
  conv(b, "b", "a", "b", 8, 8, 3, pads(1), 111);
  b.node("Add", {"b", "a"}, {"s1p"});
  b.node("Relu", {"s1p"}, {"s1"});
  conv(b, "d", "s1", "d0", 8, 8, 3, pads(1), 121);
  b.node("Relu", {"d0"}, {"d"});
  conv(b, "e", "d", "e", 8, 8, 1, {}, 131, false);
  b.node("Add", {"s1", "e"}, {"s3p"});
  b.node("Relu", {"s3p"}, {"s3"});
  conv(b, "f", "s3", "f", 8, 8, 3, pads(1), 141);
  b.node("Add", {"f", "s3"}, {"s4"});
  b.node("Concat", {"s4", "s3"}, {"y"}, {OnnxAttr::i("axis", 1)});
  b.output("y");
}

// x of `shape` through one stride-2 pooling node `op` with `kernel`, `pads` and the `extra` attributes.
void pool_case(OnnxBuilder& b, const char* op, std::vector<std::int64_t> shape, std::vector<std::int64_t> kernel,
               std::vector<std::int64_t> pads, std::vector<OnnxAttr> extra) {
  b.input("x", shape);
  std::vector<OnnxAttr> attrs = {OnnxAttr::ints("kernel_shape", kernel), OnnxAttr::ints("strides", {2, 2}),
                                 OnnxAttr::ints("pads", pads)};
  attrs.insert(attrs.end(), extra.begin(), extra.end());
  b.node(op, {"x"}, {"y"}, attrs);
  b.output("y");
}

void maxpool_ceil(OnnxBuilder& b) {
  pool_case(b, "MaxPool", {1, 6, 15, 22}, {3, 3}, {1, 1, 1, 1}, {OnnxAttr::i("ceil_mode", 1)});
}

void avgpool_exclude_ceil(OnnxBuilder& b) {
  pool_case(b, "AveragePool", {1, 6, 15, 22}, {3, 3}, {1, 1, 1, 1},
            {OnnxAttr::i("ceil_mode", 1), OnnxAttr::i("count_include_pad", 0)});
}

void avgpool_include_pad(OnnxBuilder& b) {
  pool_case(b, "AveragePool", {1, 5, 13, 10}, {2, 3}, {0, 1, 1, 1}, {OnnxAttr::i("count_include_pad", 1)});
}

// Squeeze-and-excitation style broadcasting, then constants broadcast along C, W and H, and
// element-wise max/min against the input.
void broadcasting(OnnxBuilder& b) {
  b.input("x", {1, 5, 7, 9});
  b.node("GlobalAveragePool", {"x"}, {"g"});
  b.node("Mul", {"x", "g"}, {"y1"});
  b.node("GlobalMaxPool", {"x"}, {"gm"});
  b.node("Add", {"y1", "gm"}, {"y1b"});
  b.initializer("c_c", {5, 1, 1}, random_floats(5, 201));
  b.node("Add", {"y1b", "c_c"}, {"y2"});
  b.initializer("c_w", {9}, random_floats(9, 202));
  b.node("Sub", {"y2", "c_w"}, {"y3"});
  b.initializer("c_h", {1, 1, 7, 1}, random_floats(7, 203, 0.5f, 2.0f));
  b.node("Div", {"y3", "c_h"}, {"y4"});
  b.initializer("c_s", {1}, {-0.25f});
  b.node("Max", {"y4", "c_s"}, {"y5"});
  b.node("Min", {"y5", "x"}, {"y"});
  b.output("y");
}

// Linear half_pixel up, nearest (asymmetric, floor) down, align_corners up, opset-9 style
// Upsample-equivalent asymmetric nearest.
void resizes(OnnxBuilder& b) {
  b.input("x", {1, 4, 6, 5});
  b.initializer_int64("s1", {4}, {1, 4, 13, 11});
  b.node("Resize", {"x", "", "", "s1"}, {"r1"}, {OnnxAttr::s("mode", "linear")});
  b.initializer("sc2", {4}, {1.0f, 1.0f, 0.5f, 0.5f});
  b.node("Resize", {"r1", "", "sc2"}, {"r2"},
         {OnnxAttr::s("mode", "nearest"), OnnxAttr::s("coordinate_transformation_mode", "asymmetric"),
          OnnxAttr::s("nearest_mode", "floor")});
  b.initializer_int64("s3", {4}, {1, 4, 9, 14});
  b.node("Resize", {"r2", "", "", "s3"}, {"r3"},
         {OnnxAttr::s("mode", "linear"), OnnxAttr::s("coordinate_transformation_mode", "align_corners")});
  b.initializer("sc4", {4}, {1.0f, 1.0f, 2.0f, 1.5f});
  b.node("Resize", {"r3", "", "sc4"}, {"y"},
         {OnnxAttr::s("mode", "linear"), OnnxAttr::s("coordinate_transformation_mode", "pytorch_half_pixel")});
  b.output("y");
}

// A channels-last tensor transposed to NHWC (aliased), transposed generally (copied), flattened.
void transposes(OnnxBuilder& b) {
  b.input("x", {1, 3, 4, 5});
  b.node("MaxPool", {"x"}, {"p"}, {OnnxAttr::ints("kernel_shape", {1, 1})});
  b.node("Transpose", {"p"}, {"t1"}, {OnnxAttr::ints("perm", {0, 2, 3, 1})});
  b.node("Transpose", {"t1"}, {"t2"}, {OnnxAttr::ints("perm", {0, 2, 1, 3})});
  b.node("Relu", {"t2"}, {"t3"});
  b.node("Transpose", {"x"}, {"t4"}, {OnnxAttr::ints("perm", {0, 3, 2, 1})});
  b.node("Flatten", {"t4"}, {"f1"}, {OnnxAttr::i("axis", 1)});
  b.node("Flatten", {"t3"}, {"f2"}, {OnnxAttr::i("axis", 1)});
  b.node("Sub", {"f2", "f1"}, {"y"});
  b.output("y");
}

// A TF-style model: NHWC input, transposed to NCHW for a conv and back.
void nhwc_input(OnnxBuilder& b) {
  b.input("x", {1, 11, 13, 3});
  b.node("Transpose", {"x"}, {"t"}, {OnnxAttr::ints("perm", {0, 3, 1, 2})});
  conv(b, "c", "t", "c", 3, 6, 3, pads(1), 301);
  b.initializer("lo", {}, {0.0f});
  b.initializer("hi", {}, {6.0f});
  b.node("Clip", {"c", "lo", "hi"}, {"r"});
  b.node("Transpose", {"r"}, {"y"}, {OnnxAttr::ints("perm", {0, 2, 3, 1})});
  b.output("y");
}

// BatchNormalization with no conv before it, then a standalone Relu and HardSwish.
void batchnorm_standalone(OnnxBuilder& b) {
  b.input("x", {1, 6, 9, 10});
  b.node("Add", {"x", "x"}, {"a"});
  b.initializer("s", {6}, random_floats(6, 401, 0.5f, 1.5f));
  b.initializer("bb", {6}, random_floats(6, 402));
  b.initializer("m", {6}, random_floats(6, 403));
  b.initializer("v", {6}, random_floats(6, 404, 0.5f, 2.0f));
  b.node("BatchNormalization", {"a", "s", "bb", "m", "v"}, {"bn"});
  b.node("Relu", {"bn"}, {"r"});
  b.node("HardSwish", {"a"}, {"h"});
  b.node("Add", {"r", "h"}, {"y"});
  b.output("y");
}

// Concat of a channels-last activation with a constant, along channels.
void concat_constant(OnnxBuilder& b) {
  b.input("x", {1, 4, 5, 6});
  b.node("MaxPool", {"x"}, {"p"}, {OnnxAttr::ints("kernel_shape", {1, 1})});
  b.initializer("k", {1, 2, 5, 6}, random_floats(60, 501));
  b.node("Concat", {"p", "k", "x"}, {"y"}, {OnnxAttr::i("axis", 1)});
  b.output("y");
}

// A miniature DeepLabv3 head: backbone convs, ASPP (1x1, two dilated 3x3, image pooling upsampled
// back), projection, classifier, and the final Resize back to the input size.
void mini_deeplab(OnnxBuilder& b) {
  b.input("x", {1, 3, 33, 41});
  std::vector<OnnxAttr> s2 = pads(1);
  s2.push_back(OnnxAttr::ints("strides", {2, 2}));
  conv(b, "stem", "x", "stem0", 3, 16, 3, s2, 601);
  b.node("Relu", {"stem0"}, {"stem"});
  conv(b, "dw", "stem", "dw0", 16, 16, 3, s2, 611, true, 16);
  b.node("Relu", {"dw0"}, {"dw"});
  conv(b, "pw", "dw", "f", 16, 24, 1, {}, 621);
  conv(b, "aspp0", "f", "a0p", 24, 12, 1, {}, 631);
  b.node("Relu", {"a0p"}, {"a0"});
  std::vector<OnnxAttr> d2 = pads(2), d3 = pads(3);
  d2.push_back(OnnxAttr::ints("dilations", {2, 2}));
  d3.push_back(OnnxAttr::ints("dilations", {3, 3}));
  conv(b, "aspp1", "f", "a1p", 24, 12, 3, d2, 641);
  b.node("Relu", {"a1p"}, {"a1"});
  conv(b, "aspp2", "f", "a2p", 24, 12, 3, d3, 651);
  b.node("Relu", {"a2p"}, {"a2"});
  b.node("GlobalAveragePool", {"f"}, {"gp"});
  conv(b, "aspp_pool", "gp", "gpc0", 24, 12, 1, {}, 661);
  b.node("Relu", {"gpc0"}, {"gpc"});
  b.initializer_int64("gp_size", {4}, {1, 12, 9, 11});
  b.node("Resize", {"gpc", "", "", "gp_size"}, {"a3"}, {OnnxAttr::s("mode", "linear")});
  b.node("Concat", {"a0", "a1", "a2", "a3"}, {"cat"}, {OnnxAttr::i("axis", 1)});
  conv(b, "proj", "cat", "pr0", 48, 16, 1, {}, 671);
  b.node("Relu", {"pr0"}, {"pr"});
  conv(b, "cls", "pr", "logits", 16, 21, 1, {}, 681);
  b.initializer_int64("out_size", {4}, {1, 21, 33, 41});
  b.node("Resize", {"logits", "", "", "out_size"}, {"y"}, {OnnxAttr::s("mode", "linear")});
  b.output("y");
}

// The models are written once per process and removed when it exits.
std::vector<std::string>& written_files() {
  static std::vector<std::string> files;
  return files;
}

void remove_written_files() {
  for (const std::string& path : written_files()) std::remove(path.c_str());
}

void save(const OnnxBuilder& b, const std::string& path) {
  static std::once_flag registered;
  std::call_once(registered, [] { std::atexit(remove_written_files); });
  b.save(path);
  written_files().push_back(path);
}

struct Recipe {
  const char* name;
  std::function<void(OnnxBuilder&)> build;
  bool has_conv;
};

}  // namespace

const std::vector<NetCase>& net_cases() {
  static const std::vector<NetCase> cases = [] {
    const Recipe recipes[] = {
        {"conv_zoo", conv_zoo, true},
        {"residuals", residuals, true},
        {"maxpool_ceil", maxpool_ceil, false},
        {"avgpool_exclude_ceil", avgpool_exclude_ceil, false},
        {"avgpool_include_pad", avgpool_include_pad, false},
        {"broadcasting", broadcasting, false},
        {"resizes", resizes, false},
        {"transposes", transposes, false},
        {"nhwc_input", nhwc_input, true},
        {"batchnorm_standalone", batchnorm_standalone, false},
        {"concat_constant", concat_constant, false},
        {"mini_deeplab", mini_deeplab, true},
    };
    std::vector<NetCase> out;
    for (const Recipe& r : recipes) {
      OnnxBuilder b(13);
      r.build(b);
      NetCase c;
      c.name = r.name;
      c.onnx_path = test_file_path(std::string("netcase_") + r.name + ".onnx");
      c.input_shape.clear();
      for (const auto& d : b.graph().input(0).type().tensor_type().shape().dim()) c.input_shape.push_back(d.dim_value());
      c.has_conv = r.has_conv;
      save(b, c.onnx_path);
      out.push_back(c);
    }
    return out;
  }();
  return cases;
}

Graph load_case_graph(const NetCase& c) {
  LoadOptions options;
  options.input_shape = c.input_shape;
  options.remove_final_resize = false;
  return load_optimized_graph(c.onnx_path, options, nullptr);
}

std::vector<float> case_input(const NetCase& c, unsigned seed) {
  std::int64_t count = 1;
  for (auto d : c.input_shape) count *= d;
  return random_floats(static_cast<std::size_t>(count), seed, -2.0f, 2.0f);
}

const std::vector<UnsupportedCase>& unsupported_cases() {
  static const std::vector<UnsupportedCase> cases = [] {
    std::vector<UnsupportedCase> out;
    for (const char* op : {"Softmax", "LeakyRelu", "Tanh", "Exp", "Neg", "Abs"}) {
      OnnxBuilder b(13);
      b.input("x", {1, 4, 6, 7});
      b.node("Relu", {"x"}, {"r"}, {}, "first_relu");
      const std::string node_name = std::string("the_") + op;
      b.node(op, {"r"}, {"y"}, {}, node_name);
      b.output("y");
      UnsupportedCase c{op, node_name, test_file_path(std::string("unsupported_") + op + ".onnx")};
      save(b, c.onnx_path);
      out.push_back(c);
    }
    return out;
  }();
  return cases;
}

}  // namespace deeplab::test
