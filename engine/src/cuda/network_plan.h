// What the CUDA network (cuda/cuda_network.h) decides about a graph before it touches the GPU:
// which kernel runs each node — the CPU backend's op coverage, no more, no less — and where each
// activation lives in the one device arena (the CPU backend's memory plan, for any element size).
// Plain C++, unit-tested without a GPU.
#pragma once

#include <cstddef>
#include <vector>

#include "graph/graph.h"
#include "graph/memory_plan.h"  // MemoryPlan, plan_memory, alias_source (deeplab::)

namespace deeplab::cuda {

enum class NodeKernel {
  kConv,        // cuDNN (cuda/cuda_conv.h)
  kPool,        // MaxPool, AveragePool
  kGlobalPool,  // GlobalAveragePool, GlobalMaxPool
  kResize,      // Resize, Upsample
  kUnary,       // Relu, Clip, Sigmoid, HardSigmoid, HardSwish
  kBinary,      // Add, Sub, Mul, Div, Max, Min: two inputs, numpy broadcasting, any layouts
  kBatchNorm,   // a BatchNormalization that was not folded into a conv
  kConcat,
  kCopy,        // Transpose, Reorder, Reshape, Flatten, Squeeze, Unsqueeze (no work when aliased)
};
const char* node_kernel_name(NodeKernel kernel);

// The kernel that runs `n`. Throws Error(kUnsupported) naming the node and its op for every op the
// CPU backend has no kernel for, and for what the CPU's kernels refuse when they are built (Clip
// bounds that are not constant, a BatchNormalization that is not 4-D, ...), so that a network the GPU cannot run fails when it is loaded, never when it runs.
NodeKernel classify_node(const Graph& g, const Node& n);

}  // namespace deeplab::cuda
