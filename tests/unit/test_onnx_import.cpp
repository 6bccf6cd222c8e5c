// Malformed, truncated and unsupported models must surface as a deeplab::Error with the right code
// and a message naming the file, node, op or tensor at fault — never a crash or another exception.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "deeplab/error.h"
#include "deeplab/manifest.h"
#include "deeplab/segmenter.h"
#include "expect_error.h"
#include "graph/fold.h"
#include "graph/passes.h"
#include "network_loader.h"
#include "onnx/onnx_import.h"
#include "onnx_builder.h"

using namespace deeplab;
using deeplab::test::OnnxAttr;
using deeplab::test::OnnxBuilder;
using deeplab::test::random_floats;
using deeplab::test::test_file_path;

using deeplab::test::expect_error;

namespace {

// x[1,3,8,8] -> Conv(4 filters, 3x3, pad 1, with bias) -> Relu -> y
OnnxBuilder small_model(int opset = 13) {
  OnnxBuilder b(opset);
  b.input("x", {1, 3, 8, 8});
  b.initializer("w", {4, 3, 3, 3}, random_floats(4 * 3 * 3 * 3, 1));
  b.initializer("b", {4}, random_floats(4, 2));
  b.node("Conv", {"x", "w", "b"}, {"c"}, {OnnxAttr::ints("pads", {1, 1, 1, 1})}, "conv");
  b.node("Relu", {"c"}, {"y"}, {}, "relu");
  b.output("y");
  return b;
}

Graph import_bytes(const std::string& bytes, const std::string& name = "test.onnx") {
  return import_onnx_bytes(bytes.data(), bytes.size(), name);
}

// Import + fold + optimize, as a loader would, with the model's own input shape.
void load_bytes(const std::string& bytes, const std::string& name = "test.onnx") {
  Graph g = import_bytes(bytes, name);
  fold_constants_and_infer_shapes(g, g.values[g.inputs[0]].shape);
  optimize_graph(g, OptimizeOptions{});
}

std::string save_temp(const OnnxBuilder& b, const std::string& name) {
  const std::string path = test_file_path(name);
  b.save(path);
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

const std::string kSharedModel = std::string(DEEPLAB_SHARED_DIR) + "/models/deeplab_v3_1_default_1.onnx";

}  // namespace

TEST(OnnxImport, SmallModelImportsAndLoads) {
  // The positive control for everything below: the unmodified model is fine.
  const std::string bytes = small_model().serialize();
  Graph g = import_bytes(bytes);
  EXPECT_EQ(g.nodes.size(), 2u);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.values[g.inputs[0]].name, "x");
  EXPECT_NO_THROW(load_bytes(bytes));
}

TEST(OnnxImport, EmptyFileIsCorrupt) {
  expect_error([] { import_onnx_bytes("", 0, "empty.onnx"); }, ErrorCode::kModelCorrupt,
               {"empty.onnx", "not a valid ONNX model"});
  const std::string path = test_file_path("empty.onnx");
  { std::ofstream f(path, std::ios::binary | std::ios::trunc); }
  expect_error([&] { import_onnx_file(path); }, ErrorCode::kModelCorrupt, {path});
  expect_error([&] { load_cpu_network(path, LoadOptions{}); }, ErrorCode::kModelCorrupt, {path});
  std::remove(path.c_str());
}

TEST(OnnxImport, RandomBytesAreCorrupt) {
  for (std::uint32_t seed = 0; seed < 16; ++seed) {
    const std::size_t size = 1 + seed * 97;
    const auto noise = random_floats(size, 100 + seed, 0.0f, 256.0f);
    std::string bytes(size, '\0');
    for (std::size_t k = 0; k < size; ++k) bytes[k] = static_cast<char>(static_cast<int>(noise[k]));
    expect_error([&] { load_bytes(bytes, "noise.onnx"); }, ErrorCode::kModelCorrupt, {"noise.onnx"},
                 "seed " + std::to_string(seed));
  }
}

