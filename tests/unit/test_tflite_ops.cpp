// The TFLite ops the shipped models do not use, one small file each, built here with the flatbuffers
// builder (the project's schema subset), imported, run on the CPU and compared with values computed
// by plain loops over TFLite's NHWC layout: RESIZE_NEAREST_NEIGHBOR (its three coordinate rules),
// SUB, MUL, the standalone activations (RELU, RELU6, RELU_N1_TO_1, LOGISTIC, HARD_SWISH), MEAN,
// RESHAPE, MAX_POOL_2D, PAD not feeding a convolution (the IR's Pad op), QUANTIZE/DEQUANTIZE.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "network_loader.h"
#include "onnx_builder.h"
#include "tflite_builder.h"

using namespace deeplab;
namespace fb = deeplab::tflite_fb;
using deeplab::test::bytes_of;
using deeplab::test::random_floats;
using deeplab::test::TfliteFile;

namespace {

constexpr int kH = 5, kW = 7, kC = 3;  // awkward sizes: odd, not square

// Imports `bytes`, runs it on `x` (the NHWC input) and returns the output in TFLite's layout.
std::vector<float> run(const std::string& bytes, const std::vector<float>& x, std::vector<std::int64_t>* shape = nullptr,
                       int* nodes = nullptr) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("deeplab_tflite_ops_" + std::to_string(::getpid()) + ".tflite");
  std::ofstream(path, std::ios::binary) << bytes;
  LoadOptions options;
  options.threads = 1;
  options.remove_final_resize = false;  // the op under test may be a resize that ends the graph
  LoadedNetwork loaded = load_cpu_network(path.string(), options);
  std::filesystem::remove(path);
  CpuNetwork& net = *loaded.network;
  net.set_input_logical(x.data());
  net.run();
  std::vector<float> out;
  net.output_logical(net.output_value(), out);
  if (shape) *shape = net.graph().values[net.output_value()].shape;
  if (nodes) *nodes = static_cast<int>(net.graph().nodes.size());
  return out;
}

void expect_near_all(const std::vector<float>& got, const std::vector<float>& want, float tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t k = 0; k < got.size(); ++k) ASSERT_NEAR(got[k], want[k], tol) << what << " at element " << k;
}

std::size_t nhwc(int y, int x, int c, int w = kW, int ch = kC) { return (static_cast<std::size_t>(y) * w + x) * ch + c; }

}  // namespace

TEST(TfliteOps, StandaloneActivations) {
  const struct {
    int code;
    const char* name;
    std::function<float(float)> f;
  } cases[] = {
      {19, "RELU", [](float v) { return std::max(v, 0.0f); }},
      {21, "RELU6", [](float v) { return std::min(std::max(v, 0.0f), 6.0f); }},
      {20, "RELU_N1_TO_1", [](float v) { return std::min(std::max(v, -1.0f), 1.0f); }},
      {14, "LOGISTIC", [](float v) { return 1.0f / (1.0f + std::exp(-v)); }},
      {117, "HARD_SWISH", [](float v) { return v * std::min(std::max(v + 3.0f, 0.0f), 6.0f) / 6.0f; }},
  };
  const auto x = random_floats(kH * kW * kC, 11, -8.0f, 8.0f);
  for (const auto& c : cases) {
    TfliteFile f;
    const int in = f.tensor({1, kH, kW, kC}, fb::TensorType::FLOAT32, "x");
    const int out = f.tensor({1, kH, kW, kC}, fb::TensorType::FLOAT32, "y");
    f.op(c.code, {in}, out);
    std::vector<float> want(x.size());
    std::transform(x.begin(), x.end(), want.begin(), c.f);
    expect_near_all(run(f.finish(in, out), x), want, 1e-5f, c.name);
  }
}

