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
  bool same_storage(int a, int b) const override { return net_.storage_root_[a] == net_.storage_root_[b]; }

 private:
  CpuNetwork& net_;
};

namespace {

constexpr std::size_t kAlign = 64;

std::size_t value_bytes(const Value& v) {
  return (static_cast<std::size_t>(v.element_count()) * sizeof(float) + kAlign - 1) / kAlign * kAlign;
}

// Does this node's output share its input's storage? Layout-only transposes and reshapes of plain
// tensors do; so may a conv's output with its residual (the fused sum accumulates in place).
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

}  // namespace

CpuNetwork::CpuNetwork(Graph graph, int threads) : graph_(std::move(graph)) {
  threads_ = threads > 0 ? threads : omp_get_num_procs();
  omp_set_num_threads(threads_);
  dnnl_ = std::make_unique<Dnnl>();
  dnnl_->context.engine = &dnnl_->engine;
  dnnl_->context.stream = &dnnl_->stream;
  dnnl_->context.threads = threads_;
  plan_memory();
  access_ = std::make_unique<Access>(*this);
  build_kernels();
  const char* profile = std::getenv("DEEPLAB_PROFILE");
  profile_ = profile && *profile && *profile != '0';
  node_ms_.assign(graph_.nodes.size(), 0.0);
}

CpuNetwork::~CpuNetwork() {
  if (profile_ && runs_ > 0) print_profile();
  kernels_.clear();
  std::free(arena_);
}

void CpuNetwork::plan_memory() {
  const Graph& g = graph_;
  const int nv = static_cast<int>(g.values.size());
  storage_root_.resize(nv);
  for (int v = 0; v < nv; ++v) storage_root_[v] = v;
  // Aliases first (in node order, so chains resolve to the first storage).
  for (const Node& n : g.nodes) {
    const int src = alias_source(g, n);
    if (src >= 0) storage_root_[n.outputs[0]] = storage_root_[src];
  }
  // Lifetimes per root: [first definition, last use] in node indices; the input from -1,
  // outputs to the end.
  const int end = static_cast<int>(g.nodes.size());
  std::vector<int> first(nv, end + 1), last(nv, -2);
  auto touch = [&](int value, int at) {
    if (value < 0 || g.values[value].is_constant) return;
    const int r = storage_root_[value];
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
  // A conv's fused residual sum can accumulate in place when the residual dies at that conv and
  // does not share storage with the conv's own input.
  for (int k = 0; k < end; ++k) {
    const Node& n = g.nodes[k];
    if (n.residual < 0) continue;
    const int r = storage_root_[n.residual], out = n.outputs[0];
    if (last[r] != k || r == storage_root_[n.inputs[0]] || storage_root_[out] != out || r == storage_root_[g.inputs[0]])
      continue;
    storage_root_[out] = r;
    last[r] = std::max(last[r], last[out]);
    first[out] = end + 1;
    last[out] = -2;
    // Values aliasing the output follow it.
    for (int v = 0; v < nv; ++v)
      if (storage_root_[v] == out) storage_root_[v] = r;
  }
  // Greedy placement: largest first, lowest offset that overlaps no live buffer in time.
  struct Placed { std::size_t offset, size; int first, last; };
  std::vector<int> roots;
  for (int v = 0; v < nv; ++v)
    if (storage_root_[v] == v && last[v] >= first[v]) roots.push_back(v);
  std::sort(roots.begin(), roots.end(), [&](int a, int b) { return value_bytes(g.values[a]) > value_bytes(g.values[b]); });
  std::vector<Placed> placed;
  offset_.assign(nv, 0);
  for (int v : roots) {
    const std::size_t size = value_bytes(g.values[v]);
    std::vector<std::pair<std::size_t, std::size_t>> busy;
    for (const Placed& p : placed)
      if (!(p.last < first[v] || last[v] < p.first)) busy.emplace_back(p.offset, p.offset + p.size);
    std::sort(busy.begin(), busy.end());
    std::size_t offset = 0;
    for (auto [b, e] : busy) {
      if (offset + size <= b) break;
      offset = std::max(offset, e);
    }
    offset_[v] = offset;
    placed.push_back({offset, size, first[v], last[v]});
    arena_bytes_ = std::max(arena_bytes_, offset + size);
  }
  arena_ = static_cast<float*>(std::aligned_alloc(kAlign, std::max<std::size_t>(arena_bytes_, kAlign)));
  if (!arena_) throw Error(ErrorCode::kInternal, "cannot allocate " + std::to_string(arena_bytes_) + " bytes of activations");
}

float* CpuNetwork::data(int value) {
  const Value& v = graph_.values[value];
  if (v.is_constant) return v.f.empty() ? nullptr : const_cast<float*>(v.f.data());
  return reinterpret_cast<float*>(reinterpret_cast<char*>(arena_) + offset_[storage_root_[value]]);
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
    if (n.op == "Conv") {
      const auto& w = graph_.values[n.inputs[1]].shape;
      const auto& x = graph_.values[n.inputs[0]].shape;
      key += w[1] == 1 && x[1] == w[0] ? " depthwise" : " " + std::to_string(w[2]) + "x" + std::to_string(w[3]);
    }
    by_op[key] += node_ms_[k] / runs_;
    total += node_ms_[k] / runs_;
  }
  std::fprintf(stderr, "deeplab profile (%s, %d runs, ms per run): total %.2f\n", graph_.source.c_str(), runs_, total);
  for (const auto& [op, ms] : by_op) std::fprintf(stderr, "  %-20s %8.2f  %5.1f%%\n", op.c_str(), ms, 100 * ms / total);
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