TEST(OnnxImport, TruncatedModelIsCorruptAtEverySixteenth) {
  // A model big enough that every cut below lands inside the graph's initializer data.
  OnnxBuilder b(13);
  b.input("x", {1, 8, 16, 16});
  b.initializer("w", {16, 8, 3, 3}, random_floats(16 * 8 * 3 * 3, 3));
  b.node("Conv", {"x", "w"}, {"c"}, {OnnxAttr::ints("pads", {1, 1, 1, 1})}, "conv");
  b.node("Relu", {"c"}, {"y"}, {}, "relu");
  b.output("y");
  const std::string bytes = b.serialize();
  ASSERT_NO_THROW(load_bytes(bytes));
  for (int k = 1; k < 16; ++k) {
    const std::string cut = bytes.substr(0, bytes.size() * k / 16);
    expect_error([&] { load_bytes(cut, "cut.onnx"); }, ErrorCode::kModelCorrupt, {"cut.onnx", "truncated"},
                 "cut at " + std::to_string(k) + "/16 (" + std::to_string(cut.size()) + " bytes)");
  }
}

TEST(OnnxImport, TruncationAtAnyByteNeverCrashes) {
  // Some cuts fall on a field boundary and parse: those must load or fail with a deeplab::Error.
  const std::string bytes = small_model().serialize();
  int rejected = 0;
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    try {
      load_bytes(bytes.substr(0, n), "cut.onnx");
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, static_cast<int>(bytes.size()) / 2);
}

TEST(OnnxImport, FlippedBitsNeverCrash) {
  const std::string bytes = small_model().serialize();
  for (std::size_t k = 0; k < 256; ++k) {
    std::string bad = bytes;
    const std::size_t at = (k * 7919) % bad.size();
    bad[at] = static_cast<char>(bad[at] ^ (1 << (k % 8)));
    try {
      load_bytes(bad, "flipped.onnx");
    } catch (const Error&) {
    }
  }
}

TEST(OnnxImport, MissingFileIsNotFound) {
  const std::string path = test_file_path("does_not_exist.onnx");
  expect_error([&] { import_onnx_file(path); }, ErrorCode::kNotFound, {path});
  expect_error([&] { load_cpu_network(path, LoadOptions{}); }, ErrorCode::kNotFound, {path});
  FinalResizeInfo info;
  expect_error([&] { load_optimized_graph(path, LoadOptions{}, &info); }, ErrorCode::kNotFound, {path});
}

TEST(OnnxImport, UnsupportedOpNamesOpAndNode) {
  {  // LSTM over a [seq, batch, features] input.
    OnnxBuilder b(13);
    b.input("x", {5, 1, 4});
    b.initializer("W", {1, 4 * 6, 4}, random_floats(4 * 6 * 4, 4));
    b.initializer("R", {1, 4 * 6, 6}, random_floats(4 * 6 * 6, 5));
    b.node("LSTM", {"x", "W", "R"}, {"y"}, {OnnxAttr::i("hidden_size", 6)}, "encoder_lstm");
    b.output("y");
    const std::string path = save_temp(b, "lstm.onnx");
    expect_error([&] { load_cpu_network(path, LoadOptions{}); }, ErrorCode::kUnsupported,
                 {"LSTM", "encoder_lstm", path});
    std::remove(path.c_str());
  }
  {  // NonMaxSuppression after a conv.
    OnnxBuilder b(11);
    b.input("boxes", {1, 10, 4});
    b.initializer("scores", {1, 1, 10}, random_floats(10, 6, 0.0f, 1.0f));
    b.node("NonMaxSuppression", {"boxes", "scores"}, {"selected"}, {}, "nms_7");
    b.output("selected");
    expect_error([&] { load_bytes(b.serialize(), "nms.onnx"); }, ErrorCode::kUnsupported,
                 {"NonMaxSuppression", "nms_7", "nms.onnx"});
  }
}

