#include "graph/memory_plan.h"

#include <algorithm>
#include <utility>

#include "deeplab/error.h"
#include "graph/attrs.h"
#include "graph/ops.h"
#include "graph/passes.h"
#include "graph/strides.h"

namespace deeplab {

int alias_source(const Graph& g, const Node& n) {
  const Value& in = g.values[n.inputs[0]];
  const Value& out = g.values[n.outputs[0]];
  switch (op_def(n).layout) {
    case LayoutRule::kTranspose: {
      const auto perm = attr_ints(g, n, "perm");
      if ((in.layout == Layout::kChannelsLast && out.layout == Layout::kPlain && is_to_nhwc(perm)) ||
          (in.layout == Layout::kPlain && out.layout == Layout::kChannelsLast && is_to_nchw(perm)))
        return n.inputs[0];
      return -1;
    }
    case LayoutRule::kReshape:
      if (!in.is_constant && (in.layout == Layout::kPlain || physical_strides(in) == plain_strides(in.shape)))
        return n.inputs[0];
      return -1;
    case LayoutRule::kReorder: return physical_strides(in) == physical_strides(out) ? n.inputs[0] : -1;
    default: return -1;
  }
}

bool MemoryPlan::residual_in_place(const Graph& g, const Node& conv) const {
  return conv.residual >= 0 && storage_root[conv.residual] == storage_root[conv.outputs[0]];
}

namespace {

// Storage roots: aliases first, in node order, so that chains resolve to the first storage.
void plan_aliases(const Graph& g, MemoryPlan& plan) {
  auto& root = plan.storage_root;
  root.resize(g.values.size());
  for (std::size_t v = 0; v < root.size(); ++v) root[v] = static_cast<int>(v);
  for (const Node& n : g.nodes) {
    const int src = alias_source(g, n);
    if (src >= 0) root[n.outputs[0]] = root[src];
  }
}

// Lifetimes per root in node indices: the input from -1, graph outputs to the end.
void plan_lifetimes(const Graph& g, MemoryPlan& plan) {
  const int nv = static_cast<int>(g.values.size());
  const int end = static_cast<int>(g.nodes.size());
  plan.first.assign(nv, end + 1);
  plan.last.assign(nv, -2);
  auto touch = [&](int value, int at) {
    if (value < 0 || g.values[value].is_constant) return;
    const int r = plan.storage_root[value];
    plan.first[r] = std::min(plan.first[r], at);
    plan.last[r] = std::max(plan.last[r], at);
  };
  touch(g.inputs[0], -1);
  for (int k = 0; k < end; ++k) {
    const Node& n = g.nodes[k];
    for (int in : n.inputs) touch(in, k);
    if (n.residual >= 0) touch(n.residual, k);
    for (int out : n.outputs) touch(out, k);
  }
  for (int o : g.outputs) touch(o, end);
}

// A conv's residual sum accumulates in place when the residual dies at that conv and does not
// share storage with the conv's own input (nor with the network input, rewritten every frame).
void plan_residuals_in_place(const Graph& g, MemoryPlan& plan) {
  auto& root = plan.storage_root;
  auto& first = plan.first;
  auto& last = plan.last;
  const int end = static_cast<int>(g.nodes.size());
  for (int k = 0; k < end; ++k) {
    const Node& n = g.nodes[k];
    if (n.residual < 0) continue;
    const int r = root[n.residual], out = n.outputs[0];
    if (last[r] != k || r == root[n.inputs[0]] || root[out] != out || r == root[g.inputs[0]]) continue;
    root[out] = r;
    last[r] = std::max(last[r], last[out]);
    first[out] = end + 1;
    last[out] = -2;
    for (auto& v : root)
      if (v == out) v = r;
  }
}

// Greedy placement: largest first, at the lowest offset overlapping no buffer live at the same time.
void plan_offsets(const Graph& g, MemoryPlan& plan, std::size_t element_bytes, std::size_t alignment) {
  const int nv = static_cast<int>(g.values.size());
  const auto& first = plan.first;
  const auto& last = plan.last;
  auto rounded = [&](int v) {
    const std::size_t raw = static_cast<std::size_t>(g.values[v].element_count()) * element_bytes;
    return (raw + alignment - 1) / alignment * alignment;
  };
  std::vector<int> roots;
  for (int v = 0; v < nv; ++v)
    if (plan.storage_root[v] == v && last[v] >= first[v]) roots.push_back(v);
  std::sort(roots.begin(), roots.end(), [&](int a, int b) { return rounded(a) > rounded(b); });
  plan.offset.assign(nv, 0);
  plan.bytes.assign(nv, 0);
  std::vector<int> placed;
  for (int v : roots) {
    const std::size_t size = rounded(v);
    std::vector<std::pair<std::size_t, std::size_t>> busy;
    for (int p : placed)
      if (!(last[p] < first[v] || last[v] < first[p])) busy.emplace_back(plan.offset[p], plan.offset[p] + plan.bytes[p]);
    std::sort(busy.begin(), busy.end());
    std::size_t offset = 0;
    for (auto [b, e] : busy) {
      if (offset + size <= b) break;
      offset = std::max(offset, e);
    }
    plan.offset[v] = offset;
    plan.bytes[v] = size;
    placed.push_back(v);
    plan.arena_bytes = std::max(plan.arena_bytes, offset + size);
  }
}

}  // namespace

MemoryPlan plan_memory(const Graph& g, std::size_t element_bytes, std::size_t alignment) {
  if (element_bytes == 0 || alignment == 0)
    throw Error(ErrorCode::kInternal, "plan_memory: zero element size or alignment");
  MemoryPlan plan;
  plan_aliases(g, plan);
  plan_lifetimes(g, plan);
  plan_residuals_in_place(g, plan);
  plan_offsets(g, plan, element_bytes, alignment);
  return plan;
}

}  // namespace deeplab
