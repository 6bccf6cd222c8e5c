// The TFLite importer: a small quantized model built here with the flatbuffers builder (from the
// project's schema subset) is imported, run, and compared with a plain-loop NHWC reference of the
// same float network (dequantized weights), which pins the weight layouts (OHWI, depthwise 1HWC*m),
// TF's SAME padding, per-channel scales, constant broadcasting and the ARG_MAX/final-resize handling.
// Malformed files (wrong magic, truncation, out-of-range indices, several subgraphs, unknown ops)
// must be a deeplab::Error naming the file, op or tensor — never a crash.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "deeplab/error.h"
#include "deeplab/manifest.h"
#include "expect_error.h"
#include "network_loader.h"
#include "onnx_builder.h"
#include "tflite/tflite_import.h"
#include "tflite_schema_generated.h"

using namespace deeplab;
namespace fb = deeplab::tflite_fb;

using deeplab::test::expect_error;

namespace {

constexpr int kH = 9, kW = 9, kC = 3, kCo = 4, kMult = 2;

struct TinyModel {
  // Options that tests change to break the file.
  int conv_input_tensor = 0;
  std::uint32_t bias_buffer = 3;
  int opcode_for_conv = 3;  // CONV_2D
  bool two_subgraphs = false;

  std::vector<std::uint8_t> conv_w = std::vector<std::uint8_t>(kCo * 3 * 3 * kC);  // OHWI, per-tensor
  std::vector<std::int8_t> dw_w = std::vector<std::int8_t>(3 * 3 * kCo * kMult);    // 1HW(C*m), per-channel
  std::vector<std::int32_t> bias = {100, -50, 25, 0};
  std::vector<float> dw_scales;
  std::vector<float> add_c;  // [C*m] float constant added to the depthwise output

  TinyModel() {
    for (std::size_t k = 0; k < conv_w.size(); ++k) conv_w[k] = static_cast<std::uint8_t>((k * 37 + 11) % 256);
    for (std::size_t k = 0; k < dw_w.size(); ++k) dw_w[k] = static_cast<std::int8_t>((k * 53 + 7) % 255 - 127);
    for (int k = 0; k < kCo * kMult; ++k) dw_scales.push_back(0.01f + 0.002f * k);
    for (int k = 0; k < kCo * kMult; ++k) add_c.push_back(0.1f * k - 0.3f);
  }

  static constexpr float kInScale = 1.0f / 128, kWScale = 0.02f, kBiasScale = kInScale * kWScale;
  static constexpr std::int64_t kInZero = 128, kWZero = 120;