TEST(OnnxImport, NodeReadingUndefinedValue) {
  OnnxBuilder b = small_model();
  b.node("Add", {"y", "ghost"}, {"z"}, {}, "add_ghost");
  b.graph().mutable_output(0)->set_name("z");
  expect_error([&] { import_bytes(b.serialize(), "ghost.onnx"); }, ErrorCode::kModelCorrupt,
               {"ghost.onnx", "add_ghost", "'ghost'"});
}

TEST(OnnxImport, GraphOutputNeverProduced) {
  OnnxBuilder b = small_model();
  b.output("nowhere");
  expect_error([&] { import_bytes(b.serialize(), "out.onnx"); }, ErrorCode::kModelCorrupt, {"'nowhere'"});
}

TEST(OnnxImport, ValueDefinedTwice) {
  OnnxBuilder b = small_model();
  b.node("Relu", {"x"}, {"c"}, {}, "relu_again");
  expect_error([&] { import_bytes(b.serialize(), "twice.onnx"); }, ErrorCode::kModelCorrupt, {"'c'", "twice"});
}

TEST(OnnxImport, RawDataWithWrongByteCount) {
  OnnxBuilder b = small_model();
  auto* w = b.graph().mutable_initializer(0);
  ASSERT_EQ(w->name(), "w");
  w->set_raw_data(w->raw_data().substr(0, 100 * sizeof(float) + 2));
  expect_error([&] { import_bytes(b.serialize(), "raw.onnx"); }, ErrorCode::kModelCorrupt,
               {"raw.onnx", "'w'", "402 bytes", "432"});

  // float_data with too few values, and int64 raw_data not a multiple of 8.
  OnnxBuilder c = small_model();
  auto* bias = c.graph().mutable_initializer(1);
  bias->clear_raw_data();
  bias->add_float_data(1.0f);
  expect_error([&] { import_bytes(c.serialize(), "floats.onnx"); }, ErrorCode::kModelCorrupt, {"'b'", "1 values"});
  OnnxBuilder d = small_model();
  d.initializer_int64("shape", {2}, {1, 2});
  d.graph().mutable_initializer(2)->set_raw_data(std::string(12, '\0'));
  expect_error([&] { import_bytes(d.serialize(), "ints.onnx"); }, ErrorCode::kModelCorrupt, {"'shape'", "12 bytes"});
}

TEST(OnnxImport, InitializerWithNegativeOrHugeDims) {
  OnnxBuilder b = small_model();
  b.graph().mutable_initializer(0)->set_dims(0, -4);
  expect_error([&] { import_bytes(b.serialize(), "neg.onnx"); }, ErrorCode::kModelCorrupt,
               {"neg.onnx", "'w'", "invalid shape", "-4"});
  OnnxBuilder c = small_model();
  auto* w = c.graph().mutable_initializer(0);
  for (int k = 0; k < 4; ++k) w->set_dims(k, std::int64_t{1} << 20);
  expect_error([&] { import_bytes(c.serialize(), "huge.onnx"); }, ErrorCode::kModelCorrupt, {"'w'", "invalid shape"});
}

TEST(OnnxImport, TwoInputsAreUnsupported) {
  OnnxBuilder b = small_model();
  b.input("second", {1, 3, 8, 8});
  expect_error([&] { import_bytes(b.serialize(), "two.onnx"); }, ErrorCode::kUnsupported,
               {"two.onnx", "2 non-constant inputs"});
}

TEST(OnnxImport, NonFloatInputIsUnsupported) {
  OnnxBuilder b(13);
  b.input("x", {1, 3, 8, 8}, onnx::TensorProto::UINT8);
  b.node("Relu", {"x"}, {"y"});
  b.output("y");
  expect_error([&] { import_bytes(b.serialize(), "u8.onnx"); }, ErrorCode::kUnsupported, {"'x'", "float"});
}

TEST(OnnxImport, InitializerListedAsInputIsNotAnInput) {
  // Old exporters list every initializer among the graph inputs; that is still one image input.
  OnnxBuilder b = small_model(9);
  b.input("w", {4, 3, 3, 3});
  b.input("b", {4});
  Graph g = import_bytes(b.serialize());
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.values[g.inputs[0]].name, "x");
}