// y = RELU(c1 - x * c2), c1 and c2 constants of [C] broadcast over NHWC: MUL, then SUB with the
// constant as its first operand and a fused RELU.
TEST(TfliteOps, MulThenSubWithConstantsAndFusedRelu) {
  TfliteFile f;
  const std::vector<float> c1 = {0.5f, -1.0f, 2.0f}, c2 = {3.0f, -0.25f, 1.5f};
  const int in = f.tensor({1, kH, kW, kC}, fb::TensorType::FLOAT32, "x");
  const int k2 = f.floats(c2, {kC}, "c2"), k1 = f.floats(c1, {kC}, "c1");
  const int prod = f.tensor({1, kH, kW, kC}, fb::TensorType::FLOAT32, "prod");
  const int out = f.tensor({1, kH, kW, kC}, fb::TensorType::FLOAT32, "y");
  f.op(18, {in, k2}, prod, fb::BuiltinOptions::MulOptions, fb::CreateMulOptions(f.b).Union());
  f.op(41, {k1, prod}, out, fb::BuiltinOptions::SubOptions,
       fb::CreateSubOptions(f.b, fb::ActivationFunctionType::RELU).Union());
  const auto x = random_floats(kH * kW * kC, 12, -2.0f, 2.0f);
  std::vector<float> want(x.size());
  for (std::size_t k = 0; k < x.size(); ++k) want[k] = std::max(0.0f, c1[k % kC] - x[k] * c2[k % kC]);
  expect_near_all(run(f.finish(in, out), x), want, 1e-5f, "MUL/SUB");
}

TEST(TfliteOps, MeanOverHeightAndWidth) {
  const auto x = random_floats(kH * kW * kC, 13);
  std::vector<float> want(kC, 0.0f);
  for (std::size_t k = 0; k < x.size(); ++k) want[k % kC] += x[k] / (kH * kW);
  for (bool keep_dims : {true, false}) {
    TfliteFile f;
    const int in = f.tensor({1, kH, kW, kC}, fb::TensorType::FLOAT32, "x");
    const int axes = f.ints({1, 2}, {2}, "axes");
    const std::vector<int> out_shape = keep_dims ? std::vector<int>{1, 1, 1, kC} : std::vector<int>{1, kC};
    const int out = f.tensor(out_shape, fb::TensorType::FLOAT32, "y");
    f.op(40, {in, axes}, out, fb::BuiltinOptions::ReducerOptions, fb::CreateReducerOptions(f.b, keep_dims).Union());
    std::vector<std::int64_t> shape;
    expect_near_all(run(f.finish(in, out), x, &shape), want, 1e-5f, keep_dims ? "MEAN keep_dims" : "MEAN");
    EXPECT_EQ(shape.size(), out_shape.size());
  }
}

// RESHAPE keeps TFLite's row-major NHWC element order (the IR holds 4-D tensors as NCHW inside).
TEST(TfliteOps, ReshapeKeepsTheNhwcOrder) {
  const auto x = random_floats(kH * kW * kC, 14);
  for (const std::vector<int>& target : {std::vector<int>{1, kH * kW * kC}, std::vector<int>{1, kW, kH, kC}}) {
    TfliteFile f;
    const int in = f.tensor({1, kH, kW, kC}, fb::TensorType::FLOAT32, "x");
    const int shape_t = f.ints(std::vector<std::int32_t>(target.begin(), target.end()), {static_cast<int>(target.size())}, "shape");
    const int out = f.tensor(target, fb::TensorType::FLOAT32, "y");
    f.op(22, {in, shape_t}, out, fb::BuiltinOptions::ReshapeOptions,
         fb::CreateReshapeOptions(f.b, f.b.CreateVector(target)).Union());
    std::vector<std::int64_t> shape;
    expect_near_all(run(f.finish(in, out), x, &shape), x, 0.0f, "RESHAPE to rank " + std::to_string(target.size()));
    EXPECT_EQ(shape, std::vector<std::int64_t>(target.begin(), target.end()));
  }
}

