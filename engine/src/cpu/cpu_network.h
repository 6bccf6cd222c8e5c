// A network compiled for the CPU: memory planned once into one arena, one kernel per node.
#pragma once

#include <memory>
#include <vector>

#include "graph/graph.h"
#include "graph/memory_plan.h"

namespace deeplab {

class CpuNetwork {
 public:
  // Takes an optimized graph (folded, fused, layouts assigned). threads <= 0: all cores.
  CpuNetwork(Graph graph, int threads);
  // With activations in `arena` (arena_bytes_needed() of the graph at least, 64-byte aligned),
  // owned by the caller: networks that never run at the same time share one (the batching engine's
  // networks for several batch sizes).
  CpuNetwork(Graph graph, int threads, float* arena, std::size_t arena_bytes);
  static std::size_t arena_bytes_needed(const Graph& graph);
  static constexpr std::size_t kArenaAlign = 64;  // arena buffers start on cache lines (and AVX-512 vectors)
  ~CpuNetwork();
  CpuNetwork(const CpuNetwork&) = delete;
  CpuNetwork& operator=(const CpuNetwork&) = delete;

  void run();
  // Per-op-kind times, logged (LogLevel::kInfo) when the network is destroyed.
  void set_profile(bool on) { profile_ = on; }

  const Graph& graph() const { return graph_; }
  int input_value() const { return graph_.inputs[0]; }
  int output_value() const { return graph_.outputs[0]; }
  float* data(int value);
  std::vector<std::int64_t> strides(int value) const;
  std::size_t arena_bytes() const { return plan_.arena_bytes; }
  int threads() const { return threads_; }

  // Logical (row-major) copies in and out, for tests and tools; not the per-frame path.
  void set_input_logical(const float* data);
  void output_logical(int value, std::vector<float>& out) const;

 private:
  class Access;
  void plan_memory(float* external, std::size_t external_bytes);
  void build(int threads);
  void print_profile() const;
  void build_kernels();

  Graph graph_;
  int threads_ = 1;
  MemoryPlan plan_;  // where each value lives in arena_ (graph/memory_plan.h)
  float* arena_ = nullptr;
  bool own_arena_ = true;
  std::vector<float> dnnl_scratchpad_;
  struct Dnnl;
  std::unique_ptr<Dnnl> dnnl_;
  std::unique_ptr<Access> access_;
  std::vector<std::unique_ptr<class CpuKernel>> kernels_;
  // DEEPLAB_PROFILE=1: per-node wall time, summed over runs and printed at destruction.
  bool profile_ = false;
  std::vector<double> node_ms_;
  int runs_ = 0;
};

}  // namespace deeplab
