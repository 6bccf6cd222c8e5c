#include "seeds.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "onnx_builder.h"
#include "tflite_builder.h"

namespace deeplab::fuzz {
namespace {

using test::OnnxAttr;
using test::OnnxBuilder;
using test::random_floats;
using Shape = std::vector<std::int64_t>;

std::int64_t count_of(const Shape& s) {
  std::int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

void conv(OnnxBuilder& b, const std::string& name, const std::string& in, const std::string& out, std::int64_t c,
          std::int64_t o, int k, std::vector<OnnxAttr> attrs, std::uint32_t seed, std::int64_t groups = 1) {
  const Shape w = {o, c / groups, k, k};
  b.initializer(name + "_w", w, random_floats(static_cast<std::size_t>(count_of(w)), seed));
  b.initializer(name + "_b", {o}, random_floats(static_cast<std::size_t>(o), seed + 1));
  attrs.push_back(OnnxAttr::i("group", groups));
  b.node("Conv", {in, name + "_w", name + "_b"}, {out}, attrs, name);
}

std::vector<OnnxAttr> pad1() { return {OnnxAttr::ints("pads", {1, 1, 1, 1})}; }

void conv_bn_relu(OnnxBuilder& b) {
  b.input("x", {1, 3, 8, 8});
  conv(b, "conv", "x", "c", 3, 4, 3, pad1(), 1);
  b.initializer("s", {4}, random_floats(4, 3, 0.5f, 1.5f)).initializer("t", {4}, random_floats(4, 4));
  b.initializer("m", {4}, random_floats(4, 5)).initializer("v", {4}, random_floats(4, 6, 0.5f, 1.5f));
  b.node("BatchNormalization", {"c", "s", "t", "m", "v"}, {"n"}, {OnnxAttr::f("epsilon", 1e-5f)});
  b.node("Relu", {"n"}, {"y"});
  b.output("y");
}

void residual(OnnxBuilder& b) {
  b.input("x", {1, 4, 6, 7});
  conv(b, "a", "x", "ya", 4, 4, 3, pad1(), 10);
  conv(b, "b", "ya", "yb", 4, 4, 1, {}, 12);
  b.node("Add", {"yb", "ya"}, {"s"});
  b.node("Relu", {"s"}, {"y"});
  b.output("y");
}

void hardswish(OnnxBuilder& b) {
  b.input("x", {1, 3, 7, 9});
  conv(b, "conv", "x", "c", 3, 5, 3, {OnnxAttr::ints("strides", {2, 2}), OnnxAttr::ints("pads", {1, 1, 1, 1})}, 20);
  b.node("HardSigmoid", {"c"}, {"h"}, {OnnxAttr::f("alpha", 1.0f / 6), OnnxAttr::f("beta", 0.5f)});
  b.node("Mul", {"c", "h"}, {"hs"});
  b.node("Sigmoid", {"hs"}, {"y"});
  b.output("y");
}

void clip_maxpool_opset9(OnnxBuilder& b) {
  b.input("x", {1, 3, 9, 11});
  conv(b, "conv", "x", "c", 3, 6, 3, pad1(), 30, 3);
  b.node("Clip", {"c"}, {"r6"}, {OnnxAttr::f("min", 0.0f), OnnxAttr::f("max", 6.0f)});
  b.node("MaxPool", {"r6"}, {"p"},
         {OnnxAttr::ints("kernel_shape", {3, 3}), OnnxAttr::ints("strides", {2, 2}),
          OnnxAttr::ints("pads", {1, 1, 1, 1}), OnnxAttr::i("ceil_mode", 1)});
  b.node("Dropout", {"p"}, {"d", "mask"}, {OnnxAttr::f("ratio", 0.1f)});
  b.node("Identity", {"d"}, {"y"});
  b.output("y");
}

void dynamic_resize(OnnxBuilder& b) {
  b.input("x", {1, 3, -1, -1});
  conv(b, "backbone", "x", "f", 3, 4, 3, {OnnxAttr::ints("strides", {2, 2}), OnnxAttr::ints("pads", {1, 1, 1, 1})}, 40);
  add_dynamic_resize_sizes(b, 11, "x", "f");
  b.initializer("roi", {0}, {}).initializer("scales", {0}, {});
  b.node("Resize", {"f", "roi", "scales", "sizes"}, {"y"},
         {OnnxAttr::s("mode", "linear"), OnnxAttr::s("coordinate_transformation_mode", "pytorch_half_pixel")});
  b.output("y");
}

void tf_style_nhwc(OnnxBuilder& b) {
  b.input("image", {1, 8, 12, 3});
  b.node("Transpose", {"image"}, {"nchw"}, {OnnxAttr::ints("perm", {0, 3, 1, 2})});
  conv(b, "conv", "nchw", "c", 3, 5, 3, {OnnxAttr::ints("strides", {2, 2}), OnnxAttr::ints("pads", {0, 0, 1, 1})}, 50);
  b.node("AveragePool", {"c"}, {"p"},
         {OnnxAttr::ints("kernel_shape", {3, 3}), OnnxAttr::ints("pads", {1, 1, 1, 1}), OnnxAttr::i("count_include_pad", 0)});
  b.constant("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
  b.node("Upsample", {"p", "scales"}, {"up"}, {OnnxAttr::s("mode", "linear")});
  b.node("Transpose", {"up"}, {"y"}, {OnnxAttr::ints("perm", {0, 2, 3, 1})});
  b.output("y");
}

void pooling_broadcast_concat(OnnxBuilder& b) {
  b.input("x", {1, 5, 6, 9});
  conv(b, "conv", "x", "c", 5, 5, 3, pad1(), 60, 5);
  b.node("GlobalAveragePool", {"c"}, {"g"});
  b.node("Mul", {"c", "g"}, {"se"});
  b.initializer("plane", {1, 1, 6, 9}, random_floats(54, 61));
  b.node("Add", {"plane", "x"}, {"px"});
  b.node("Concat", {"se", "px"}, {"cat"}, {OnnxAttr::i("axis", 1)});
  b.node("Transpose", {"cat"}, {"t"}, {OnnxAttr::ints("perm", {0, 1, 3, 2})});
  b.node("Max", {"t", "t"}, {"y"});
  b.output("y");
}

void reshapes(OnnxBuilder& b) {
  b.input("x", {1, 4, 4, 6});
  conv(b, "conv", "x", "c", 4, 8, 1, {}, 70);
  b.initializer_int64("shape", {4}, {1, 2, -1, 6});
  b.node("Reshape", {"c", "shape"}, {"r"});
  b.node("Flatten", {"r"}, {"f"}, {OnnxAttr::i("axis", 1)});
  b.initializer_int64("ax", {1}, {0});
  b.node("Squeeze", {"f", "ax"}, {"s"});
  b.node("Unsqueeze", {"s", "ax"}, {"u"});
  b.node("Relu", {"u"}, {"y"});
  b.output("y");
}

void resize_nearest_binary(OnnxBuilder& b) {
  b.input("x", {1, 3, 5, 7});
  b.initializer("scales", {4}, {1.0f, 1.0f, 2.5f, 1.5f});
  b.node("Resize", {"x", "", "scales"}, {"r"},
         {OnnxAttr::s("mode", "nearest"), OnnxAttr::s("coordinate_transformation_mode", "asymmetric"),
          OnnxAttr::s("nearest_mode", "floor")});
  b.initializer("k", {1, 3, 1, 1}, {0.5f, 2.0f, -1.0f});
  b.node("Sub", {"r", "k"}, {"s"});
  b.node("Div", {"s", "k"}, {"d"});
  b.node("Min", {"d", "r"}, {"m"});
  b.node("HardSigmoid", {"m"}, {"y"});
  b.output("y");
}

void shape_arithmetic(OnnxBuilder& b) {
  // A constant subgraph of foldable ops feeding an Add and a Reshape.
  b.input("x", {1, 2, 3, 4});
  b.node("Shape", {"x"}, {"sx"});
  b.node("ConstantOfShape", {"sx"}, {"zeros"}, {OnnxAttr::tensor("value", {1}, {0.25f})});
  b.initializer_int64("r0", {}, {0}).initializer_int64("r1", {}, {4}).initializer_int64("r2", {}, {1});
  b.node("Range", {"r0", "r1", "r2"}, {"rng"});
  b.node("Cast", {"rng"}, {"rngf"}, {OnnxAttr::i("to", 1)});
  b.initializer("two", {}, {2.0f});
  b.node("Pow", {"rngf", "two"}, {"sq"});
  b.node("Sqrt", {"sq"}, {"back"});
  b.node("Equal", {"rng", "r2"}, {"is1"});
  b.node("Where", {"is1", "back", "sq"}, {"mix"});
  b.node("Add", {"zeros", "mix"}, {"bias"});
  b.node("Add", {"x", "bias"}, {"xb"});
  b.initializer_int64("st", {1}, {-1}).initializer_int64("en", {1}, {-1000}).initializer_int64("ax", {1}, {0});
  b.node("Slice", {"sx", "st", "en", "ax", "st"}, {"rev"});
  b.node("Reshape", {"xb", "rev"}, {"y"});
  b.output("y");
}

void dilated_same_upper_bn(OnnxBuilder& b) {
  b.input("x", {1, 4, 9, 10});
  conv(b, "conv", "x", "c", 4, 4, 3,
       {OnnxAttr::s("auto_pad", "SAME_UPPER"), OnnxAttr::ints("strides", {2, 2})}, 80, 2);
  b.node("Relu", {"c"}, {"r"});
  b.initializer("s", {4}, random_floats(4, 81, 0.5f, 1.5f)).initializer("t", {4}, random_floats(4, 82));
  b.initializer("m", {4}, random_floats(4, 83)).initializer("v", {4}, random_floats(4, 84, 0.5f, 1.5f));
  b.node("BatchNormalization", {"r", "s", "t", "m", "v"}, {"n"});
  conv(b, "dil", "n", "y", 4, 3, 3, {OnnxAttr::ints("dilations", {2, 2}), OnnxAttr::ints("pads", {2, 2, 2, 2})}, 85);
  b.output("y");
}

// The TFLite reader's paths the shipped models do not take, in one float model: a pool over the
// whole map and a TILE back (global pooling, a broadcast with computed sizes), a PAD of H, W and the
// channels read by no convolution (the Pad op), MAX_POOL_2D, HARD_SWISH, MEAN, RESIZE_BILINEAR to an
// earlier tensor's size, MUL, QUANTIZE/DEQUANTIZE and RESIZE_NEAREST_NEIGHBOR back to the input size.
std::string tflite_size_free_ops() {
  using deeplab::test::TfliteFile;
  namespace fb = deeplab::tflite_fb;
  TfliteFile f;
  const auto F = fb::TensorType::FLOAT32;
  const int x = f.tensor({1, 9, 9, 4}, F, "x");
  const int pooled = f.tensor({1, 1, 1, 4}, F, "pooled");
  f.op(1, {x}, pooled, fb::BuiltinOptions::Pool2DOptions, fb::CreatePool2DOptions(f.b, fb::Padding::VALID, 1, 1, 9, 9).Union());
  const int tiled = f.tensor({1, 9, 9, 4}, F, "tiled");
  f.op(69, {pooled, f.ints({1, 9, 9, 1}, {4}, "multiples")}, tiled);
  const int sum = f.tensor({1, 9, 9, 4}, F, "sum");
  f.op(0, {x, tiled}, sum, fb::BuiltinOptions::AddOptions, fb::CreateAddOptions(f.b).Union());
  const int padded = f.tensor({1, 11, 11, 5}, F, "padded");
  f.op(34, {sum, f.ints({0, 0, 1, 1, 1, 1, 0, 1}, {4, 2}, "paddings")}, padded);
  const int maxed = f.tensor({1, 6, 6, 5}, F, "maxed");
  f.op(17, {padded}, maxed, fb::BuiltinOptions::Pool2DOptions, fb::CreatePool2DOptions(f.b, fb::Padding::SAME, 2, 2, 3, 3).Union());
  const int hs = f.tensor({1, 6, 6, 5}, F, "hs");
  f.op(117, {maxed}, hs);
  const int mean = f.tensor({1, 1, 1, 5}, F, "mean");
  f.op(40, {hs, f.ints({1, 2}, {2}, "axes")}, mean, fb::BuiltinOptions::ReducerOptions, fb::CreateReducerOptions(f.b, true).Union());
  const int back = f.tensor({1, 6, 6, 5}, F, "back");
  f.op(23, {mean, f.ints({6, 6}, {2}, "size6")}, back, fb::BuiltinOptions::ResizeBilinearOptions,
       fb::CreateResizeBilinearOptions(f.b, true, false).Union());
  const int prod = f.tensor({1, 6, 6, 5}, F, "prod");
  f.op(18, {hs, back}, prod, fb::BuiltinOptions::MulOptions, fb::CreateMulOptions(f.b).Union());
  const int q = f.tensor({1, 6, 6, 5}, fb::TensorType::UINT8, "prod_q", {}, 0.05f, 128);
  f.op(114, {prod}, q);
  const int dq = f.tensor({1, 6, 6, 5}, F, "prod_dq");
  f.op(6, {q}, dq);
  const int y = f.tensor({1, 9, 9, 5}, F, "y");
  f.op(97, {dq, f.ints({9, 9}, {2}, "size9")}, y, fb::BuiltinOptions::ResizeNearestNeighborOptions,
       fb::CreateResizeNearestNeighborOptions(f.b, false, true).Union());
  return f.finish(x, y);
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

std::vector<std::pair<std::string, std::string>> seed_models() {
  // Each model built on a fresh OnnxBuilder of its opset.
  const struct {
    const char* name;
    int opset;
    void (*build)(OnnxBuilder&);
  } recipes[] = {
      {"conv_bn_relu", 13, conv_bn_relu},
      {"residual", 11, residual},
      {"hardswish", 13, hardswish},
      {"clip_maxpool_opset9", 9, clip_maxpool_opset9},
      {"dynamic_resize", 11, dynamic_resize},
      {"tf_style_nhwc", 9, tf_style_nhwc},
      {"pooling_broadcast_concat", 13, pooling_broadcast_concat},
      {"reshapes", 13, reshapes},
      {"resize_nearest_binary", 13, resize_nearest_binary},
      {"shape_arithmetic", 13, shape_arithmetic},
      {"dilated_same_upper_bn", 13, dilated_same_upper_bn},
  };
  std::vector<std::pair<std::string, std::string>> models;
  for (const auto& r : recipes) {
    OnnxBuilder b(r.opset);
    r.build(b);
    models.emplace_back(r.name, b.serialize());
  }
  models.emplace_back("tflite_size_free_ops", tflite_size_free_ops());
  return models;
}

int write_seed_corpus(const std::string& dir) {
  std::filesystem::create_directories(dir);
  int written = 0;
  std::uint64_t state = 0x2545F4914F6CDD1Dull;
  auto next = [&state]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (const auto& [name, bytes] : seed_models()) {
    const std::filesystem::path base = std::filesystem::path(dir) / name;
    const std::string ext = bytes.compare(4, 4, "TFL3") == 0 ? ".tflite" : ".onnx";
    write_file(base.string() + ext, bytes);
    ++written;
    for (int k = 1; k <= 6; ++k) {  // truncations
      write_file(base.string() + ".cut" + std::to_string(k) + ext, bytes.substr(0, bytes.size() * k / 7));
      ++written;
    }
    for (int k = 0; k < 10; ++k) {  // single bit flips
      std::string flipped = bytes;
      const std::size_t at = next() % flipped.size();
      flipped[at] = static_cast<char>(flipped[at] ^ (1u << (next() % 8)));
      write_file(base.string() + ".flip" + std::to_string(k) + ext, flipped);
      ++written;
    }
    for (int k = 0; k < 2; ++k) {  // a run of bytes set to 0xff / 0x00
      std::string smeared = bytes;
      const std::size_t at = next() % smeared.size();
      for (std::size_t j = at; j < std::min(smeared.size(), at + 4); ++j) smeared[j] = k ? '\0' : '\xff';
      write_file(base.string() + ".smear" + std::to_string(k) + ext, smeared);
      ++written;
    }
  }
  return written;
}

}  // namespace deeplab::fuzz