  // input u8 [1,9,9,3] -> CONV_2D 3x3 stride 2 SAME + RELU6 [1,5,5,4] -> DEPTHWISE 3x3 x2 VALID
  // [1,3,3,8] -> ADD const [8] -> RESIZE_BILINEAR(align_corners) [1,9,9,8] -> ARG_MAX
  std::string build() const {
    flatbuffers::FlatBufferBuilder b;
    auto quant = [&](std::vector<float> s, std::vector<std::int64_t> z, int dim = 0) {
      return fb::CreateQuantizationParameters(b, 0, 0, b.CreateVector(s), b.CreateVector(z),
                                              fb::QuantizationDetails::NONE, 0, dim);
    };
    auto tensor = [&](std::vector<int> shape, fb::TensorType type, std::uint32_t buffer, const char* name,
                      flatbuffers::Offset<fb::QuantizationParameters> q = 0) {
      return fb::CreateTensor(b, b.CreateVector(shape), type, buffer, b.CreateString(name), q);
    };
    std::vector<flatbuffers::Offset<fb::Tensor>> t;
    t.push_back(tensor({1, kH, kW, kC}, fb::TensorType::UINT8, 0, "input", quant({kInScale}, {kInZero})));  // 0
    t.push_back(tensor({kCo, 3, 3, kC}, fb::TensorType::UINT8, 1, "conv_w", quant({kWScale}, {kWZero})));   // 1
    t.push_back(tensor({kCo}, fb::TensorType::INT32, bias_buffer, "conv_b", quant({kBiasScale}, {0})));     // 2
    t.push_back(tensor({1, 5, 5, kCo}, fb::TensorType::FLOAT32, 0, "conv_out"));                           // 3
    t.push_back(tensor({1, 3, 3, kCo * kMult}, fb::TensorType::INT8, 2, "dw_w",
                       quant(dw_scales, std::vector<std::int64_t>(dw_scales.size(), 0), 3)));                // 4
    t.push_back(tensor({1, 3, 3, kCo * kMult}, fb::TensorType::FLOAT32, 0, "dw_out"));                      // 5
    t.push_back(tensor({kCo * kMult}, fb::TensorType::FLOAT32, 4, "add_c"));                                // 6
    t.push_back(tensor({1, 3, 3, kCo * kMult}, fb::TensorType::FLOAT32, 0, "add_out"));                     // 7
    t.push_back(tensor({2}, fb::TensorType::INT32, 5, "size"));                                             // 8
    t.push_back(tensor({1, kH, kW, kCo * kMult}, fb::TensorType::FLOAT32, 0, "logits"));                   // 9
    t.push_back(tensor({1}, fb::TensorType::INT32, 6, "axis"));                                             // 10
    t.push_back(tensor({1, kH, kW}, fb::TensorType::INT64, 0, "classes"));                                  // 11

    auto bytes = [&](const void* p, std::size_t n) {
      return fb::CreateBuffer(b, b.CreateVector(static_cast<const std::uint8_t*>(p), n));
    };
    const std::vector<std::int32_t> size = {kH, kW}, axis = {3};
    std::vector<flatbuffers::Offset<fb::Buffer>> buffers = {
        fb::CreateBuffer(b), bytes(conv_w.data(), conv_w.size()), bytes(dw_w.data(), dw_w.size()),
        bytes(bias.data(), bias.size() * 4), bytes(add_c.data(), add_c.size() * 4), bytes(size.data(), 8),
        bytes(axis.data(), 4)};

    auto op = [&](std::uint32_t code, std::vector<int> in, std::vector<int> out, fb::BuiltinOptions type,
                  flatbuffers::Offset<void> options) {
      return fb::CreateOperator(b, code, b.CreateVector(in), b.CreateVector(out), type, options);
    };
    std::vector<flatbuffers::Offset<fb::Operator>> ops = {
        op(0, {conv_input_tensor, 1, 2}, {3}, fb::BuiltinOptions::Conv2DOptions,
           fb::CreateConv2DOptions(b, fb::Padding::SAME, 2, 2, fb::ActivationFunctionType::RELU6).Union()),
        op(1, {3, 4}, {5}, fb::BuiltinOptions::DepthwiseConv2DOptions,
           fb::CreateDepthwiseConv2DOptions(b, fb::Padding::VALID, 1, 1, kMult).Union()),
        op(2, {5, 6}, {7}, fb::BuiltinOptions::AddOptions, fb::CreateAddOptions(b).Union()),
        op(3, {7, 8}, {9}, fb::BuiltinOptions::ResizeBilinearOptions,
           fb::CreateResizeBilinearOptions(b, true, false).Union()),
        op(4, {9, 10}, {11}, fb::BuiltinOptions::ArgMaxOptions,
           fb::CreateArgMaxOptions(b, fb::TensorType::INT64).Union())};
    std::vector<flatbuffers::Offset<fb::OperatorCode>> codes = {
        fb::CreateOperatorCode(b, static_cast<std::int8_t>(opcode_for_conv), 0, 1, opcode_for_conv),
        fb::CreateOperatorCode(b, 4, 0, 1, 4), fb::CreateOperatorCode(b, 0, 0, 1, 0),
        fb::CreateOperatorCode(b, 23, 0, 1, 23), fb::CreateOperatorCode(b, 56, 0, 1, 56)};
    const std::vector<int> inputs = {0}, outputs = {11};
    auto subgraph = [&] {
      return fb::CreateSubGraph(b, b.CreateVector(t), b.CreateVector(inputs), b.CreateVector(outputs),
                                b.CreateVector(ops), b.CreateString("main"));
    };
    std::vector<flatbuffers::Offset<fb::SubGraph>> subgraphs = {subgraph()};
    if (two_subgraphs) subgraphs.push_back(subgraph());
    auto model = fb::CreateModel(b, 3, b.CreateVector(codes), b.CreateVector(subgraphs), b.CreateString("tiny"),
                                 b.CreateVector(buffers));
    fb::FinishModelBuffer(b, model);
    return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  }

  // The float network in plain NHWC loops; returns the logits before the final resize [3,3,8] (HWC).
  std::vector<float> reference(const std::vector<float>& x) const {
    // CONV 3x3 stride 2, SAME on 9: out 5, total pad = (5-1)*2+3-9 = 2 -> 1 before, 1 after.
    std::vector<float> c(5 * 5 * kCo);
    for (int y = 0; y < 5; ++y)
      for (int xx = 0; xx < 5; ++xx)
        for (int o = 0; o < kCo; ++o) {
          double s = bias[o] * kBiasScale;
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              const int iy = y * 2 + ky - 1, ix = xx * 2 + kx - 1;
              if (iy < 0 || ix < 0 || iy >= kH || ix >= kW) continue;
              for (int i = 0; i < kC; ++i)
                s += x[(iy * kW + ix) * kC + i] *
                     ((conv_w[((o * 3 + ky) * 3 + kx) * kC + i] - static_cast<double>(kWZero)) * kWScale);
            }
          c[(y * 5 + xx) * kCo + o] = static_cast<float>(std::min(std::max(s, 0.0), 6.0));
        }
    std::vector<float> d(3 * 3 * kCo * kMult);
    for (int y = 0; y < 3; ++y)
      for (int xx = 0; xx < 3; ++xx)
        for (int o = 0; o < kCo * kMult; ++o) {
          double s = 0;
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx)
              s += c[((y + ky) * 5 + xx + kx) * kCo + o / kMult] * (dw_w[(ky * 3 + kx) * kCo * kMult + o] * dw_scales[o]);
          d[(y * 3 + xx) * kCo * kMult + o] = static_cast<float>(s + add_c[o]);
        }
    return d;
  }
};