TEST(OnnxImport, CustomDomainOpIsUnsupported) {
  OnnxBuilder b = small_model();
  auto& n = b.node("FusedConv", {"y", "w"}, {"z"}, {}, "ms_fused");
  n.set_domain("com.microsoft");
  b.graph().mutable_output(0)->set_name("z");
  expect_error([&] { import_bytes(b.serialize(), "custom.onnx"); }, ErrorCode::kUnsupported,
               {"custom.onnx", "com.microsoft::FusedConv", "ms_fused", "custom domain"});
}

TEST(OnnxImport, Opset99IsUnsupported) {
  OnnxBuilder b = small_model(99);
  expect_error([&] { import_bytes(b.serialize(), "future.onnx"); }, ErrorCode::kUnsupported,
               {"future.onnx", "opset 99"});
}

TEST(OnnxImport, ExternalDataIsUnsupported) {
  OnnxBuilder b = small_model();
  auto* w = b.graph().mutable_initializer(0);
  w->clear_raw_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* location = w->add_external_data();
  location->set_key("location");
  location->set_value("weights.bin");
  expect_error([&] { import_bytes(b.serialize(), "external.onnx"); }, ErrorCode::kUnsupported,
               {"external.onnx", "'w'", "external data"});
}

TEST(OnnxImport, UnsupportedTensorTypeNamesTensor) {
  OnnxBuilder b = small_model();
  auto* w = b.graph().mutable_initializer(0);
  w->set_data_type(onnx::TensorProto::STRING);
  expect_error([&] { import_bytes(b.serialize(), "strings.onnx"); }, ErrorCode::kUnsupported, {"'w'", "data type"});
}

TEST(OnnxImport, AttributeOfWrongTypeIsCorrupt) {
  OnnxBuilder b(13);
  b.input("x", {1, 3, 8, 8});
  b.initializer("w", {4, 3, 3, 3}, random_floats(108, 1));
  b.node("Conv", {"x", "w"}, {"y"}, {OnnxAttr::f("group", 1.0f)}, "float_group");
  b.output("y");
  expect_error([&] { load_bytes(b.serialize(), "attr.onnx"); }, ErrorCode::kModelCorrupt,
               {"float_group", "'group'", "wrong type"});
}

// A fixed input shape takes another height and width where nothing in the graph depends on them
// (this convolution does not; test_input_size.cpp has graphs that do), never other channels or rank.
TEST(OnnxImport, InputShapeThatCannotBeTakenIsAMismatch) {
  const std::string path = save_temp(small_model(), "fixed.onnx");
  LoadOptions options;
  options.input_shape = {1, 3, 16, 16};
  const LoadedNetwork loaded = load_cpu_network(path, options);
  const Graph& g = loaded.network->graph();
  EXPECT_EQ(g.values[g.inputs[0]].shape, options.input_shape);
  options.input_shape = {1, 4, 8, 8};
  expect_error([&] { load_cpu_network(path, options); }, ErrorCode::kManifestMismatch, {"'x'", "[1,3,8,8]"});
  options.input_shape = {1, 3, 8};
  expect_error([&] { load_cpu_network(path, options); }, ErrorCode::kManifestMismatch, {"'x'", "rank"});
  std::remove(path.c_str());
}

// ---- manifests ----

