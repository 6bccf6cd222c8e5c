// The engine's own graph IR: what the ONNX importer produces and the passes rewrite.
// Values are tensors (activations or constants); nodes are ops in topological order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace deeplab {

enum class DType { kFloat, kInt64 };

// Physical layout of an activation. kChannelsLast: a logical NCHW 4-D tensor stored as NHWC (what
// oneDNN's fastest convolutions and our kernels want). kPlain: row-major in logical order.
enum class Layout { kPlain, kChannelsLast };

struct Value {
  std::string name;
  DType dtype = DType::kFloat;
  std::vector<std::int64_t> shape;
  bool shape_known = false;
  bool is_constant = false;
  std::vector<float> f;         // constant data when dtype == kFloat
  std::vector<std::int64_t> i;  // constant data when dtype == kInt64
  Layout layout = Layout::kPlain;

  std::int64_t element_count() const;
};

struct Attr {
  enum Kind { kInt, kFloat, kString, kInts, kFloats, kTensor } kind = kInt;
  std::int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<std::int64_t> ints;
  std::vector<float> floats;
  int tensor = -1;  // index of a constant Value holding a TENSOR attribute
};

// Activation fused into a node (Conv, or standalone elementwise ops).
struct Activation {
  enum Kind { kNone, kRelu, kClip, kSigmoid, kHardSigmoid, kHardSwish } kind = kNone;
  float alpha = 0;  // Clip: min; HardSigmoid: alpha
  float beta = 0;   // Clip: max; HardSigmoid: beta
};

struct Node {
  std::string name;
  std::string op;
  std::vector<int> inputs;   // value indices; -1 = optional input left empty
  std::vector<int> outputs;
  std::map<std::string, Attr> attrs;
  bool dead = false;
  // Fusion results (set by passes on Conv):
  Activation activation;   // applied last
  int residual = -1;       // value added to the conv output before the activation
};

class Graph {
 public:
  std::vector<Value> values;
  std::vector<Node> nodes;
  std::vector<int> inputs;   // graph inputs (non-constant)
  std::vector<int> outputs;
  std::string source;        // file name, for error messages

  int add_value(Value value);
  int find_value(const std::string& name) const;  // -1 if absent
  int add_constant(const std::string& name, std::vector<float> data, std::vector<std::int64_t> shape);
  int add_constant_int(const std::string& name, std::vector<std::int64_t> data,
                       std::vector<std::int64_t> shape);

  // Index of the live node producing `value`, or -1 (graph input / constant).
  int producer(int value) const;
  // Live nodes consuming `value`, in order.
  std::vector<int> consumers(int value) const;
  int use_count(int value) const;  // consumer inputs + graph outputs
  bool is_graph_output(int value) const;
  // Redirects every use of `from` (node inputs and graph outputs) to `to`.
  void replace_uses(int from, int to);
  // Drops dead nodes, keeping the order of live ones.
  void compact();
  // Marks nodes whose outputs nobody uses as dead, repeatedly.
  void remove_unused();
  std::string describe(const Node& node) const;  // "Conv 'name'" for messages
};

// Attribute access with defaults; throw kModelCorrupt naming node and attribute on a wrong kind.
std::int64_t attr_int(const Graph& g, const Node& n, const std::string& key, std::int64_t def);
float attr_float(const Graph& g, const Node& n, const std::string& key, float def);
std::string attr_string(const Graph& g, const Node& n, const std::string& key, const std::string& def);
std::vector<std::int64_t> attr_ints(const Graph& g, const Node& n, const std::string& key,
                                    const std::vector<std::int64_t>& def = {});
std::vector<float> attr_floats(const Graph& g, const Node& n, const std::string& key,
                               const std::vector<float>& def = {});
bool has_attr(const Node& n, const std::string& key);

std::string shape_string(const std::vector<std::int64_t>& shape);

}  // namespace deeplab
