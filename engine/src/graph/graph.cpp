#include "graph/graph.h"

#include <algorithm>
#include <limits>
#include <sstream>

#include "deeplab/error.h"

namespace deeplab {

std::int64_t Value::element_count() const {
  // -1 for an unknown (negative) dim; saturates instead of overflowing for absurd shapes.
  std::int64_t n = 1;
  for (auto d : shape) {
    if (d < 0) return -1;
    if (d > 0 && n > std::numeric_limits<std::int64_t>::max() / d) return std::numeric_limits<std::int64_t>::max();
    n *= d;
  }
  return n;
}

int Graph::add_value(Value value) {
  values.push_back(std::move(value));
  return static_cast<int>(values.size()) - 1;
}

int Graph::find_value(const std::string& name) const {
  for (std::size_t k = 0; k < values.size(); ++k)
    if (values[k].name == name) return static_cast<int>(k);
  return -1;
}

namespace {

Value constant_value(const std::string& name, DType dtype, std::vector<std::int64_t> shape) {
  Value v;
  v.name = name;
  v.dtype = dtype;
  v.shape = std::move(shape);
  v.shape_known = true;
  v.is_constant = true;
  return v;
}

}  // namespace

int Graph::add_constant(const std::string& name, std::vector<float> data,
                        std::vector<std::int64_t> shape) {
  Value v = constant_value(name, DType::kFloat, std::move(shape));
  v.f = std::move(data);
  return add_value(std::move(v));
}

int Graph::add_constant_int(const std::string& name, std::vector<std::int64_t> data,
                            std::vector<std::int64_t> shape) {
  Value v = constant_value(name, DType::kInt64, std::move(shape));
  v.i = std::move(data);
  return add_value(std::move(v));
}

int Graph::producer(int value) const {
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    if (nodes[k].dead) continue;
    for (int o : nodes[k].outputs)
      if (o == value) return static_cast<int>(k);
  }
  return -1;
}

std::vector<int> Graph::consumers(int value) const {
  std::vector<int> result;
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    if (nodes[k].dead) continue;
    const Node& n = nodes[k];
    if (std::find(n.inputs.begin(), n.inputs.end(), value) != n.inputs.end() || n.residual == value)
      result.push_back(static_cast<int>(k));
  }
  return result;
}

int Graph::use_count(int value) const {
  int count = 0;
  for (const Node& n : nodes) {
    if (n.dead) continue;
    count += static_cast<int>(std::count(n.inputs.begin(), n.inputs.end(), value));
    if (n.residual == value) ++count;
  }
  count += static_cast<int>(std::count(outputs.begin(), outputs.end(), value));
  return count;
}

bool Graph::is_graph_output(int value) const {
  return std::find(outputs.begin(), outputs.end(), value) != outputs.end();
}

void Graph::replace_uses(int from, int to) {
  for (Node& n : nodes) {
    if (n.dead) continue;
    for (int& in : n.inputs)
      if (in == from) in = to;
    if (n.residual == from) n.residual = to;
  }
  for (int& o : outputs)
    if (o == from) {
      // Keep the graph output's name: callers look outputs up by their ONNX name.
      values[to].name = values[from].name;
      o = to;
    }
}

void Graph::compact() {
  nodes.erase(std::remove_if(nodes.begin(), nodes.end(), [](const Node& n) { return n.dead; }),
              nodes.end());
}

void Graph::remove_unused() {
  bool changed = true;
  while (changed) {
    changed = false;
    for (Node& n : nodes) {
      if (n.dead) continue;
      bool used = false;
      for (int o : n.outputs)
        if (use_count(o) > 0) used = true;
      if (!used) {
        n.dead = true;
        changed = true;
      }
    }
  }
  compact();
}

std::string Graph::describe(const Node& node) const {
  return node.op + " node '" + node.name + "'";
}

static const Attr* find_attr(const Graph& g, const Node& n, const std::string& key, Attr::Kind kind) {
  auto it = n.attrs.find(key);
  if (it == n.attrs.end()) return nullptr;
  if (it->second.kind != kind)
    throw Error(ErrorCode::kModelCorrupt,
                g.source + ": " + g.describe(n) + ": attribute '" + key + "' has the wrong type");
  return &it->second;
}

std::int64_t attr_int(const Graph& g, const Node& n, const std::string& key, std::int64_t def) {
  const Attr* a = find_attr(g, n, key, Attr::kInt);
  return a ? a->i : def;
}

float attr_float(const Graph& g, const Node& n, const std::string& key, float def) {
  const Attr* a = find_attr(g, n, key, Attr::kFloat);
  return a ? a->f : def;
}

std::string attr_string(const Graph& g, const Node& n, const std::string& key, const std::string& def) {
  const Attr* a = find_attr(g, n, key, Attr::kString);
  return a ? a->s : def;
}

std::vector<std::int64_t> attr_ints(const Graph& g, const Node& n, const std::string& key,
                                    const std::vector<std::int64_t>& def) {
  const Attr* a = find_attr(g, n, key, Attr::kInts);
  return a ? a->ints : def;
}

std::vector<float> attr_floats(const Graph& g, const Node& n, const std::string& key,
                               const std::vector<float>& def) {
  const Attr* a = find_attr(g, n, key, Attr::kFloats);
  return a ? a->floats : def;
}

bool has_attr(const Node& n, const std::string& key) { return n.attrs.count(key) != 0; }

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::ostringstream s;
  s << '[';
  for (std::size_t k = 0; k < shape.size(); ++k) s << (k ? "," : "") << shape[k];
  s << ']';
  return s.str();
}

}  // namespace deeplab
