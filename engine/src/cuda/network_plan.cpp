#include "cuda/network_plan.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "cuda/net_ops.h"
#include "deeplab/error.h"
#include "graph/attrs.h"
#include "graph/ops.h"
#include "graph/passes.h"

namespace deeplab::cuda {
namespace {

[[noreturn]] void unsupported(const Graph& g, const Node& n, const std::string& what) {
  throw Error(ErrorCode::kUnsupported, g.source + ": " + g.describe(n) + ": " + what);
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

namespace {

// The CUDA kernel of each OpKernel family (graph/ops.h), after the checks the CPU's kernels make
// when they are built.
NodeKernel check_node(const Graph& g, const Node& n, OpKernel kernel) {
  switch (kernel) {
    case OpKernel::kConv: parse_conv(g, n); return NodeKernel::kConv;
    case OpKernel::kPool: parse_pool(g, n); return NodeKernel::kPool;
    case OpKernel::kGlobalPool: parse_pool(g, n); return NodeKernel::kGlobalPool;  // 4-D only
    case OpKernel::kResize:
      parse_resize(g, n);
      return NodeKernel::kResize;
    case OpKernel::kUnary:
      activation_of(g, n);  // refuses non-constant Clip bounds at load
      require_ranks(g, n);
      return NodeKernel::kUnary;
    case OpKernel::kBinary:
      if (n.inputs.size() != 2) unsupported(g, n, "only two inputs are supported");
      require_ranks(g, n);
      return NodeKernel::kBinary;
    case OpKernel::kBatchNorm: check_batchnorm(g, n); return NodeKernel::kBatchNorm;
    case OpKernel::kConcat: require_ranks(g, n); return NodeKernel::kConcat;
    case OpKernel::kTranspose:
    case OpKernel::kRelayout: require_ranks(g, n); return NodeKernel::kCopy;
    case OpKernel::kPad:  // no CUDA step yet: refused below (device auto falls back to the CPU)
    case OpKernel::kNone: break;
  }
  throw Error(ErrorCode::kUnsupported, g.source + ": op " + n.op + " (" + g.describe(n) + ") has no CUDA kernel");
}

}  // namespace

NodeKernel classify_node(const Graph& g, const Node& n) {
  if (n.inputs.empty() || n.outputs.empty() || n.inputs[0] < 0 || n.outputs[0] < 0)
    throw Error(ErrorCode::kModelCorrupt, g.source + ": " + g.describe(n) + ": missing input or output");
  return check_node(g, n, op_def(n).kernel);
}

}  // namespace deeplab::cuda
