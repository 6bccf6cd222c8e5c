// A network compiled for the GPU, the CUDA twin of CpuNetwork (cpu/cpu_network.h): the same
// optimised graph, the same op coverage, the same memory plan (one device arena), one step per node
// on one stream. Convolutions run on cuDNN (cuda/cuda_conv.h), everything else on our kernels
// (cuda/net_kernels.cuh). fp32 or fp16 (weights converted at load, fp16 activations, fp32 at the
// edges: input() and output() are float either way).
//
// At load: memory planned, weights uploaded, every conv's algorithm chosen (cached per shape), the
// workspace sized once, a warm-up run, then the whole forward captured in a CUDA graph that run()
// replays. If capture fails (a cuDNN build that does something capture forbids), run() launches the
// steps directly and says so once on stderr. run() only enqueues: it allocates nothing and does
// not wait.
#pragma once

#include <cuda_runtime_api.h>

#include <memory>
#include <string>
#include <vector>

#include "cuda/conv_plan.h"
#include "cuda/cuda_resources.h"
#include "cuda/cudnn_handles.h"
#include "cuda/network_plan.h"
#include "deeplab/device.h"
#include "graph/graph.h"

namespace deeplab::cuda {

struct CudaNetworkOptions {
  Precision precision = Precision::kFp32;
  bool cuda_graph = true;  // capture the steps once and replay them (off: direct launches)
  bool profile = false;    // per-step times (events, direct launches), logged when destroyed
  // Scratch the algorithm search may use per convolution (the chosen algorithms' own workspace is
  // sized afterwards, to the largest they need).
  std::size_t find_workspace_bytes = std::size_t{512} << 20;
  // Algorithm choices shared with other networks (same GPU): equal conv keys are not searched
  // again and run the same algorithm. nullptr: the network keeps its own. Must outlive the network.
  // The Segmenter passes process_algorithm_cache(device), so its instances agree bit for bit.
  ConvAlgorithmCache* shared_algorithms = nullptr;
  // Device memory the network plans its activations in instead of an arena of its own (the batching
  // engine's networks for several batch sizes share one; only one runs at a time, on one stream).
  // At least arena_bytes_needed(); must outlive the network. nullptr: the network allocates its own.
  std::uint8_t* arena = nullptr;
  std::size_t arena_bytes = 0;
};

class CudaNetwork {
 public:
  // Takes an optimised graph (folded, fused, layouts assigned, as load_optimized_graph returns
  // it) and enqueues its load-time work on `stream`, which it then runs on (not owned; it must
  // outlive the network). Throws Error: kUnsupported naming the node for what it cannot run,
  // kDevice for CUDA/cuDNN failures.
  CudaNetwork(Graph graph, const CudaNetworkOptions& options, cudaStream_t stream);
  // The activation arena `graph` needs at `precision` (for CudaNetworkOptions::arena).
  static std::size_t arena_bytes_needed(const Graph& graph, Precision precision);
  ~CudaNetwork();
  CudaNetwork(const CudaNetwork&) = delete;
  CudaNetwork& operator=(const CudaNetwork&) = delete;

  // Enqueues one forward pass on the stream.
  void run();

  const Graph& graph() const { return graph_; }
  int input_value() const { return graph_.inputs[0]; }
  int output_value() const { return graph_.outputs[0]; }
  // Device memory of the fp32 input / output, in the value's physical layout (strides()).
  float* input() { return input_; }
  const float* output() const { return output_; }
  std::vector<std::int64_t> strides(int value) const;  // per logical dim, in elements

  TensorType type() const { return type_; }
  cudaStream_t stream() const { return stream_; }
  bool graph_captured() const { return graph_exec_ != nullptr; }
  std::size_t arena_bytes() const { return plan_.arena_bytes; }
  std::size_t workspace_bytes() const { return workspace_.size(); }
  std::size_t parameter_bytes() const { return parameter_bytes_; }
  const ConvAlgorithmCache& algorithms() const { return *algorithms_; }
  int convolutions() const { return convolutions_; }
  int algorithm_searches() const { return algorithm_searches_; }  // keys this network searched itself
  const MemoryPlan& memory_plan() const { return plan_; }
  // One line per conv: node, shape, algorithm, epilogue (for logs and the tests' failure messages).
  std::string describe_convolutions() const;

  // Synchronous logical (row-major) copies, for tests and tools; not the per-frame path.
  void set_input_logical(const float* data);
  void output_logical(std::vector<float>& out);

  class Step;

 private:
  class Context;
  void use_arena(const CudaNetworkOptions& options);
  void build_steps();
  void choose_algorithms(const CudaNetworkOptions& options);
  void enqueue_steps();
  void capture_graph();
  void run_profiled();
  void print_profile() const;
  void* data(int value);
  const void* constant(int value);
  const void* upload_typed(const std::vector<float>& host);
  const void* upload_bytes(const void* host, std::size_t bytes);

  Graph graph_;
  TensorType type_ = TensorType::kFloat;
  cudaStream_t stream_ = nullptr;
  MemoryPlan plan_;
  CudnnHandle cudnn_;
  DeviceBuffer<std::uint8_t> arena_;  // empty when the options gave one
  std::uint8_t* arena_base_ = nullptr;
  DeviceBuffer<std::uint8_t> workspace_;
  DeviceBuffer<std::uint8_t> pad_scratch_;
  DeviceBuffer<float> input_f32_, output_f32_;  // fp16 networks: the float edges
  std::vector<DeviceBuffer<std::uint8_t>> parameters_;  // weights, biases, constants, tables
  std::vector<const void*> constants_;  // value -> device copy in the network's type (or nullptr)
  std::size_t parameter_bytes_ = 0;
  float* input_ = nullptr;
  const float* output_ = nullptr;
  std::unique_ptr<Context> context_;
  std::vector<std::unique_ptr<Step>> steps_;
  ConvAlgorithmCache own_algorithms_;
  ConvAlgorithmCache* algorithms_ = &own_algorithms_;
  int convolutions_ = 0, algorithm_searches_ = 0;
  struct GraphExec;
  std::unique_ptr<GraphExec> graph_exec_;
  // DEEPLAB_PROFILE=1: per-step GPU time (events between steps, direct launches), printed at destruction.
  bool profile_ = false;
  std::vector<Event> profile_events_;
  std::vector<double> step_ms_;
  int profiled_runs_ = 0;
};

}  // namespace deeplab::cuda