namespace {

// x[1,3,16,16] NCHW -> 1x1 Conv -> 5 class scores.
OnnxBuilder five_class_model() {
  OnnxBuilder b(13);
  b.input("x", {1, 3, 16, 16});
  b.initializer("w", {5, 3, 1, 1}, random_floats(15, 7));
  b.node("Conv", {"x", "w"}, {"logits"}, {}, "classifier");
  b.output("logits");
  return b;
}

// Two heads on one input, as torchvision's models with an auxiliary classifier: "aux" (3 classes,
// listed first) and "out" (5 classes).
OnnxBuilder two_output_model() {
  OnnxBuilder b(13);
  b.input("x", {1, 3, 16, 16});
  b.initializer("w_aux", {3, 3, 1, 1}, random_floats(9, 3));
  b.initializer("w_out", {5, 3, 1, 1}, random_floats(15, 7));
  b.node("Conv", {"x", "w_aux"}, {"aux"}, {}, "aux_head");
  b.node("Conv", {"x", "w_out"}, {"out"}, {}, "out_head");
  b.output("aux");
  b.output("out");
  return b;
}

std::string write_manifest(const std::string& name, const std::string& model_path, const std::string& sha256,
                           const std::string& input_name, const std::string& output = "") {
  const std::string path = test_file_path(name + ".yaml");
  std::ofstream f(path, std::ios::trunc);
  f << "name: " << name << "\n"
    << "file: " << model_path << "\n";
  if (!sha256.empty()) f << "sha256: " << sha256 << "\n";
  if (!output.empty()) f << "output: " << output << "\n";
  f << "input:\n"
    << "  name: " << input_name << "\n"
    << "  width: 16\n"
    << "  height: 16\n"
    << "  layout: NCHW\n"
    << "  color: RGB\n"
    << "  scale: 0.00392156862745098\n"
    << "  mean: [0.485, 0.456, 0.406]\n"
    << "  std: [0.229, 0.224, 0.225]\n";
  return path;
}

SegmenterOptions cpu_options() {
  SegmenterOptions options;
  options.device = Device::kCpu;
  options.threads = 1;
  return options;
}

}  // namespace

TEST(OnnxImport, ManifestMatchingTheModelLoads) {
  const std::string model = save_temp(five_class_model(), "manifest_ok.onnx");
  const std::string yaml = write_manifest("manifest_ok", model, sha256_file(model), "x");
  Segmenter segmenter(resolve_model(yaml), cpu_options());
  EXPECT_EQ(segmenter.network().num_classes, 5);
  std::vector<std::uint8_t> rgb(20 * 12 * 3, 128);
  const Segmentation& result = segmenter.segment(FrameView::packed(PixelFormat::kRGB, rgb.data(), 20, 12, 60));
  EXPECT_EQ(result.class_map.size(), 20u * 12u);
  std::remove(model.c_str());
  std::remove(yaml.c_str());
}

TEST(OnnxImport, ManifestWithWrongSha256IsAMismatch) {
  const std::string model = save_temp(five_class_model(), "manifest_sha.onnx");
  const std::string wrong(64, '0');
  const std::string yaml = write_manifest("manifest_sha", model, wrong, "x");
  expect_error([&] { Segmenter s(resolve_model(yaml), cpu_options()); }, ErrorCode::kManifestMismatch,
               {model, "sha256", wrong, sha256_file(model)});
  std::remove(model.c_str());
  std::remove(yaml.c_str());
}

TEST(OnnxImport, ManifestWithWrongInputNameIsAMismatch) {
  const std::string model = save_temp(five_class_model(), "manifest_name.onnx");
  const std::string yaml = write_manifest("manifest_name", model, "", "image_tensor");
  expect_error([&] { Segmenter s(resolve_model(yaml), cpu_options()); }, ErrorCode::kManifestMismatch,
               {model, "'x'", "'image_tensor'"});
  std::remove(model.c_str());
  std::remove(yaml.c_str());
}

// The manifest's `output:` picks the head that is segmented; without it, the first output.
TEST(OnnxImport, ManifestOutputSelectsTheSegmentedOutput) {
  const std::string model = save_temp(two_output_model(), "manifest_two_outputs.onnx");
  const std::string named = write_manifest("manifest_out", model, "", "x", "out");
  EXPECT_EQ(Segmenter(resolve_model(named), cpu_options()).network().num_classes, 5);
  const std::string first = write_manifest("manifest_first", model, "", "x");
  EXPECT_EQ(Segmenter(resolve_model(first), cpu_options()).network().num_classes, 3);
  const std::string aux = write_manifest("manifest_aux", model, "", "x", "aux");
  EXPECT_EQ(Segmenter(resolve_model(aux), cpu_options()).network().num_classes, 3);
  for (const auto& path : {model, named, first, aux}) std::remove(path.c_str());
}