// MAX_POOL_2D 3x3, stride 2, SAME: TF pads (out-1)*2+3-in, the odd pixel after; padding never wins.
TEST(TfliteOps, MaxPoolSame) {
  constexpr int kOh = (kH + 1) / 2, kOw = (kW + 1) / 2;
  TfliteFile f;
  const int in = f.tensor({1, kH, kW, kC}, fb::TensorType::FLOAT32, "x");
  const int out = f.tensor({1, kOh, kOw, kC}, fb::TensorType::FLOAT32, "y");
  f.op(17, {in}, out, fb::BuiltinOptions::Pool2DOptions, fb::CreatePool2DOptions(f.b, fb::Padding::SAME, 2, 2, 3, 3).Union());
  const auto x = random_floats(kH * kW * kC, 15, -3.0f, -1.0f);  // all negative: a zero pad would show
  const int top = ((kOh - 1) * 2 + 3 - kH) / 2, left = ((kOw - 1) * 2 + 3 - kW) / 2;
  std::vector<float> want(kOh * kOw * kC, -1e30f);
  for (int y = 0; y < kOh; ++y)
    for (int xx = 0; xx < kOw; ++xx)
      for (int c = 0; c < kC; ++c)
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            const int iy = y * 2 + ky - top, ix = xx * 2 + kx - left;
            if (iy >= 0 && ix >= 0 && iy < kH && ix < kW)
              want[nhwc(y, xx, c, kOw)] = std::max(want[nhwc(y, xx, c, kOw)], x[nhwc(iy, ix, c)]);
          }
  expect_near_all(run(f.finish(in, out), x), want, 0.0f, "MAX_POOL_2D");
}

// RESIZE_NEAREST_NEIGHBOR 5x7 -> 9x12 under TF's three rules: asymmetric floor(dst * in/out);
// half_pixel_centers floor((dst + 0.5) * in/out); align_corners round(dst * (in-1)/(out-1)).
TEST(TfliteOps, ResizeNearestNeighborCoordinateRules) {
  constexpr int kOh = 9, kOw = 12;
  const auto x = random_floats(kH * kW * kC, 16);
  const struct {
    bool align, half;
    std::function<int(int, int, int)> src;  // (dst, in, out) -> source index
  } rules[] = {
      {false, false, [](int d, int in, int out) { return static_cast<int>(std::floor(d * static_cast<double>(in) / out)); }},
      {false, true, [](int d, int in, int out) { return static_cast<int>(std::floor((d + 0.5) * in / out)); }},
      {true, false, [](int d, int in, int out) { return static_cast<int>(std::lround(d * (in - 1.0) / (out - 1))); }},
  };
  for (const auto& r : rules) {
    TfliteFile f;
    const int in = f.tensor({1, kH, kW, kC}, fb::TensorType::FLOAT32, "x");
    const int size = f.ints({kOh, kOw}, {2}, "size");
    const int out = f.tensor({1, kOh, kOw, kC}, fb::TensorType::FLOAT32, "y");
    f.op(97, {in, size}, out, fb::BuiltinOptions::ResizeNearestNeighborOptions,
         fb::CreateResizeNearestNeighborOptions(f.b, r.align, r.half).Union());
    std::vector<float> want(kOh * kOw * kC);
    for (int y = 0; y < kOh; ++y)
      for (int xx = 0; xx < kOw; ++xx)
        for (int c = 0; c < kC; ++c)
          want[nhwc(y, xx, c, kOw)] = x[nhwc(std::min(r.src(y, kH, kOh), kH - 1), std::min(r.src(xx, kW, kOw), kW - 1), c)];
    expect_near_all(run(f.finish(in, out), x), want, 0.0f,
                    std::string("RESIZE_NEAREST_NEIGHBOR align_corners ") + (r.align ? "1" : "0") + " half_pixel " +
                        (r.half ? "1" : "0"));
  }
}

// A PAD that feeds no convolution becomes the IR's Pad op: here it pads H, W and the channels, and
// both as the graph output and read by a RELU.
TEST(TfliteOps, StandalonePad) {
  const int pads[4][2] = {{0, 0}, {1, 2}, {3, 0}, {0, 1}};
  constexpr int kOh = kH + 3, kOw = kW + 3, kOc = kC + 1;
  const auto x = random_floats(kH * kW * kC, 17, -2.0f, 2.0f);
  for (bool then_relu : {false, true}) {
    TfliteFile f;
    const int in = f.tensor({1, kH, kW, kC}, fb::TensorType::FLOAT32, "x");
    const int p = f.ints({0, 0, 1, 2, 3, 0, 0, 1}, {4, 2}, "paddings");
    const int padded = f.tensor({1, kOh, kOw, kOc}, fb::TensorType::FLOAT32, "padded");
    f.op(34, {in, p}, padded);
    int out = padded;
    if (then_relu) {
      out = f.tensor({1, kOh, kOw, kOc}, fb::TensorType::FLOAT32, "y");
      f.op(19, {padded}, out);
    }
    std::vector<float> want(kOh * kOw * kOc, 0.0f);
    for (int y = 0; y < kH; ++y)
      for (int xx = 0; xx < kW; ++xx)
        for (int c = 0; c < kC; ++c) {
          const float v = x[nhwc(y, xx, c)];
          want[nhwc(y + pads[1][0], xx + pads[2][0], c + pads[3][0], kOw, kOc)] = then_relu ? std::max(v, 0.0f) : v;
        }
    std::vector<std::int64_t> shape;
    expect_near_all(run(f.finish(in, out), x, &shape), want, 0.0f, then_relu ? "PAD -> RELU" : "PAD");
    EXPECT_EQ(shape, (std::vector<std::int64_t>{1, kOh, kOw, kOc}));
  }
}

