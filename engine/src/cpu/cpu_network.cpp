#include "cpu/cpu_network.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "cpu/kernel.h"
#include "deeplab/error.h"
#include "deeplab/log.h"
#include "graph/ops.h"
#include "graph/passes.h"

namespace deeplab {

struct CpuNetwork::Dnnl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  CpuContext context;
};

class CpuNetwork::Access : public TensorAccess {
 public:
  explicit Access(CpuNetwork& net) : net_(net) {}
  float* data(int value) override { return net_.data(value); }
  std::vector<std::int64_t> strides(int value) const override { return net_.strides(value); }
  bool same_storage(int a, int b) const override { return net_.plan_.storage_root[a] == net_.plan_.storage_root[b]; }

 private:
  CpuNetwork& net_;
};

CpuNetwork::CpuNetwork(Graph graph, int threads) : graph_(std::move(graph)) {
  plan_memory(nullptr, 0);
  build(threads);
}

CpuNetwork::CpuNetwork(Graph graph, int threads, float* arena, std::size_t arena_bytes) : graph_(std::move(graph)) {
  plan_memory(arena, arena_bytes);
  build(threads);
}

void CpuNetwork::build(int threads) {
  threads_ = threads > 0 ? threads : omp_get_num_procs();
  omp_set_num_threads(threads_);
  dnnl_ = std::make_unique<Dnnl>();
  dnnl_->context.engine = &dnnl_->engine;
  dnnl_->context.stream = &dnnl_->stream;
  dnnl_->context.threads = threads_;
  access_ = std::make_unique<Access>(*this);
  build_kernels();
  node_ms_.assign(graph_.nodes.size(), 0.0);
}

CpuNetwork::~CpuNetwork() {
  if (profile_ && runs_ > 0) print_profile();
  kernels_.clear();
  if (own_arena_) std::free(arena_);
}

std::size_t CpuNetwork::arena_bytes_needed(const Graph& graph) {
  return deeplab::plan_memory(graph, sizeof(float), kArenaAlign).arena_bytes;
}

void CpuNetwork::plan_memory(float* external, std::size_t external_bytes) {
  plan_ = deeplab::plan_memory(graph_, sizeof(float), kArenaAlign);
  if (external) {
    if (external_bytes < plan_.arena_bytes)
      throw Error(ErrorCode::kInternal, "a shared arena of " + std::to_string(external_bytes) + " bytes for a network "
                                        "that needs " + std::to_string(plan_.arena_bytes));
    arena_ = external;
    own_arena_ = false;
    return;
  }
  arena_ = static_cast<float*>(std::aligned_alloc(kArenaAlign, std::max<std::size_t>(plan_.arena_bytes, kArenaAlign)));
  if (!arena_) throw Error(ErrorCode::kInternal, "cannot allocate " + std::to_string(plan_.arena_bytes) + " bytes of activations");
}

float* CpuNetwork::data(int value) {
  const Value& v = graph_.values[value];
  if (v.is_constant) return v.f.empty() ? nullptr : const_cast<float*>(v.f.data());
  return reinterpret_cast<float*>(reinterpret_cast<char*>(arena_) + plan_.offset[plan_.storage_root[value]]);
}

std::vector<std::int64_t> CpuNetwork::strides(int value) const { return physical_strides(graph_.values[value]); }

void CpuNetwork::build_kernels() {
  std::size_t scratchpad = 0;
  for (const Node& n : graph_.nodes) {
    kernels_.push_back(make_cpu_kernel(graph_, n, *access_, dnnl_->context));
    scratchpad = std::max(scratchpad, kernels_.back()->scratchpad_bytes());
  }
  dnnl_scratchpad_.assign(scratchpad / sizeof(float) + 16, 0.0f);
  for (auto& k : kernels_) k->bind_scratchpad(dnnl_scratchpad_.data());
}

void CpuNetwork::run() {
  omp_set_num_threads(threads_);
  if (!profile_) {
    for (auto& k : kernels_) k->run();
    dnnl_->stream.wait();
    return;
  }
  for (std::size_t k = 0; k < kernels_.size(); ++k) {
    const auto start = std::chrono::steady_clock::now();
    kernels_[k]->run();
    dnnl_->stream.wait();
    node_ms_[k] += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
  ++runs_;
}

void CpuNetwork::print_profile() const {
  std::map<std::string, double> by_op;
  double total = 0;
  for (std::size_t k = 0; k < graph_.nodes.size(); ++k) {
    const Node& n = graph_.nodes[k];
    std::string key = n.op;
    if (op_def(n).kernel == OpKernel::kConv) {
      const auto& w = graph_.values[n.inputs[1]].shape;
      const auto& x = graph_.values[n.inputs[0]].shape;
      key += w[1] == 1 && x[1] == w[0] ? " depthwise" : " " + std::to_string(w[2]) + "x" + std::to_string(w[3]);
    }
    by_op[key] += node_ms_[k] / runs_;
    total += node_ms_[k] / runs_;
  }
  char line[160];
  std::snprintf(line, sizeof line, "profile (%s, %d runs, ms per run): total %.2f", graph_.source.c_str(), runs_, total);
  std::string text = line;
  for (const auto& [op, ms] : by_op) {
    std::snprintf(line, sizeof line, "\n  %-20s %8.2f  %5.1f%%", op.c_str(), ms, 100 * ms / total);
    text += line;
  }
  log_message(LogLevel::kInfo, text);
}

void CpuNetwork::set_input_logical(const float* data) {
  const int in = input_value();
  const Value& v = graph_.values[in];
  copy_strided(this->data(in), strides(in), data, plain_strides(v.shape), v.shape);
}

void CpuNetwork::output_logical(int value, std::vector<float>& out) const {
  const Value& v = graph_.values[value];
  out.resize(static_cast<std::size_t>(v.element_count()));
  auto* self = const_cast<CpuNetwork*>(this);
  copy_strided(out.data(), plain_strides(v.shape), self->data(value), strides(value), v.shape);
}

}  // namespace deeplab