TEST(OnnxImport, ManifestOutputThatIsNotAnOutputIsAMismatch) {
  const std::string model = save_temp(two_output_model(), "manifest_bad_output.onnx");
  const std::string yaml = write_manifest("manifest_bad_output", model, "", "x", "logits");
  expect_error([&] { Segmenter s(resolve_model(yaml), cpu_options()); }, ErrorCode::kManifestMismatch,
               {model, "'logits'", "'aux', 'out'"});
  std::remove(model.c_str());
  std::remove(yaml.c_str());
}

// ---- the real model ----

TEST(OnnxImport, RealModelTruncatedIsCorrupt) {
  if (!std::filesystem::exists(kSharedModel)) GTEST_SKIP() << kSharedModel << " is not available";
  const std::string bytes = read_file(kSharedModel);
  ASSERT_GT(bytes.size(), 1000u);
  ASSERT_NO_THROW(import_bytes(bytes, "real.onnx"));
  const std::size_t cuts[] = {1, 16, 100, 4096, bytes.size() / 3, bytes.size() / 2, bytes.size() * 7 / 8,
                              bytes.size() - 100, bytes.size() - 1};
  for (std::size_t n : cuts) {
    expect_error([&] { load_bytes(bytes.substr(0, n), "real_cut.onnx"); }, ErrorCode::kModelCorrupt,
                 {"real_cut.onnx"}, "cut at " + std::to_string(n) + " bytes");
  }
  // And through the file loader, naming the path.
  const std::string path = test_file_path("real_cut.onnx");
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  expect_error([&] { load_cpu_network(path, LoadOptions{}); }, ErrorCode::kModelCorrupt, {path});
  std::remove(path.c_str());
}

// ---- inputs the fuzzer (tests/fuzz) found crashing the loader; each must now be a clean error ----

namespace {

OnnxBuilder relu_then(const std::string& op, const std::vector<std::string>& extra_inputs,
                      const std::vector<OnnxAttr>& attrs) {
  OnnxBuilder b(13);
  b.input("x", {1, 3, 4, 5});
  b.node("Relu", {"x"}, {"r"});
  std::vector<std::string> inputs = {"r"};
  inputs.insert(inputs.end(), extra_inputs.begin(), extra_inputs.end());
  b.node(op, inputs, {"y"}, attrs, "suspect");
  b.output("y");
  return b;
}

}  // namespace

