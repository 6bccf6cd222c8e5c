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
    activation_of(g, n);  // refuses non-constant Clip bounds at load
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

}  // namespace deeplab::cuda
