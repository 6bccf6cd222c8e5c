#include "onnx_builder.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace deeplab::test {
namespace {

void set_dims(onnx::TensorProto& t, const std::vector<std::int64_t>& shape) {
  for (auto d : shape) t.add_dims(d);
}

}  // namespace

OnnxAttr OnnxAttr::i(const std::string& name, std::int64_t value) {
  OnnxAttr a;
  a.proto.set_name(name);
  a.proto.set_type(onnx::AttributeProto::INT);
  a.proto.set_i(value);
  return a;
}

OnnxAttr OnnxAttr::f(const std::string& name, float value) {
  OnnxAttr a;
  a.proto.set_name(name);
  a.proto.set_type(onnx::AttributeProto::FLOAT);
  a.proto.set_f(value);
  return a;
}

OnnxAttr OnnxAttr::s(const std::string& name, const std::string& value) {
  OnnxAttr a;
  a.proto.set_name(name);
  a.proto.set_type(onnx::AttributeProto::STRING);
  a.proto.set_s(value);
  return a;
}

OnnxAttr OnnxAttr::ints(const std::string& name, const std::vector<std::int64_t>& values) {
  OnnxAttr a;
  a.proto.set_name(name);
  a.proto.set_type(onnx::AttributeProto::INTS);
  for (auto v : values) a.proto.add_ints(v);
  return a;
}

OnnxAttr OnnxAttr::floats(const std::string& name, const std::vector<float>& values) {
  OnnxAttr a;
  a.proto.set_name(name);
  a.proto.set_type(onnx::AttributeProto::FLOATS);
  for (auto v : values) a.proto.add_floats(v);
  return a;
}

OnnxAttr OnnxAttr::tensor(const std::string& name, const std::vector<std::int64_t>& shape,
                          const std::vector<float>& values) {
  OnnxAttr a;
  a.proto.set_name(name);
  a.proto.set_type(onnx::AttributeProto::TENSOR);
  *a.proto.mutable_t() = make_tensor("", shape, values);
  return a;
}

OnnxAttr OnnxAttr::tensor_int64(const std::string& name, const std::vector<std::int64_t>& shape,
                                const std::vector<std::int64_t>& values) {
  OnnxAttr a;
  a.proto.set_name(name);
  a.proto.set_type(onnx::AttributeProto::TENSOR);
  *a.proto.mutable_t() = make_tensor_int64("", shape, values);
  return a;
}

onnx::TensorProto make_tensor(const std::string& name, const std::vector<std::int64_t>& shape,
                              const std::vector<float>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  set_dims(t, shape);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  return t;
}

onnx::TensorProto make_tensor_int64(const std::string& name, const std::vector<std::int64_t>& shape,
                                    const std::vector<std::int64_t>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::INT64);
  set_dims(t, shape);
  t.set_raw_data(
      std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(std::int64_t)));
  return t;
}

OnnxBuilder::OnnxBuilder(int opset) {
  model_.set_ir_version(opset >= 13 ? 7 : 4);
  model_.set_producer_name("gst-deeplab tests");
  auto* op = model_.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  model_.mutable_graph()->set_name("test");
}

OnnxBuilder& OnnxBuilder::input(const std::string& name, const std::vector<std::int64_t>& shape,
                                int elem_type) {
  auto* in = graph().add_input();
  in->set_name(name);
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* s = tt->mutable_shape();
  for (std::size_t k = 0; k < shape.size(); ++k) {
    auto* d = s->add_dim();
    if (shape[k] >= 0) d->set_dim_value(shape[k]);
    else d->set_dim_param("d" + std::to_string(k));
  }
  return *this;
}

OnnxBuilder& OnnxBuilder::output(const std::string& name) {
  auto* out = graph().add_output();
  out->set_name(name);
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  return *this;
}

OnnxBuilder& OnnxBuilder::initializer(const std::string& name, const std::vector<std::int64_t>& shape,
                                      const std::vector<float>& values) {
  *graph().add_initializer() = make_tensor(name, shape, values);
  return *this;
}

OnnxBuilder& OnnxBuilder::initializer_int64(const std::string& name, const std::vector<std::int64_t>& shape,
                                            const std::vector<std::int64_t>& values) {
  *graph().add_initializer() = make_tensor_int64(name, shape, values);
  return *this;
}

