// Running a model at an input size other than its file's (SegmenterOptions::aspect = kKeep, --size):
// graphs whose ops follow the input size (global pooling, resize sizes computed from a tensor's
// shape) load at two sizes; graphs tied to their own size (a fixed Reshape, a pooling window over
// the whole map, a broadcast Resize to fixed sizes) are refused with an Error naming the node. Then
// the Segmenter's keep mode on the real 513x513 TFLite VOC model, and the option's errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "deeplab/error.h"
#include "deeplab/manifest.h"
#include "deeplab/segmenter.h"
#include "expect_error.h"
#include "network_loader.h"
#include "onnx_builder.h"

using namespace deeplab;
using deeplab::test::expect_error;
using deeplab::test::OnnxAttr;
using deeplab::test::OnnxBuilder;
using deeplab::test::random_floats;
namespace fs = std::filesystem;

namespace {

std::string save(const OnnxBuilder& b, const std::string& name) {
  const auto path = fs::temp_directory_path() / ("deeplab_input_size_" + std::to_string(::getpid()) + "_" + name);
  b.save(path.string());
  return path.string();
}

// x[1,3,16,16] (fixed in the file) -> Conv 3x3 -> GlobalAveragePool -> Resize back to the conv's
// size, computed from its shape (as DeepLab's image-pooling branch) -> Add -> y.
OnnxBuilder pooled_branch_model() {
  OnnxBuilder b(13);
  b.input("x", {1, 3, 16, 16});
  b.initializer("w", {4, 3, 3, 3}, random_floats(4 * 3 * 3 * 3, 3));
  b.node("Conv", {"x", "w"}, {"c"}, {OnnxAttr::ints("pads", {1, 1, 1, 1})}, "conv");
  b.node("GlobalAveragePool", {"c"}, {"p"}, {}, "pool");
  b.node("Shape", {"c"}, {"s"}, {}, "shape");
  b.node("Resize", {"p", "", "", "s"}, {"r"}, {OnnxAttr::s("mode", "nearest")}, "broadcast");
  b.node("Add", {"c", "r"}, {"y"}, {}, "add");
  b.output("y");
  return b;
}

LoadOptions at(std::int64_t h, std::int64_t w) {
  LoadOptions o;
  o.input_shape = {1, 3, h, w};
  o.threads = 1;
  return o;
}

}  // namespace

TEST(InputSize, GlobalPoolingGraphRunsAtTwoSizes) {
  const std::string path = save(pooled_branch_model(), "pooled.onnx");
  for (auto [h, w] : {std::pair{16, 16}, std::pair{24, 20}}) {
    LoadedNetwork loaded = load_cpu_network(path, at(h, w));
    CpuNetwork& net = *loaded.network;
    EXPECT_EQ(net.graph().values[net.output_value()].shape, (std::vector<std::int64_t>{1, 4, h, w}));
    // A constant image: y - conv(x) is the mean of the conv over the whole (new) map, the same at
    // every pixel; the interior conv values are all equal, so y is equal over the interior.
    std::vector<float> x(static_cast<std::size_t>(3 * h * w), 0.5f);
    net.set_input_logical(x.data());
    net.run();
    std::vector<float> y;
    net.output_logical(net.output_value(), y);
    EXPECT_FLOAT_EQ(y[1 * w + 1], y[(h - 2) * w + (w - 2)]) << h << "x" << w;
  }
  std::remove(path.c_str());
}

TEST(InputSize, FixedReshapeIsRefusedNamingIt) {
  OnnxBuilder b(13);
  b.input("x", {1, 3, 4, 4});
  b.initializer_int64("to", {4}, {1, 48, 1, 1});
  b.node("Reshape", {"x", "to"}, {"flat"}, {}, "flatten");
  b.initializer("w", {5, 48, 1, 1}, random_floats(5 * 48, 4));
  b.node("Conv", {"flat", "w"}, {"y"}, {}, "fc");
  b.output("y");
  const std::string path = save(b, "reshape.onnx");
  EXPECT_NO_THROW(load_cpu_network(path, at(4, 4)));
  expect_error([&] { load_cpu_network(path, at(8, 6)); }, ErrorCode::kManifestMismatch,
               {"Reshape node 'flatten'", "reshapes to the fixed shape", "[1,3,8,6]", "[1,3,4,4]"});
  std::remove(path.c_str());
}

TEST(InputSize, FixedPoolingWindowAndFixedResizeAreRefused) {
  {  // A pooling window over the whole 4x4 map: global pooling only at the file's size.
    OnnxBuilder b(13);
    b.input("x", {1, 3, 4, 4});
    b.node("AveragePool", {"x"}, {"y"}, {OnnxAttr::ints("kernel_shape", {4, 4})}, "whole_map");
    b.output("y");
    const std::string path = save(b, "window.onnx");
    expect_error([&] { load_cpu_network(path, at(6, 6)); }, ErrorCode::kManifestMismatch,
                 {"AveragePool node 'whole_map'", "window fixed to the whole 4x4"});
    std::remove(path.c_str());
  }
  {  // Sizes Concat(Shape(x)[0:2], [8, 8]): the broadcast a converter writes; not the final resize.
    OnnxBuilder b(13);
    b.input("x", {1, 3, 8, 8});
    b.node("GlobalAveragePool", {"x"}, {"p"}, {}, "pool");
    b.node("Shape", {"p"}, {"s"}, {OnnxAttr::i("end", 2)}, "nc");
    b.constant_int64("hw", {2}, {8, 8});
    b.node("Concat", {"s", "hw"}, {"sizes"}, {OnnxAttr::i("axis", 0)}, "sizes");
    b.node("Resize", {"p", "", "", "sizes"}, {"r"}, {OnnxAttr::s("mode", "nearest")}, "broadcast");
    b.node("Add", {"x", "r"}, {"y"}, {}, "add");
    b.output("y");
    const std::string path = save(b, "resize.onnx");
    EXPECT_NO_THROW(load_cpu_network(path, at(8, 8)));
    expect_error([&] { load_cpu_network(path, at(8, 12)); }, ErrorCode::kManifestMismatch,
                 {"Resize node 'broadcast'", "resizes to the fixed size 8x8"});
    std::remove(path.c_str());
  }
}

