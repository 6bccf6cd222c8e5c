// The activation memory plan both backends use: one arena per network, planned once at load.
#pragma once

#include <cstddef>
#include <vector>

#include "graph/graph.h"

namespace deeplab {

// Where every value of the graph lives: shared by the CPU and CUDA backends, made for
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

}  // namespace deeplab