// The float network: QUANTIZE then DEQUANTIZE of an activation is the identity (no rounding), and a
// DEQUANTIZE of a constant int8 tensor is (q - zero_point) * scale.
TEST(TfliteOps, QuantizeDequantize) {
  TfliteFile f;
  const int in = f.tensor({1, kH, kW, kC}, fb::TensorType::FLOAT32, "x");
  const int q = f.tensor({1, kH, kW, kC}, fb::TensorType::UINT8, "x_q", {}, 0.05f, 128);
  const int dq = f.tensor({1, kH, kW, kC}, fb::TensorType::FLOAT32, "x_dq");
  const std::vector<std::int8_t> qc = {-128, 5, 127};
  const int c_q = f.tensor({kC}, fb::TensorType::INT8, "c_q", bytes_of(qc), 0.1f, -3);
  const int c = f.tensor({kC}, fb::TensorType::FLOAT32, "c");
  const int out = f.tensor({1, kH, kW, kC}, fb::TensorType::FLOAT32, "y");
  f.op(114, {in}, q);
  f.op(6, {q}, dq);
  f.op(6, {c_q}, c);
  f.op(0, {dq, c}, out, fb::BuiltinOptions::AddOptions, fb::CreateAddOptions(f.b).Union());
  const auto x = random_floats(kH * kW * kC, 18);
  std::vector<float> want(x.size());
  for (std::size_t k = 0; k < x.size(); ++k) want[k] = x[k] + (qc[k % kC] + 3) * 0.1f;
  expect_near_all(run(f.finish(in, out), x), want, 1e-5f, "QUANTIZE/DEQUANTIZE");
}

// The IR's Pad on a constant folds at load (no node left): y = x + Pad(c), with the pads given as
// ONNX's input (begin N, C, H, W, then end) and a fill value of 0.5.
TEST(TfliteOps, PadOfAConstantFolds) {
  deeplab::test::OnnxBuilder b(13);
  b.input("x", {1, 1, 4, 5});
  b.initializer("c", {1, 1, 2, 2}, {1, 2, 3, 4});
  b.initializer_int64("pads", {8}, {0, 0, 1, 2, 0, 0, 1, 1});
  b.initializer("fill", {}, {0.5f});
  b.node("Pad", {"c", "pads", "fill"}, {"padded"}, {}, "pad");
  b.node("Add", {"x", "padded"}, {"y"}, {}, "add");
  b.output("y");
  const auto path = std::filesystem::temp_directory_path() / ("deeplab_pad_fold_" + std::to_string(::getpid()) + ".onnx");
  b.save(path.string());
  LoadOptions options;
  options.threads = 1;
  LoadedNetwork loaded = load_cpu_network(path.string(), options);
  std::filesystem::remove(path);
  for (const Node& n : loaded.network->graph().nodes) EXPECT_NE(n.op, "Pad") << "the Pad of a constant must fold";
  const std::vector<float> x(20, 1.0f);
  loaded.network->set_input_logical(x.data());
  loaded.network->run();
  std::vector<float> y;
  loaded.network->output_logical(loaded.network->output_value(), y);
  // Rows 1..2, columns 2..3 hold c; everything else the fill value.
  const std::vector<float> want = {1.5f, 1.5f, 1.5f, 1.5f, 1.5f,  //
                                   1.5f, 1.5f, 2.0f, 3.0f, 1.5f,  //
                                   1.5f, 1.5f, 4.0f, 5.0f, 1.5f,  //
                                   1.5f, 1.5f, 1.5f, 1.5f, 1.5f};
  expect_near_all(y, want, 0.0f, "folded Pad");
}