namespace {

// The 513x513 TFLite VOC model (its manifest, the file from the shared folder); empty when absent.
ModelManifest voc_513() {
  const fs::path file = fs::path(DEEPLAB_SHARED_DIR) / "models" / "deeplabv3_mnv2_pascal_quant.tflite";
  if (!fs::exists(file)) return {};
  ModelManifest m = load_manifest((fs::path(DEEPLAB_SOURCE_DIR) / "models" / "deeplabv3-mnv2-voc-513.yaml").string());
  m.file = file.string();
  return m;
}

std::vector<std::uint8_t> test_frame(int width, int height) {
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      std::uint8_t* p = &rgb[(static_cast<std::size_t>(y) * width + x) * 3];
      const bool disc = (x - width / 2) * (x - width / 2) + (y - height / 2) * (y - height / 2) < height * height / 9;
      p[0] = disc ? 200 : static_cast<std::uint8_t>(40 + y % 50);
      p[1] = disc ? 40 : 120;
      p[2] = static_cast<std::uint8_t>(x * 255 / width);
    }
  return rgb;
}

}  // namespace

// Keep: 4:3 -> 513x385, 3:4 -> 385x513, 16:9 -> 513x289, square -> 513x513 (re-planned at each
// change); the class map equals the one of the same network built at that explicit input size.
TEST(InputSize, KeepAspectOnTheTfliteVocModel) {
  const ModelManifest manifest = voc_513();
  if (manifest.file.empty()) GTEST_SKIP() << "the shared TFLite model is absent";
  SegmenterOptions keep;
  keep.device = Device::kCpu;
  keep.threads = 2;
  keep.aspect = Aspect::kKeep;
  Segmenter segmenter(manifest, keep);
  const struct { int w, h, net_w, net_h; } cases[] = {{480, 360, 513, 385}, {360, 480, 385, 513}, {640, 360, 513, 289},
                                                     {300, 300, 513, 513}};
  for (const auto& c : cases) {
    const auto rgb = test_frame(c.w, c.h);
    const FrameView frame = FrameView::packed(PixelFormat::kRGB, rgb.data(), c.w, c.h, 3 * c.w);
    const std::vector<std::uint8_t> kept = segmenter.segment(frame).class_map;
    EXPECT_EQ(segmenter.network().input_width, c.net_w) << c.w << "x" << c.h;
    EXPECT_EQ(segmenter.network().input_height, c.net_h) << c.w << "x" << c.h;
    EXPECT_EQ(segmenter.network().logits_width, (c.net_w - 1) / 16 + 1);
    if (c.w != 480) continue;  // one explicit-size comparison is enough for the time it takes
    SegmenterOptions fixed = keep;
    fixed.aspect = Aspect::kStretch;
    fixed.input_width = c.net_w;
    fixed.input_height = c.net_h;
    Segmenter explicit_size(manifest, fixed);
    EXPECT_EQ(explicit_size.segment(frame).class_map, kept);
  }
}

TEST(InputSize, AspectOptionErrors) {
  expect_error([] { aspect_from_string("wide"); }, ErrorCode::kInvalidArgument, {"'wide'", "stretch or keep"});
  EXPECT_EQ(aspect_from_string("keep"), Aspect::kKeep);
  EXPECT_STREQ(aspect_name(aspect_from_string("stretch")), "stretch");
  // The 257x257 ONNX model pools a fixed 33x33 window: keep refuses the first non-square frame,
  // naming the node, and the Segmenter stays usable for square frames.
  const fs::path file = fs::path(DEEPLAB_SHARED_DIR) / "models" / "deeplab_v3_1_default_1.onnx";
  if (!fs::exists(file)) GTEST_SKIP() << "the shared 257x257 model is absent";
  ModelManifest m = load_manifest((fs::path(DEEPLAB_SOURCE_DIR) / "models" / "deeplabv3-mnv2-voc.yaml").string());
  m.file = file.string();
  SegmenterOptions keep;
  keep.device = Device::kCpu;
  keep.threads = 1;
  keep.aspect = Aspect::kKeep;
  Segmenter segmenter(m, keep);
  const auto wide = test_frame(480, 360), square = test_frame(100, 100);
  expect_error([&] { segmenter.segment(FrameView::packed(PixelFormat::kRGB, wide.data(), 480, 360, 3 * 480)); },
               ErrorCode::kManifestMismatch, {"AveragePool node 'AvgPool2D/AvgPool'", "[1,193,257,3]"});
  EXPECT_EQ(segmenter.segment(FrameView::packed(PixelFormat::kRGB, square.data(), 100, 100, 300)).class_map.size(), 10000u);
}
