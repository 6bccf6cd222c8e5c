#include "onnx/onnx_import.h"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "deeplab/error.h"

namespace deeplab {
namespace {

[[noreturn]] void corrupt(const std::string& source, const std::string& what) {
  throw Error(ErrorCode::kModelCorrupt, source + ": " + what);
}

// Element count of a tensor shape, refusing negative or absurd dimensions (fuzzed files).
std::int64_t checked_count(const std::vector<std::int64_t>& shape, const std::string& source,
                           const std::string& name) {
  std::int64_t n = 1;
  for (auto d : shape) {
    if (d < 0 || (d > 0 && n > (std::int64_t{1} << 40) / d))
      corrupt(source, "tensor '" + name + "' has an invalid shape " + shape_string(shape));
    n *= d;
  }
  return n;
}

template <typename T>
std::vector<T> read_raw(const std::string& raw, std::int64_t count, const std::string& source,
                        const std::string& name) {
  if (static_cast<std::int64_t>(raw.size()) != count * static_cast<std::int64_t>(sizeof(T)))
    corrupt(source, "tensor '" + name + "' holds " + std::to_string(raw.size()) + " bytes, expected " +
                        std::to_string(count * sizeof(T)));
  std::vector<T> out(static_cast<std::size_t>(count));
  if (count) std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

Value tensor_to_value(const onnx::TensorProto& t, const std::string& source) {
  Value v;
  v.name = t.name();
  v.shape.assign(t.dims().begin(), t.dims().end());
  v.shape_known = true;
  v.is_constant = true;
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    throw Error(ErrorCode::kUnsupported,
                source + ": tensor '" + t.name() + "' uses external data files, which are not supported");
  const std::int64_t count = checked_count(v.shape, source, t.name());
  const bool raw = t.has_raw_data();
  auto check_size = [&](int n) {
    if (n != count)
      corrupt(source, "tensor '" + t.name() + "' holds " + std::to_string(n) + " values, expected " +
                          std::to_string(count));
  };
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      v.dtype = DType::kFloat;
      if (raw) {
        v.f = read_raw<float>(t.raw_data(), count, source, t.name());
      } else {
        check_size(t.float_data_size());
        v.f.assign(t.float_data().begin(), t.float_data().end());
      }
      break;
    case onnx::TensorProto::DOUBLE: {
      v.dtype = DType::kFloat;
      std::vector<double> d;
      if (raw) {
        d = read_raw<double>(t.raw_data(), count, source, t.name());
      } else {
        check_size(t.double_data_size());
        d.assign(t.double_data().begin(), t.double_data().end());
      }
      v.f.assign(d.begin(), d.end());
      break;
    }
    case onnx::TensorProto::INT64:
      v.dtype = DType::kInt64;
      if (raw) {
        v.i = read_raw<std::int64_t>(t.raw_data(), count, source, t.name());
      } else {
        check_size(t.int64_data_size());
        v.i.assign(t.int64_data().begin(), t.int64_data().end());
      }
      break;
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL: {
      v.dtype = DType::kInt64;
      if (raw) {
        if (t.data_type() == onnx::TensorProto::INT32) {
          auto d = read_raw<std::int32_t>(t.raw_data(), count, source, t.name());
          v.i.assign(d.begin(), d.end());
        } else if (t.data_type() == onnx::TensorProto::INT8) {
          auto d = read_raw<std::int8_t>(t.raw_data(), count, source, t.name());
          v.i.assign(d.begin(), d.end());
        } else {
          auto d = read_raw<std::uint8_t>(t.raw_data(), count, source, t.name());
          v.i.assign(d.begin(), d.end());
        }
      } else {
        check_size(t.int32_data_size());
        v.i.assign(t.int32_data().begin(), t.int32_data().end());
      }
      break;
    }
    default:
      throw Error(ErrorCode::kUnsupported, source + ": tensor '" + t.name() + "' has data type " +
                                               std::to_string(t.data_type()) +
                                               ", which is not supported (float, double and integers are)");
  }
  return v;
}

Attr convert_attr(const onnx::AttributeProto& a, Graph& g, const std::string& node_name) {
  Attr out;
  switch (a.type()) {
    case onnx::AttributeProto::INT: out.kind = Attr::kInt; out.i = a.i(); break;
    case onnx::AttributeProto::FLOAT: out.kind = Attr::kFloat; out.f = a.f(); break;
    case onnx::AttributeProto::STRING: out.kind = Attr::kString; out.s = a.s(); break;
    case onnx::AttributeProto::INTS:
      out.kind = Attr::kInts;
      out.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case onnx::AttributeProto::FLOATS:
      out.kind = Attr::kFloats;
      out.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case onnx::AttributeProto::TENSOR: {
      out.kind = Attr::kTensor;
      Value v = tensor_to_value(a.t(), g.source);
      v.name = node_name + "/" + a.name();
      out.tensor = g.add_value(std::move(v));
      break;
    }
    default:
      throw Error(ErrorCode::kUnsupported, g.source + ": node '" + node_name + "': attribute '" +
                                               a.name() + "' has an unsupported type");
  }
  return out;
}

// Resolves a value name, creating an activation value on first sight. Names produced by an earlier
// node (or inputs/initializers) must exist already: ONNX graphs are topologically sorted.
int value_for_input(Graph& g, std::map<std::string, int>& by_name, const std::string& name,
                    const onnx::NodeProto& node) {
  auto it = by_name.find(name);
  if (it == by_name.end())
    corrupt(g.source, node.op_type() + " node '" + node.name() + "' reads '" + name +
                          "', which no earlier node, input or initializer defines");
  return it->second;
}

void import_graph_inputs(const onnx::GraphProto& gp, Graph& g, std::map<std::string, int>& by_name) {
  for (const auto& in : gp.input()) {
    if (by_name.count(in.name())) continue;  // an initializer listed as input (old exporters)
    Value v;
    v.name = in.name();
    const auto& tt = in.type().tensor_type();
    if (tt.elem_type() != onnx::TensorProto::FLOAT)
      throw Error(ErrorCode::kUnsupported,
                  g.source + ": input '" + in.name() + "' is not float32 (only float inputs are supported)");
    for (const auto& d : tt.shape().dim())
      v.shape.push_back(d.has_dim_value() ? d.dim_value() : -1);  // -1: dynamic, fixed later
    int index = g.add_value(std::move(v));
    by_name[in.name()] = index;
    g.inputs.push_back(index);
  }
}

void import_nodes(const onnx::GraphProto& gp, Graph& g, std::map<std::string, int>& by_name) {
  int unnamed = 0;
  for (const auto& np : gp.node()) {
    if (!np.domain().empty() && np.domain() != "ai.onnx")
      throw Error(ErrorCode::kUnsupported, g.source + ": node '" + np.name() + "' uses op " +
                                               np.domain() + "::" + np.op_type() +
                                               " from a custom domain, which is not supported");
    Node n;
    n.op = np.op_type();
    n.name = np.name().empty() ? n.op + "_" + std::to_string(unnamed++) : np.name();
    if (np.output_size() == 0 || np.output(0).empty())
      corrupt(g.source, n.op + " node '" + n.name + "' has no output");
    for (const auto& a : np.attribute()) n.attrs[a.name()] = convert_attr(a, g, n.name);
    if (n.op == "Constant") {
      // A Constant node is just a value: make its output a constant, no node.
      if (np.output_size() != 1) corrupt(g.source, "Constant node '" + n.name + "' must have 1 output");
      auto it = n.attrs.find("value");
      if (it == n.attrs.end() || it->second.kind != Attr::kTensor)
        throw Error(ErrorCode::kUnsupported, g.source + ": Constant node '" + n.name +
                                                 "' has no 'value' tensor attribute (value_* forms are not supported)");
      g.values[it->second.tensor].name = np.output(0);
      by_name[np.output(0)] = it->second.tensor;
      continue;
    }
    for (const auto& in : np.input())
      n.inputs.push_back(in.empty() ? -1 : value_for_input(g, by_name, in, np));
    for (const auto& out : np.output()) {
      if (out.empty()) {
        n.outputs.push_back(-1);
        continue;
      }
      if (by_name.count(out)) corrupt(g.source, "value '" + out + "' is defined twice");
      Value v;
      v.name = out;
      int index = g.add_value(std::move(v));
      by_name[out] = index;
      n.outputs.push_back(index);
    }
    g.nodes.push_back(std::move(n));
  }
}

}  // namespace

Graph import_onnx_bytes(const void* data, std::size_t size, const std::string& source_name) {
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw Error(ErrorCode::kUnsupported, source_name + ": models over 2 GiB are not supported");
  onnx::ModelProto model;
  if (size == 0 || !model.ParseFromArray(data, static_cast<int>(size)))
    corrupt(source_name, "not a valid ONNX model (protobuf parse failed: truncated or not an ONNX file)");
  if (!model.has_graph() || model.graph().node_size() == 0)
    corrupt(source_name, "the ONNX model has no graph nodes");
  for (const auto& opset : model.opset_import())
    if ((opset.domain().empty() || opset.domain() == "ai.onnx") && opset.version() > 18)
      throw Error(ErrorCode::kUnsupported, source_name + ": opset " + std::to_string(opset.version()) +
                                               " is newer than the supported 7..18");

  Graph g;
  g.source = source_name;
  std::map<std::string, int> by_name;
  const auto& gp = model.graph();
  for (const auto& t : gp.initializer()) {
    if (by_name.count(t.name())) corrupt(source_name, "initializer '" + t.name() + "' is defined twice");
    by_name[t.name()] = g.add_value(tensor_to_value(t, source_name));
  }
  import_graph_inputs(gp, g, by_name);
  if (g.inputs.size() != 1)
    throw Error(ErrorCode::kUnsupported, source_name + ": the model has " + std::to_string(g.inputs.size()) +
                                             " non-constant inputs; exactly one image input is supported");
  import_nodes(gp, g, by_name);
  for (const auto& out : gp.output()) {
    auto it = by_name.find(out.name());
    if (it == by_name.end()) corrupt(source_name, "graph output '" + out.name() + "' is never produced");
    g.outputs.push_back(it->second);
  }
  if (g.outputs.empty()) corrupt(source_name, "the model has no outputs");
  return g;
}

Graph import_onnx_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(ErrorCode::kNotFound, path + ": model file not found or not readable");
  std::ostringstream bytes;
  bytes << file.rdbuf();
  if (!file.good() && !file.eof()) throw Error(ErrorCode::kIo, path + ": read error");
  const std::string data = bytes.str();
  return import_onnx_bytes(data.data(), data.size(), path);
}

}  // namespace deeplab