OnnxBuilder& OnnxBuilder::constant(const std::string& name, const std::vector<std::int64_t>& shape,
                                   const std::vector<float>& values) {
  node("Constant", {}, {name}, {OnnxAttr::tensor("value", shape, values)}, name + "_const");
  return *this;
}

OnnxBuilder& OnnxBuilder::constant_int64(const std::string& name, const std::vector<std::int64_t>& shape,
                                         const std::vector<std::int64_t>& values) {
  node("Constant", {}, {name}, {OnnxAttr::tensor_int64("value", shape, values)}, name + "_const");
  return *this;
}

onnx::NodeProto& OnnxBuilder::node(const std::string& op, const std::vector<std::string>& inputs,
                                   const std::vector<std::string>& outputs, const std::vector<OnnxAttr>& attrs,
                                   const std::string& name) {
  auto* n = graph().add_node();
  n->set_op_type(op);
  n->set_name(name.empty() ? op + "_" + std::to_string(graph().node_size() - 1) : name);
  for (const auto& in : inputs) n->add_input(in);
  for (const auto& out : outputs) n->add_output(out);
  for (const auto& a : attrs) *n->add_attribute() = a.proto;
  return *n;
}

std::string OnnxBuilder::serialize() const {
  std::string bytes;
  if (!model_.SerializeToString(&bytes)) throw std::runtime_error("OnnxBuilder: serialization failed");
  return bytes;
}

void OnnxBuilder::save(const std::string& path) const {
  const std::string bytes = serialize();
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!file) throw std::runtime_error("OnnxBuilder: cannot write " + path);
}

std::vector<float> random_floats(std::size_t count, std::uint32_t seed, float lo, float hi) {
  // splitmix64: the same sequence everywhere (std:: distributions are implementation-defined).
  std::uint64_t state = 0x9E3779B97F4A7C15ull * (static_cast<std::uint64_t>(seed) + 1);
  std::vector<float> out(count);
  for (auto& v : out) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const float unit = static_cast<float>(z >> 40) * (1.0f / 16777216.0f);  // [0, 1)
    v = lo + (hi - lo) * unit;
  }
  return out;
}

std::string test_file_path(const std::string& name) {
#ifdef DEEPLAB_TEST_WORK_DIR
  std::filesystem::path dir = DEEPLAB_TEST_WORK_DIR;
#else
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "deeplab-tests";
#endif
  std::filesystem::create_directories(dir);
  return (dir / (std::to_string(::getpid()) + "_" + name)).string();
}

void add_dynamic_resize_sizes(OnnxBuilder& b, int opset, const std::string& x, const std::string& f) {
  b.node("Shape", {x}, {"sx"});
  b.initializer_int64("i2", {}, {2}).initializer_int64("i3", {}, {3});
  b.node("Gather", {"sx", "i2"}, {"h"}, {OnnxAttr::i("axis", 0)});
  b.node("Gather", {"sx", "i3"}, {"w"}, {OnnxAttr::i("axis", 0)});
  if (opset >= 13) {
    b.initializer_int64("axes0", {1}, {0});
    b.node("Unsqueeze", {"h", "axes0"}, {"hu"});
    b.node("Unsqueeze", {"w", "axes0"}, {"wu"});
  } else {
    b.node("Unsqueeze", {"h"}, {"hu"}, {OnnxAttr::ints("axes", {0})});
    b.node("Unsqueeze", {"w"}, {"wu"}, {OnnxAttr::ints("axes", {0})});
  }
  b.node("Concat", {"hu", "wu"}, {"hw"}, {OnnxAttr::i("axis", 0)});
  b.node("Shape", {f}, {"sf"});
  b.initializer_int64("s0", {1}, {0}).initializer_int64("s2", {1}, {2});
  b.node("Slice", {"sf", "s0", "s2", "s0"}, {"nc"});
  b.node("Concat", {"nc", "hw"}, {"sizes_raw"}, {OnnxAttr::i("axis", 0)});
  b.node("Cast", {"sizes_raw"}, {"sizes"}, {OnnxAttr::i("to", onnx::TensorProto::INT64)});
}

}  // namespace deeplab::test
