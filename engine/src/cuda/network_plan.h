// What the CUDA network (cuda/cuda_network.h) decides about a graph before it touches the GPU:
// which kernel runs each node — the CPU backend's op coverage, no more, no less — and where each
// activation lives in the one device arena (the CPU backend's memory plan, for any element size).
// Plain C++, unit-tested without a GPU.
#pragma once

#include <cstddef>
#include <vector>

#include "graph/graph.h"

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
// CPU backend has no kernel for, and for what the CPU's kernels refuse when they are built (a
// Resize of a batch > 1, Clip bounds that are not constant, a BatchNormalization that is not 4-D,
// ...), so that a network the GPU cannot run fails when it is loaded, never when it runs.
NodeKernel classify_node(const Graph& g, const Node& n);

// The activation a standalone elementwise node applies (kUnary), read as the CPU backend reads it
// (Clip's bounds from attributes before opset 11, from constant inputs after).
Activation unary_activation(const Graph& g, const Node& n);

// Where every value of the graph lives: the CPU backend's plan (cpu/cpu_network.cpp), made for
// `element_bytes`-sized elements and `alignment`-byte aligned buffers. Layout-only transposes and
// reshapes share their input's storage; a conv's fused residual sum accumulates in place when the
// residual dies at that conv; buffers whose lifetimes do not overlap share arena bytes (greedy,
// largest first, lowest free offset). Constants have no storage here.
struct MemoryPlan {
  std::vector<int> storage_root;       // value -> the value whose storage it uses (itself if none)
  std::vector<std::size_t> offset;     // byte offset in the arena, valid for root values
  std::vector<std::size_t> bytes;      // rounded-up size of each root value's buffer (0: no storage)
  // Lifetime of each root in node indices: the graph input is live from -1, graph outputs until
  // nodes.size(). first > last for values that never need storage.
  std::vector<int> first, last;
  std::size_t arena_bytes = 0;
  // A conv node's residual accumulates in its output's storage (cuDNN's beta = 1 / z == y).
  bool residual_in_place(const Graph& g, const Node& conv) const;
};
MemoryPlan plan_memory(const Graph& g, std::size_t element_bytes, std::size_t alignment);

// Does the node's output share its input's storage (the plan's aliasing rule)? Such nodes run nothing.
int alias_source(const Graph& g, const Node& n);

}  // namespace deeplab::cuda
