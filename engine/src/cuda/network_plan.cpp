#include "cuda/network_plan.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "cpu/kernel.h"
#include "cuda/net_ops.h"
#include "deeplab/error.h"
#include "graph/attrs.h"
#include "graph/passes.h"

namespace deeplab::cuda {
namespace {

[[noreturn]] void unsupported(const Graph& g, const Node& n, const std::string& what) {
  throw Error(ErrorCode::kUnsupported, g.source + ": " + g.describe(n) + ": " + what);
}

bool is_unary(const std::string& op) {
  return op == "Relu" || op == "Clip" || op == "Sigmoid" || op == "HardSigmoid" || op == "HardSwish";
}
bool is_binary(const std::string& op) {
  return op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Max" || op == "Min";
}
bool is_copy(const std::string& op) {
  return op == "Transpose" || op == "Reorder" || op == "Reshape" || op == "Flatten" || op == "Squeeze" ||
         op == "Unsqueeze";
}

// The strided kernels index at most kMaxTensorRank dimensions (the CPU has no such limit, but no
// segmentation network comes near it).
void require_rank(const Graph& g, const Node& n, int value) {
  if (value < 0) return;
  const auto rank = g.values[value].shape.size();
  if (rank > static_cast<std::size_t>(kMaxTensorRank))
    unsupported(g, n, "a rank-" + std::to_string(rank) + " tensor (the CUDA kernels handle up to " +
                          std::to_string(kMaxTensorRank) + " dimensions)");
}

void require_ranks(const Graph& g, const Node& n) {
  for (int v : n.inputs) require_rank(g, n, v);
  for (int v : n.outputs) require_rank(g, n, v);
}

void check_batchnorm(const Graph& g, const Node& n) {
  const Value& x = g.values[n.inputs[0]];
  if (x.shape.size() != 4 || x.layout != Layout::kChannelsLast)
    unsupported(g, n, "only 4-D BatchNormalization is supported");
  for (std::size_t k = 1; k < 5; ++k)
    if (k >= n.inputs.size() || n.inputs[k] < 0 || !g.values[n.inputs[k]].is_constant)
      unsupported(g, n, "parameters must be constant");
}

}  // namespace

const char* node_kernel_name(NodeKernel kernel) {
  switch (kernel) {
    case NodeKernel::kConv: return "conv";
    case NodeKernel::kPool: return "pool";
    case NodeKernel::kGlobalPool: return "global_pool";
    case NodeKernel::kResize: return "resize";
    case NodeKernel::kUnary: return "unary";
    case NodeKernel::kBinary: return "binary";
    case NodeKernel::kBatchNorm: return "batchnorm";
    case NodeKernel::kConcat: return "concat";
    case NodeKernel::kCopy: return "copy";
  }
  return "?";
}

Activation unary_activation(const Graph& g, const Node& n) {
  Activation a;
  if (n.op == "Relu") a.kind = Activation::kRelu;
  else if (n.op == "Sigmoid") a.kind = Activation::kSigmoid;
  else if (n.op == "HardSwish") a.kind = Activation::kHardSwish;
  else if (n.op == "HardSigmoid") {
    a.kind = Activation::kHardSigmoid;
    a.alpha = attr_float(g, n, "alpha", 0.2f);
    a.beta = attr_float(g, n, "beta", 0.5f);
  } else if (n.op == "Clip") {
    a.kind = Activation::kClip;
    a.alpha = attr_float(g, n, "min", -INFINITY);
    a.beta = attr_float(g, n, "max", INFINITY);
    for (std::size_t k = 1; k < 3 && k < n.inputs.size(); ++k) {
      if (n.inputs[k] < 0) continue;
      const Value& v = g.values[n.inputs[k]];
      if (!v.is_constant || v.f.empty()) unsupported(g, n, "Clip bounds must be constant");
      (k == 1 ? a.alpha : a.beta) = v.f[0];
    }
  } else {
    unsupported(g, n, "not an elementwise activation");
  }
  return a;
}

NodeKernel classify_node(const Graph& g, const Node& n) {
  if (n.inputs.empty() || n.outputs.empty() || n.inputs[0] < 0 || n.outputs[0] < 0)
    throw Error(ErrorCode::kModelCorrupt, g.source + ": " + g.describe(n) + ": missing input or output");
  const std::string& op = n.op;
  if (op == "Conv") {
    parse_conv(g, n);
    return NodeKernel::kConv;
  }
  if (op == "MaxPool" || op == "AveragePool") {
    parse_pool(g, n);
    return NodeKernel::kPool;
  }
  if (op == "GlobalAveragePool" || op == "GlobalMaxPool") {
    parse_pool(g, n);  // 4-D only
    return NodeKernel::kGlobalPool;
  }
  if (op == "Resize" || op == "Upsample") {
    parse_resize(g, n);
    if (g.values[n.inputs[0]].shape[0] != 1) unsupported(g, n, "batch sizes other than 1");
    return NodeKernel::kResize;
  }
  if (is_unary(op)) {
    unary_activation(g, n);
    require_ranks(g, n);
    return NodeKernel::kUnary;
  }
  if (is_binary(op)) {
    if (n.inputs.size() != 2) unsupported(g, n, "only two inputs are supported");
    require_ranks(g, n);
    return NodeKernel::kBinary;
  }
  if (op == "BatchNormalization") {
    check_batchnorm(g, n);
    return NodeKernel::kBatchNorm;
  }
  if (op == "Concat") {
    require_ranks(g, n);
    return NodeKernel::kConcat;
  }
  if (is_copy(op)) {
    require_ranks(g, n);
    return NodeKernel::kCopy;
  }
  throw Error(ErrorCode::kUnsupported, g.source + ": op " + op + " (" + g.describe(n) + ") has no CUDA kernel");
}

int alias_source(const Graph& g, const Node& n) {
  const Value& in = g.values[n.inputs[0]];
  const Value& out = g.values[n.outputs[0]];
  if (n.op == "Transpose") {
    const auto perm = attr_ints(g, n, "perm");
    if ((in.layout == Layout::kChannelsLast && out.layout == Layout::kPlain && is_to_nhwc(perm)) ||
        (in.layout == Layout::kPlain && out.layout == Layout::kChannelsLast && is_to_nchw(perm)))
      return n.inputs[0];
  }
  if ((n.op == "Reshape" || n.op == "Flatten" || n.op == "Squeeze" || n.op == "Unsqueeze") && !in.is_constant &&
      (in.layout == Layout::kPlain || physical_strides(in) == plain_strides(in.shape)))
    return n.inputs[0];
  if (n.op == "Reorder" && physical_strides(in) == physical_strides(out)) return n.inputs[0];
  return -1;
}

bool MemoryPlan::residual_in_place(const Graph& g, const Node& conv) const {
  return conv.residual >= 0 && storage_root[conv.residual] == storage_root[conv.outputs[0]];
}

MemoryPlan plan_memory(const Graph& g, std::size_t element_bytes, std::size_t alignment) {
  if (element_bytes == 0 || alignment == 0)
    throw Error(ErrorCode::kInternal, "plan_memory: zero element size or alignment");
  MemoryPlan plan;
  const int nv = static_cast<int>(g.values.size());
  auto& root = plan.storage_root;
  root.resize(nv);
  for (int v = 0; v < nv; ++v) root[v] = v;
  // Aliases first, in node order, so that chains resolve to the first storage.
  for (const Node& n : g.nodes) {
    const int src = alias_source(g, n);
    if (src >= 0) root[n.outputs[0]] = root[src];
  }
  // Lifetimes per root in node indices: the input from -1, graph outputs to the end.
  const int end = static_cast<int>(g.nodes.size());
  auto& first = plan.first;
  auto& last = plan.last;
  first.assign(nv, end + 1);
  last.assign(nv, -2);
  auto touch = [&](int value, int at) {
    if (value < 0 || g.values[value].is_constant) return;
    const int r = root[value];
    first[r] = std::min(first[r], at);
    last[r] = std::max(last[r], at);
  };
  touch(g.inputs[0], -1);
  for (int k = 0; k < end; ++k) {
    const Node& n = g.nodes[k];
    for (int in : n.inputs) touch(in, k);
    if (n.residual >= 0) touch(n.residual, k);
    for (int out : n.outputs) touch(out, k);
  }
  for (int o : g.outputs) touch(o, end);
  // A conv's residual sum accumulates in place when the residual dies at that conv and does not
  // share storage with the conv's own input (nor with the network input, rewritten every frame).
  for (int k = 0; k < end; ++k) {
    const Node& n = g.nodes[k];
    if (n.residual < 0) continue;
    const int r = root[n.residual], out = n.outputs[0];
    if (last[r] != k || r == root[n.inputs[0]] || root[out] != out || r == root[g.inputs[0]]) continue;
    root[out] = r;
    last[r] = std::max(last[r], last[out]);
    first[out] = end + 1;
    last[out] = -2;
    for (int v = 0; v < nv; ++v)
      if (root[v] == out) root[v] = r;
  }
  // Greedy placement: largest first, at the lowest offset overlapping no buffer live at the same time.
  auto rounded = [&](int v) {
    const std::size_t raw = static_cast<std::size_t>(g.values[v].element_count()) * element_bytes;
    return (raw + alignment - 1) / alignment * alignment;
  };
  std::vector<int> roots;
  for (int v = 0; v < nv; ++v)
    if (root[v] == v && last[v] >= first[v]) roots.push_back(v);
  std::sort(roots.begin(), roots.end(), [&](int a, int b) { return rounded(a) > rounded(b); });
  plan.offset.assign(nv, 0);
  plan.bytes.assign(nv, 0);
  std::vector<int> placed;
  for (int v : roots) {
    const std::size_t size = rounded(v);
    std::vector<std::pair<std::size_t, std::size_t>> busy;
    for (int p : placed)
      if (!(last[p] < first[v] || last[v] < first[p])) busy.emplace_back(plan.offset[p], plan.offset[p] + plan.bytes[p]);
    std::sort(busy.begin(), busy.end());
    std::size_t offset = 0;
    for (auto [b, e] : busy) {
      if (offset + size <= b) break;
      offset = std::max(offset, e);
    }
    plan.offset[v] = offset;
    plan.bytes[v] = size;
    placed.push_back(v);
    plan.arena_bytes = std::max(plan.arena_bytes, offset + size);
  }
  return plan;
}

}  // namespace deeplab::cuda
