#include "cuda/cuda_network.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "cuda/cuda_check.h"
#include "cuda/cuda_steps.h"
#include "cuda/net_kernels.cuh"
#include "deeplab/error.h"
#include "deeplab/log.h"
#include "graph/ops.h"
#include "graph/strides.h"

namespace deeplab::cuda {
namespace {

// Every buffer of the arena starts on a 256-byte boundary (cudaMalloc's own alignment), as cuDNN's
// vectorised NHWC kernels want.
constexpr std::size_t kArenaAlignment = 256;

}  // namespace

struct CudaNetwork::GraphExec {
  cudaGraphExec_t exec = nullptr;
  ~GraphExec() {
    if (exec) DEEPLAB_CUDA_CHECK_LOG(cudaGraphExecDestroy(exec));
  }
};

// The network as its steps see it while they are built (and, for convolutions, when they run).
class CudaNetwork::Context : public StepContext {
 public:
  explicit Context(CudaNetwork& net) : net_(net) {}
  const Graph& graph() const override { return net_.graph_; }
  TensorType type() const override { return net_.type_; }
  const MemoryPlan& plan() const override { return net_.plan_; }
  void* data(int value) override { return net_.data(value); }
  const void* constant(int value) override { return net_.constant(value); }
  const void* upload(const std::vector<float>& values) override { return net_.upload_typed(values); }
  const float* upload_floats(const std::vector<float>& values) override {
    return static_cast<const float*>(net_.upload_bytes(values.data(), values.size() * sizeof(float)));
  }
  const int* upload_ints(const std::vector<int>& values) override {
    return static_cast<const int*>(net_.upload_bytes(values.data(), values.size() * sizeof(int)));
  }
  void* pad_scratch() override { return net_.pad_scratch_.data(); }
  cudnnHandle_t cudnn() override { return net_.cudnn_.get(); }
  void* workspace() override { return net_.workspace_.data(); }
  std::size_t workspace_bytes() const override { return net_.workspace_.bytes(); }