TEST(OnnxImport, FuzzFindingsAreErrors) {
  {  // Transpose perm with a negative or repeated axis (the kernel indexed strides with it).
    for (const std::vector<std::int64_t>& perm : {std::vector<std::int64_t>{0, 1, -1, 2}, {0, 1, 3, 3}}) {
      const OnnxBuilder b = relu_then("Transpose", {}, {OnnxAttr::ints("perm", perm)});
      expect_error([&] { load_bytes(b.serialize()); }, ErrorCode::kModelCorrupt, {"suspect", "not a permutation"});
    }
  }
  {  // A node without outputs.
    OnnxBuilder b = small_model();
    b.node("Relu", {"y"}, {}, {}, "no_output");
    expect_error([&] { import_bytes(b.serialize()); }, ErrorCode::kModelCorrupt, {"no_output", "has no output"});
  }
  {  // A foldable op missing a required input (Shape -> Add with one operand).
    OnnxBuilder b(13);
    b.input("x", {1, 3, 4, 5});
    b.node("Shape", {"x"}, {"s"});
    b.node("Add", {"s"}, {"t"}, {}, "half_add");
    b.node("Reshape", {"x", "t"}, {"y"});
    b.output("y");
    expect_error([&] { load_bytes(b.serialize()); }, ErrorCode::kModelCorrupt, {"half_add", "missing input 1"});
  }
  {  // Concat with no inputs at all.
    OnnxBuilder b(13);
    b.input("x", {1, 3, 4, 5});
    b.node("Concat", {}, {"c"}, {OnnxAttr::i("axis", 0)}, "empty_concat");
    b.node("Reshape", {"x", "c"}, {"y"});
    b.output("y");
    expect_error([&] { load_bytes(b.serialize()); }, ErrorCode::kModelCorrupt, {"empty_concat", "no inputs"});
  }
  {  // Integer convolution weights (read as floats by oneDNN).
    OnnxBuilder b = small_model();
    b.graph().mutable_initializer(0)->set_data_type(onnx::TensorProto::INT32);
    expect_error([&] { load_bytes(b.serialize()); }, ErrorCode::kUnsupported, {"conv", "float"});
  }
  {  // Slice with an extreme step, and Reshape dims whose product overflows.
    OnnxBuilder b(13);
    b.input("x", {1, 3, 4, 5});
    b.node("Shape", {"x"}, {"s"});
    b.initializer_int64("st", {1}, {1}).initializer_int64("en", {1}, {std::numeric_limits<std::int64_t>::max()});
    b.initializer_int64("ax", {1}, {0}).initializer_int64("step", {1}, {std::numeric_limits<std::int64_t>::max()});
    b.node("Slice", {"s", "st", "en", "ax", "step"}, {"one"}, {}, "big_step");  // = [3]
    b.initializer_int64("tail", {1}, {20});
    b.node("Concat", {"one", "tail"}, {"shape"}, {OnnxAttr::i("axis", 0)});
    b.node("Reshape", {"x", "shape"}, {"y"});
    b.output("y");
    Graph g = import_bytes(b.serialize());
    fold_constants_and_infer_shapes(g, {1, 3, 4, 5});
    EXPECT_EQ(g.values[g.outputs[0]].shape, (std::vector<std::int64_t>{3, 20}));
    OnnxBuilder c = relu_then("Reshape", {"shape"}, {});
    c.initializer_int64("shape", {3}, {std::int64_t{1} << 40, std::int64_t{1} << 40, -1});
    expect_error([&] { load_bytes(c.serialize()); }, ErrorCode::kModelCorrupt, {"suspect", "cannot reshape"});
  }
  {  // Resize scaling the batch axis, and scales that overflow the output size.
    OnnxBuilder b = relu_then("Resize", {"", "scales"}, {});
    b.initializer("scales", {4}, {0.5f, 1.0f, 1.0f, 1.0f});
    expect_error([&] { load_bytes(b.serialize()); }, ErrorCode::kUnsupported, {"suspect", "axes other than H and W"});
    OnnxBuilder c = relu_then("Resize", {"", "scales"}, {});
    c.initializer("scales", {4}, {1.0f, 1.0f, 1e30f, 1.0f});
    expect_error([&] { load_bytes(c.serialize()); }, ErrorCode::kModelCorrupt, {"suspect", "too large"});
  }
  {  // BatchNormalization with fewer parameters than channels (folding read past them).
    OnnxBuilder b = small_model();
    for (const char* name : {"s", "t", "m", "v"}) b.initializer(name, {1}, {1.0f});
    b.node("BatchNormalization", {"y", "s", "t", "m", "v"}, {"z"}, {}, "short_bn");
    b.graph().mutable_output(0)->set_name("z");
    expect_error([&] { load_bytes(b.serialize()); }, ErrorCode::kUnsupported, {"short_bn", "one value per channel"});
  }
  {  // A tiny file that folds into a gigantic constant.
    OnnxBuilder b(13);
    b.input("x", {1, 3, 4, 5});
    b.initializer_int64("dims", {2}, {std::int64_t{1} << 20, std::int64_t{1} << 20});
    b.node("ConstantOfShape", {"dims"}, {"huge"}, {}, "huge_constant");
    b.node("Add", {"x", "huge"}, {"y"});
    b.output("y");
    expect_error([&] { load_bytes(b.serialize()); }, ErrorCode::kModelCorrupt, {"huge_constant", "too large to fold"});
  }
}