std::string write_temp(const std::string& bytes, const std::string& name) {
  const auto path = std::filesystem::temp_directory_path() / ("deeplab_tflite_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

}  // namespace

TEST(TfliteImport, TinyQuantizedModelMatchesPlainLoopReference) {
  TinyModel m;
  const std::string path = write_temp(m.build(), "tiny.tflite");
  LoadOptions options;
  options.threads = 1;
  LoadedNetwork loaded = load_cpu_network(path, options);
  ASSERT_TRUE(loaded.final_resize.removed) << "the RESIZE_BILINEAR before ARG_MAX must be the removable final resize";
  EXPECT_EQ(loaded.final_resize.attrs.coord, ResizeAttrs::kAlignCorners);
  const auto x = deeplab::test::random_floats(kH * kW * kC, 7);  // NHWC, the dequantized image
  loaded.network->set_input_logical(x.data());
  loaded.network->run();
  std::vector<float> out;
  loaded.network->output_logical(loaded.network->output_value(), out);
  const auto& shape = loaded.network->graph().values[loaded.network->output_value()].shape;
  ASSERT_EQ(shape, (std::vector<std::int64_t>{1, 3, 3, kCo * kMult}));  // NHWC logits at the network's stride
  const auto ref = m.reference(x);
  float max_err = 0;
  for (int c = 0; c < kCo * kMult; ++c)
    for (int p = 0; p < 9; ++p) max_err = std::max(max_err, std::fabs(out[p * kCo * kMult + c] - ref[p * kCo * kMult + c]));
  EXPECT_LT(max_err, 1e-4f);
  std::filesystem::remove(path);
}

TEST(TfliteImport, BareTfliteManifestFromInputQuantization) {
  TinyModel m;
  const std::string path = write_temp(m.build(), "bare.tflite");
  const ModelManifest manifest = resolve_model(path);
  EXPECT_EQ(manifest.input.width, kW);
  EXPECT_EQ(manifest.input.height, kH);
  EXPECT_EQ(manifest.input.layout, TensorLayout::kNHWC);
  EXPECT_FLOAT_EQ(manifest.input.scale, 1.0f / 128);
  EXPECT_FLOAT_EQ(manifest.input.mean[0], 1.0f);  // 128 * (1/128): value = pixel/128 - 1
  EXPECT_FLOAT_EQ(manifest.input.std[0], 1.0f);
  ASSERT_EQ(manifest.classes.size(), static_cast<std::size_t>(kCo * kMult));
  EXPECT_EQ(manifest.classes[3], "3");
  std::filesystem::remove(path);
}

TEST(TfliteImport, MalformedFilesAreErrorsNamingTheFault) {
  const std::string good = TinyModel().build();
  expect_error([&] { import_tflite_bytes(good.data(), 3, "short.tflite"); }, ErrorCode::kModelCorrupt,
               {"short.tflite", "TFL3"});
  std::string magic = good;
  magic[4] = 'X';
  expect_error([&] { import_tflite_bytes(magic.data(), magic.size(), "magic.tflite"); }, ErrorCode::kModelCorrupt,
               {"magic.tflite", "identifier"});
  // Every truncation: an Error, never a crash (the verifier runs before any field is read).
  for (std::size_t n = 8; n < good.size(); n += 7) {
    try {
      import_tflite_bytes(good.data(), n, "cut.tflite");
      ADD_FAILURE() << "truncated at " << n << " bytes imported";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cut.tflite"), std::string::npos);
    }
  }
  TinyModel bad_tensor;
  bad_tensor.conv_input_tensor = 99;
  const auto t = bad_tensor.build();
  expect_error([&] { import_tflite_bytes(t.data(), t.size(), "t.tflite"); }, ErrorCode::kModelCorrupt,
               {"t.tflite", "CONV_2D", "tensor index 99"});
  TinyModel bad_buffer;
  bad_buffer.bias_buffer = 1000;
  const auto bb = bad_buffer.build();
  expect_error([&] { import_tflite_bytes(bb.data(), bb.size(), "b.tflite"); }, ErrorCode::kModelCorrupt,
               {"b.tflite", "conv_b", "buffer index 1000"});
  TinyModel two;
  two.two_subgraphs = true;
  const auto s = two.build();
  expect_error([&] { import_tflite_bytes(s.data(), s.size(), "s.tflite"); }, ErrorCode::kUnsupported,
               {"s.tflite", "2 subgraphs"});
  TinyModel unknown;
  unknown.opcode_for_conv = 25;  // SOFTMAX
  const auto u = unknown.build();
  expect_error([&] { import_tflite_bytes(u.data(), u.size(), "u.tflite"); }, ErrorCode::kUnsupported,
               {"u.tflite", "operator #0 SOFTMAX", "not supported"});
  expect_error([] { import_tflite_file("/nonexistent/model.tflite"); }, ErrorCode::kNotFound, {"/nonexistent/model.tflite"});
}
