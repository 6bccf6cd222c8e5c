#include "graph/memory_plan.h"

#include <algorithm>
#include <utility>

#include "cpu/kernel.h"  // physical_strides, plain_strides
#include "deeplab/error.h"
#include "graph/attrs.h"
#include "graph/passes.h"

namespace deeplab {

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

bool MemoryPlan::residual_in_place(const Graph& g, const Node& conv) const {
  return conv.residual >= 0 && storage_root[conv.residual] == storage_root[conv.outputs[0]];
}

MemoryPlan plan_memory(const Graph& g, std::size_t element_bytes, std::size_t alignment) {
  if (element_bytes == 0 || alignment == 0)
    throw Error(ErrorCode::kInternal, "plan_memory: zero element size or alignment");
  MemoryPlan plan;
  const int nv = static_cast<int>(g.values.size());
  auto& root = plan.storage_root;
  root.resize(nv);
  for (int v = 0; v < nv; ++v) root[v] = v;
  // Aliases first, in node order, so that chains resolve to the first storage.
  for (const Node& n : g.nodes) {
    const int src = alias_source(g, n);
    if (src >= 0) root[n.outputs[0]] = root[src];
  }
  // Lifetimes per root in node indices: the input from -1, graph outputs to the end.
  const int end = static_cast<int>(g.nodes.size());
  auto& first = plan.first;
  auto& last = plan.last;
  first.assign(nv, end + 1);
  last.assign(nv, -2);
  auto touch = [&](int value, int at) {
    if (value < 0 || g.values[value].is_constant) return;
    const int r = root[value];
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
  // A conv's residual sum accumulates in place when the residual dies at that conv and does not
  // share storage with the conv's own input (nor with the network input, rewritten every frame).
  for (int k = 0; k < end; ++k) {
    const Node& n = g.nodes[k];
    if (n.residual < 0) continue;
    const int r = root[n.residual], out = n.outputs[0];
    if (last[r] != k || r == root[n.inputs[0]] || root[out] != out || r == root[g.inputs[0]]) continue;
    root[out] = r;
    last[r] = std::max(last[r], last[out]);
    first[out] = end + 1;
    last[out] = -2;
    for (int v = 0; v < nv; ++v)
      if (root[v] == out) root[v] = r;
  }
  // Greedy placement: largest first, at the lowest offset overlapping no buffer live at the same time.
  auto rounded = [&](int v) {
    const std::size_t raw = static_cast<std::size_t>(g.values[v].element_count()) * element_bytes;
    return (raw + alignment - 1) / alignment * alignment;
  };
  std::vector<int> roots;
  for (int v = 0; v < nv; ++v)
    if (root[v] == v && last[v] >= first[v]) roots.push_back(v);
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
  return plan;
}

}  // namespace deeplab