 private:
  CudaNetwork& net_;
};

CudaNetwork::CudaNetwork(Graph graph, const CudaNetworkOptions& options, cudaStream_t stream)
    : graph_(std::move(graph)),
      type_(options.precision == Precision::kFp16 ? TensorType::kHalf : TensorType::kFloat),
      stream_(stream) {
  if (options.shared_algorithms) algorithms_ = options.shared_algorithms;
  // The legacy default stream cannot be captured into a graph, and would serialise with everything.
  if (!stream_) throw Error(ErrorCode::kInternal, "CudaNetwork needs a stream of its own, not the default stream");
  if (graph_.inputs.empty() || graph_.outputs.empty() || graph_.values[graph_.outputs[0]].is_constant)
    throw Error(ErrorCode::kUnsupported, graph_.source + ": the network needs an input and a computed output");
  // Every node checked before any GPU work: an op the GPU cannot run fails the load here.
  for (const Node& n : graph_.nodes) classify_node(graph_, n);
  plan_ = plan_memory(graph_, tensor_type_bytes(type_), kArenaAlignment);
  DEEPLAB_CUDNN_CHECK(cudnnSetStream(cudnn_.get(), stream_));
  use_arena(options);
  std::size_t pad_elements = 0;
  for (const Node& n : graph_.nodes)
    if (op_def(n).kernel == OpKernel::kConv) pad_elements = std::max(pad_elements, plan_conv(graph_, n, type_).padded_elements());
  pad_scratch_.allocate(pad_elements * tensor_type_bytes(type_));
  constants_.assign(graph_.values.size(), nullptr);
  context_ = std::make_unique<Context>(*this);
  build_steps();
  choose_algorithms(options);
  // Warm-up: cuDNN loads its kernels on first use, which a graph capture must not see.
  enqueue_steps();
  DEEPLAB_CUDA_CHECK(cudaStreamSynchronize(stream_));
  profile_ = options.profile;
  if (profile_) {
    for (std::size_t k = 0; k <= steps_.size(); ++k) profile_events_.emplace_back(true);
    step_ms_.assign(steps_.size(), 0.0);
  } else if (options.cuda_graph) {
    capture_graph();
  }
}

CudaNetwork::~CudaNetwork() {
  if (profile_ && profiled_runs_ > 0) print_profile();
  // Nothing may still use the buffers about to be freed.
  DEEPLAB_CUDA_CHECK_LOG(cudaStreamSynchronize(stream_));
}

void* CudaNetwork::data(int value) {
  if (graph_.values[value].is_constant)
    throw Error(ErrorCode::kInternal, "CudaNetwork::data of the constant '" + graph_.values[value].name + "'");
  return arena_base_ + plan_.offset[plan_.storage_root[value]];
}

std::size_t CudaNetwork::arena_bytes_needed(const Graph& graph, Precision precision) {
  const std::size_t element = tensor_type_bytes(precision == Precision::kFp16 ? TensorType::kHalf : TensorType::kFloat);
  return std::max(plan_memory(graph, element, kArenaAlignment).arena_bytes, kArenaAlignment);
}

// The options' arena (checked to hold the plan) or one of its own; zeroed either way, so that a
// value read before it is written (a bug) reads zeros, not another network's activations.
void CudaNetwork::use_arena(const CudaNetworkOptions& options) {
  const std::size_t bytes = std::max(plan_.arena_bytes, kArenaAlignment);
  if (options.arena) {
    if (options.arena_bytes < bytes)
      throw Error(ErrorCode::kInternal, graph_.source + ": the shared CUDA arena holds " +
                                            std::to_string(options.arena_bytes) + " bytes, the network needs " +
                                            std::to_string(bytes));
    arena_base_ = options.arena;
  } else {
    arena_.allocate(bytes);
    arena_base_ = arena_.data();
  }
  DEEPLAB_CUDA_CHECK(cudaMemsetAsync(arena_base_, 0, bytes, stream_));
}

const void* CudaNetwork::constant(int value) {
  const Value& v = graph_.values[value];
  if (v.dtype != DType::kFloat)
    throw Error(ErrorCode::kUnsupported, graph_.source + ": the integer constant '" + v.name +
                                             "' is used as a tensor operand");
  if (!constants_[value]) constants_[value] = upload_typed(v.f);
  return constants_[value];
}

const void* CudaNetwork::upload_bytes(const void* host, std::size_t bytes) {
  DeviceBuffer<std::uint8_t> buffer(bytes);
  // Pageable source: the host copy has been read when cudaMemcpyAsync returns.
  if (bytes) DEEPLAB_CUDA_CHECK(cudaMemcpyAsync(buffer.data(), host, bytes, cudaMemcpyHostToDevice, stream_));
  parameter_bytes_ += bytes;
  parameters_.push_back(std::move(buffer));
  return parameters_.back().data();
}

// Parameters in the network's type: fp16 ones are converted on the device (round to nearest even).
const void* CudaNetwork::upload_typed(const std::vector<float>& host) {
  if (type_ == TensorType::kFloat) return upload_bytes(host.data(), host.size() * sizeof(float));
  const std::int64_t count = static_cast<std::int64_t>(host.size());
  DeviceBuffer<std::uint8_t> buffer(host.size() * tensor_type_bytes(type_));
  DeviceBuffer<float> staging(host.size());
  staging.upload(host.data(), host.size(), stream_);
  launch_copy(make_copy_params({count}, {1}, {1}), TensorType::kFloat, staging.data(), type_, buffer.data(), stream_);
  DEEPLAB_CUDA_CHECK(cudaStreamSynchronize(stream_));  // before the staging buffer is freed
  parameter_bytes_ += buffer.bytes();
  parameters_.push_back(std::move(buffer));
  return parameters_.back().data();
}

void CudaNetwork::build_steps() {
  const Value& in = graph_.values[input_value()];
  const Value& out = graph_.values[output_value()];
  if (type_ == TensorType::kHalf) {
    input_f32_.allocate(static_cast<std::size_t>(in.element_count()));
    steps_.push_back(make_convert_step(in.element_count(), TensorType::kFloat, input_f32_.data(), type_,
                                       data(input_value()), "input fp32->fp16"));
    input_ = input_f32_.data();
  } else {
    input_ = static_cast<float*>(data(input_value()));
  }
  for (const Node& n : graph_.nodes)
    if (auto step = make_step(n, *context_)) steps_.push_back(std::move(step));
  if (type_ == TensorType::kHalf) {
    output_f32_.allocate(static_cast<std::size_t>(out.element_count()));
    steps_.push_back(make_convert_step(out.element_count(), type_, data(output_value()), TensorType::kFloat,
                                       output_f32_.data(), "output fp16->fp32"));
    output_ = output_f32_.data();
  } else {
    output_ = static_cast<const float*>(data(output_value()));
  }
}

void CudaNetwork::choose_algorithms(const CudaNetworkOptions& options) {
  std::size_t free_bytes = 0, total_bytes = 0;
  DEEPLAB_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  DeviceBuffer<std::uint8_t> find_workspace(std::min(options.find_workspace_bytes, free_bytes / 4));
  std::size_t workspace = 0;
  for (auto& step : steps_)
    if (CudaConv* conv = step->conv()) {
      conv->choose_algorithm(cudnn_.get(), stream_, *algorithms_, find_workspace.data(), find_workspace.bytes());
      workspace = std::max(workspace, conv->algorithm().workspace_bytes);
      ++convolutions_;
      algorithm_searches_ += conv->searched();
    }
  DEEPLAB_CUDA_CHECK(cudaStreamSynchronize(stream_));
  find_workspace.release();
  workspace_.allocate(workspace);
}

void CudaNetwork::enqueue_steps() {
  for (auto& step : steps_) step->enqueue(stream_);
}

void CudaNetwork::capture_graph() {
  static std::atomic<bool> said_once{false};
  cudaGraph_t captured = nullptr;
  std::string failure;
  DEEPLAB_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  try {
    enqueue_steps();
  } catch (const Error& e) {
    failure = e.what();
  }
  const cudaError_t ended = cudaStreamEndCapture(stream_, &captured);
  if (failure.empty() && ended != cudaSuccess) failure = std::string("cudaStreamEndCapture: ") + cudaGetErrorString(ended);
  auto exec = std::make_unique<GraphExec>();
  if (failure.empty()) {
    const cudaError_t made = cudaGraphInstantiate(&exec->exec, captured, 0);
    if (made != cudaSuccess) failure = std::string("cudaGraphInstantiate: ") + cudaGetErrorString(made);
  }
  if (captured) DEEPLAB_CUDA_CHECK_LOG(cudaGraphDestroy(captured));
  if (!failure.empty()) {
    cudaGetLastError();  // capture errors are not sticky; clear them
    if (!said_once.exchange(true))
      log_message(LogLevel::kWarning, "CUDA graph capture of " + graph_.source + " failed (" + failure +
                                          "); running the network with direct launches");
    return;
  }
  // One replay now, so that a graph that instantiates but cannot run is reported at load.
  DEEPLAB_CUDA_CHECK(cudaGraphLaunch(exec->exec, stream_));
  DEEPLAB_CUDA_CHECK(cudaStreamSynchronize(stream_));
  graph_exec_ = std::move(exec);
}

void CudaNetwork::run() {
  if (profile_) {
    run_profiled();
    return;
  }
  if (graph_exec_) {
    DEEPLAB_CUDA_CHECK(cudaGraphLaunch(graph_exec_->exec, stream_));
    return;
  }
  enqueue_steps();
}

void CudaNetwork::run_profiled() {
  profile_events_[0].record(stream_);
  for (std::size_t k = 0; k < steps_.size(); ++k) {
    steps_[k]->enqueue(stream_);
    profile_events_[k + 1].record(stream_);
  }
  profile_events_.back().synchronize();
  for (std::size_t k = 0; k < steps_.size(); ++k)
    step_ms_[k] += Event::elapsed_ms(profile_events_[k], profile_events_[k + 1]);
  ++profiled_runs_;
}

void CudaNetwork::print_profile() const {
  std::map<std::string, double> by_label;
  double total = 0;
  for (std::size_t k = 0; k < steps_.size(); ++k) {
    by_label[steps_[k]->label] += step_ms_[k] / profiled_runs_;
    total += step_ms_[k] / profiled_runs_;
  }
  char line[200];
  std::snprintf(line, sizeof line, "profile (cuda %s, %s, %d runs, ms per run): total %.3f", tensor_type_name(type_),
                graph_.source.c_str(), profiled_runs_, total);
  std::string text = line;
  for (const auto& [label, ms] : by_label) {
    std::snprintf(line, sizeof line, "\n  %-20s %8.3f  %5.1f%%", label.c_str(), ms, total > 0 ? 100 * ms / total : 0.0);
    text += line;
  }
  log_message(LogLevel::kInfo, text);
}

std::vector<std::int64_t> CudaNetwork::strides(int value) const { return physical_strides(graph_.values[value]); }

std::string CudaNetwork::describe_convolutions() const {
  std::string text;
  for (const auto& step : steps_) {
    CudaConv* conv = step->conv();
    if (!conv) continue;
    const ConvAlgorithm& a = conv->algorithm();
    text += conv->name() + ": " + conv->plan().shape.describe() + ", algo " + std::to_string(a.algo) + ", math " +
            std::to_string(a.math_type) + ", " + conv_epilogue_name(a.epilogue) + " epilogue" +
            (conv->plan().has_residual && conv->buffers().residual_in_place ? " (residual in place)" : "") +
            ", " + std::to_string(a.time_ms) + " ms, workspace " + std::to_string(a.workspace_bytes) + " B\n";
  }
  return text;
}

void CudaNetwork::set_input_logical(const float* data) {
  const int in = input_value();
  const Value& v = graph_.values[in];
  std::vector<float> physical(static_cast<std::size_t>(v.element_count()));
  copy_strided(physical.data(), strides(in), data, plain_strides(v.shape), v.shape);
  DEEPLAB_CUDA_CHECK(cudaMemcpyAsync(input_, physical.data(), physical.size() * sizeof(float), cudaMemcpyHostToDevice,
                                     stream_));
  DEEPLAB_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaNetwork::output_logical(std::vector<float>& out) {
  const int value = output_value();
  const Value& v = graph_.values[value];
  std::vector<float> physical(static_cast<std::size_t>(v.element_count()));
  DEEPLAB_CUDA_CHECK(cudaMemcpyAsync(physical.data(), output_, physical.size() * sizeof(float), cudaMemcpyDeviceToHost,
                                     stream_));
  DEEPLAB_CUDA_CHECK(cudaStreamSynchronize(stream_));
  out.resize(physical.size());
  copy_strided(out.data(), plain_strides(v.shape), physical.data(), strides(value), v.shape);
}

}  // namespace deeplab::cuda
