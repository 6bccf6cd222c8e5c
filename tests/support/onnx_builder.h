// Builds small ONNX models in memory with the onnx protobuf API, for tests and fuzz seeds.
//
//   OnnxBuilder b(13);                                   // opset
//   b.input("x", {1, 3, 8, 8});                          // -1 = a dynamic dimension
//   b.initializer("w", {4, 3, 3, 3}, random_floats(108, 1));
//   b.node("Conv", {"x", "w"}, {"y"}, {OnnxAttr::ints("pads", {1, 1, 1, 1})});
//   b.output("y");
//   b.save(path);                                         // or b.serialize()
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

namespace deeplab::test {

// Attribute helpers: OnnxAttr::i("group", 2), OnnxAttr::floats("scales", {1, 1, 2, 2}), ...
struct OnnxAttr {
  onnx::AttributeProto proto;

  static OnnxAttr i(const std::string& name, std::int64_t value);
  static OnnxAttr f(const std::string& name, float value);
  static OnnxAttr s(const std::string& name, const std::string& value);
  static OnnxAttr ints(const std::string& name, const std::vector<std::int64_t>& values);
  static OnnxAttr floats(const std::string& name, const std::vector<float>& values);
  static OnnxAttr tensor(const std::string& name, const std::vector<std::int64_t>& shape,
                         const std::vector<float>& values);
  static OnnxAttr tensor_int64(const std::string& name, const std::vector<std::int64_t>& shape,
                               const std::vector<std::int64_t>& values);
};

// TensorProtos (raw_data little-endian, as exporters write them).
onnx::TensorProto make_tensor(const std::string& name, const std::vector<std::int64_t>& shape,
                              const std::vector<float>& values);
onnx::TensorProto make_tensor_int64(const std::string& name, const std::vector<std::int64_t>& shape,
                                    const std::vector<std::int64_t>& values);

class OnnxBuilder {
 public:
  explicit OnnxBuilder(int opset = 13);

  // Graph input of the given element type; -1 dims become symbolic ("d0", "d1", ...).
  OnnxBuilder& input(const std::string& name, const std::vector<std::int64_t>& shape,
                     int elem_type = onnx::TensorProto::FLOAT);
  OnnxBuilder& output(const std::string& name);
  OnnxBuilder& initializer(const std::string& name, const std::vector<std::int64_t>& shape,
                           const std::vector<float>& values);
  OnnxBuilder& initializer_int64(const std::string& name, const std::vector<std::int64_t>& shape,
                                 const std::vector<std::int64_t>& values);
  // A Constant node producing `name`.
  OnnxBuilder& constant(const std::string& name, const std::vector<std::int64_t>& shape,
                        const std::vector<float>& values);
  OnnxBuilder& constant_int64(const std::string& name, const std::vector<std::int64_t>& shape,
                              const std::vector<std::int64_t>& values);
  // Adds a node (name defaults to "<op>_<index>"); "" in inputs = an omitted optional input.
  // The reference stays valid until the next node is added.
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::vector<OnnxAttr>& attrs = {},
                        const std::string& name = "");

  onnx::ModelProto& model() { return model_; }
  onnx::GraphProto& graph() { return *model_.mutable_graph(); }
  std::string serialize() const;
  void save(const std::string& path) const;  // throws std::runtime_error on failure

 private:
  onnx::ModelProto model_;
};

// The subgraph of torchvision's dynamic-size export that computes a Resize's `sizes` input:
// Cast(Concat(Shape(f)[0:2], H(x), W(x))) to int64, as value "sizes" (intermediates "sx", "h",
// "w", "hu", "wu", "hw", "sf", "nc", "sizes_raw"). Unsqueeze takes its axes as an input from
// opset 13 on, as an attribute before.
void add_dynamic_resize_sizes(OnnxBuilder& b, int opset, const std::string& x, const std::string& f);

// Deterministic uniform floats in [lo, hi) from `seed` (same sequence on every platform).
std::vector<float> random_floats(std::size_t count, std::uint32_t seed, float lo = -1.0f, float hi = 1.0f);

// A fresh file path for a test artefact under DEEPLAB_TEST_WORK_DIR (or the system temp dir),
// unique per process: "<dir>/<pid>_<name>". The directory is created.
std::string test_file_path(const std::string& name);

}  // namespace deeplab::test
