#include "graph/passes.h"

#include <cmath>

#include "deeplab/error.h"
#include "graph/ops.h"

namespace deeplab {
namespace {

bool single_use(const Graph& g, int value) { return g.use_count(value) == 1 && !g.is_graph_output(value); }

const float* constant_floats(const Graph& g, const Node& n, std::size_t k) {
  if (k >= n.inputs.size() || n.inputs[k] < 0) return nullptr;
  const Value& v = g.values[n.inputs[k]];
  return v.is_constant && v.dtype == DType::kFloat ? v.f.data() : nullptr;
}

bool is_op(const Graph& g, int node, OpKernel kernel) { return node >= 0 && op_def(g.nodes[node]).kernel == kernel; }

}  // namespace

bool is_to_nhwc(const std::vector<std::int64_t>& perm) { return perm == std::vector<std::int64_t>{0, 2, 3, 1}; }
bool is_to_nchw(const std::vector<std::int64_t>& perm) { return perm == std::vector<std::int64_t>{0, 3, 1, 2}; }

void remove_identities(Graph& g) {
  for (Node& n : g.nodes) {
    if (n.dead || !op_def(n).identity) continue;
    g.replace_uses(n.outputs[0], n.inputs[0]);
    n.dead = true;
  }
  g.compact();
}

void fold_batchnorm_into_conv(Graph& g) {
  for (std::size_t k = 0; k < g.nodes.size(); ++k) {
    Node& bn = g.nodes[k];
    if (bn.dead || op_def(bn).kernel != OpKernel::kBatchNorm) continue;
    const int conv_index = g.producer(bn.inputs[0]);
    if (!is_op(g, conv_index, OpKernel::kConv) || !single_use(g, bn.inputs[0])) continue;
    const float *scale = constant_floats(g, bn, 1), *bias = constant_floats(g, bn, 2),
                *mean = constant_floats(g, bn, 3), *var = constant_floats(g, bn, 4);
    if (!scale || !bias || !mean || !var) continue;
    Node& conv = g.nodes[conv_index];
    const Value& w = g.values[conv.inputs[1]];
    const auto out_c = w.shape[0];
    const auto per_out = w.element_count() / out_c;
    const float eps = attr_float(g, bn, "epsilon", 1e-5f);
    std::vector<float> new_w = w.f, new_b(static_cast<std::size_t>(out_c), 0.0f);
    const float* old_b = conv.inputs.size() > 2 && conv.inputs[2] >= 0 ? g.values[conv.inputs[2]].f.data() : nullptr;
    for (std::int64_t o = 0; o < out_c; ++o) {
      const float factor = scale[o] / std::sqrt(var[o] + eps);
      for (std::int64_t j = 0; j < per_out; ++j) new_w[o * per_out + j] *= factor;
      new_b[o] = ((old_b ? old_b[o] : 0.0f) - mean[o]) * factor + bias[o];
    }
    const std::vector<std::int64_t> w_shape = w.shape;
    const int w_index = g.add_constant(conv.name + "/weight_bn", std::move(new_w), w_shape);
    const int b_index = g.add_constant(conv.name + "/bias_bn", std::move(new_b), {out_c});
    Node& conv_again = g.nodes[conv_index];  // add_constant may not move nodes, but be explicit
    conv_again.inputs.resize(3);
    conv_again.inputs[1] = w_index;
    conv_again.inputs[2] = b_index;
    const int bn_out = g.nodes[k].outputs[0];
    g.values[conv_again.outputs[0]].shape = g.values[bn_out].shape;
    conv_again.outputs[0] = bn_out;
    g.nodes[k].dead = true;
  }
  g.compact();
  g.remove_unused();
}

void fuse_hardswish(Graph& g) {
  for (Node& mul : g.nodes) {
    const OpDef& def = op_def(mul);
    if (mul.dead || def.kernel != OpKernel::kBinary || def.binary != BinaryKind::kMul || mul.inputs.size() != 2) continue;
    for (int side = 0; side < 2; ++side) {
      const int hs_index = g.producer(mul.inputs[side]);
      if (hs_index < 0) continue;
      Node& hs = g.nodes[hs_index];
      if (op_def(hs).activation != Activation::kHardSigmoid || hs.inputs[0] != mul.inputs[1 - side] ||
          !single_use(g, hs.outputs[0]))
        continue;
      const Activation a = activation_of(g, hs);
      if (std::fabs(a.alpha - 1.0f / 6) > 1e-6f || std::fabs(a.beta - 0.5f) > 1e-6f) continue;
      mul.op = "HardSwish";
      mul.inputs = {hs.inputs[0]};
      mul.attrs.clear();
      hs.dead = true;
      break;
    }
  }
  g.compact();
}

void fuse_conv_add(Graph& g) {
  for (std::size_t k = 0; k < g.nodes.size(); ++k) {
    Node& add = g.nodes[k];
    const OpDef& def = op_def(add);
    if (add.dead || def.kernel != OpKernel::kBinary || def.binary != BinaryKind::kAdd || add.inputs.size() != 2) continue;
    const Value& a = g.values[add.inputs[0]];
    const Value& b = g.values[add.inputs[1]];
    if (a.is_constant || b.is_constant || a.shape != b.shape) continue;
    // Prefer the conv that runs last, so that the other operand is ready when it runs.
    int best = -1, best_side = -1;
    for (int side = 0; side < 2; ++side) {
      const int p = g.producer(add.inputs[side]);
      if (p < 0) continue;
      const Node& conv = g.nodes[p];
      if (!is_op(g, p, OpKernel::kConv) || conv.residual >= 0 || conv.activation.kind != Activation::kNone) continue;
      if (!single_use(g, add.inputs[side])) continue;
      const int other = g.producer(add.inputs[1 - side]);
      if (other > p) continue;
      if (p > best) best = p, best_side = side;
    }
    if (best < 0) continue;
    Node& conv = g.nodes[best];
    conv.residual = add.inputs[1 - best_side];
    conv.outputs[0] = add.outputs[0];
    add.dead = true;
  }
  g.compact();
}

void fuse_conv_activation(Graph& g) {
  for (Node& act : g.nodes) {
    if (act.dead) continue;
    Activation a;
    if (!try_activation_of(g, act, a) || a.kind == Activation::kNone) continue;
    const int p = g.producer(act.inputs[0]);
    if (!is_op(g, p, OpKernel::kConv) || g.nodes[p].activation.kind != Activation::kNone) continue;
    if (!single_use(g, act.inputs[0])) continue;
    g.nodes[p].activation = a;
    g.nodes[p].outputs[0] = act.outputs[0];
    act.dead = true;
  }
  g.compact();
}

FinalResizeInfo remove_final_resize(Graph& g) {
  FinalResizeInfo info;
  if (g.outputs.size() != 1) return info;
  const Value& input = g.values[g.inputs[0]];
  // Walk back from the output through layout-only transposes.
  std::vector<int> transposes;
  int value = g.outputs[0];
  int p = g.producer(value);
  while (is_op(g, p, OpKernel::kTranspose)) {
    auto perm = attr_ints(g, g.nodes[p], "perm");
    if (!is_to_nhwc(perm) && !is_to_nchw(perm)) return info;
    transposes.push_back(p);
    value = g.nodes[p].inputs[0];
    if (!single_use(g, value)) return info;
    p = g.producer(value);
  }
  if (!is_op(g, p, OpKernel::kResize)) return info;
  Node& resize = g.nodes[p];
  const ResizeAttrs attrs = parse_resize(g, resize);
  if (attrs.mode != ResizeAttrs::kLinear && attrs.mode != ResizeAttrs::kNearest) return info;
  // "Back to the input size": the resized H and W equal the network input's spatial size.
  const auto& is = input.shape;
  const bool nchw_in = is.size() == 4 && attrs.out_h == is[2] && attrs.out_w == is[3];
  const bool nhwc_in = is.size() == 4 && attrs.out_h == is[1] && attrs.out_w == is[2];
  if (!nchw_in && !nhwc_in) return info;
  const int low_res = resize.inputs[0];
  if (!single_use(g, low_res) && !g.is_graph_output(low_res)) return info;
  info.removed = true;
  info.attrs = attrs;
  resize.dead = true;
  if (transposes.empty()) {
    g.replace_uses(resize.outputs[0], low_res);
  } else {
    // Rewire the transpose chain onto the low-resolution logits and recompute its shapes.
    Node& first = g.nodes[transposes.back()];
    first.inputs[0] = low_res;
    for (auto it = transposes.rbegin(); it != transposes.rend(); ++it) {
      Node& t = g.nodes[*it];
      const auto perm = attr_ints(g, t, "perm");
      const auto& s = g.values[t.inputs[0]].shape;
      g.values[t.outputs[0]].shape = {s[perm[0]], s[perm[1]], s[perm[2]], s[perm[3]]};
    }
  }
  g.compact();
  info.logits_value = g.outputs[0];
  return info;
}

namespace {

// NCHW and NHWC storage of a 4-D tensor coincide when it has one pixel or one channel.
bool layouts_coincide(const Value& v) {
  return v.shape.size() == 4 && ((v.shape[2] == 1 && v.shape[3] == 1) || v.shape[1] == 1);
}

// assign_layouts() over one graph: the rebuilt node list with Reorder nodes where needed.
class LayoutAssigner {
 public:
  explicit LayoutAssigner(Graph& g) : g_(g) {
    out_.reserve(g.nodes.size());
    // ensure() adds at most one value per node input: reserve them all now, so that adding one never
    // reallocates g.values under the references held while a node is assigned.
    std::size_t node_inputs = 0;
    for (const Node& n : g.nodes) node_inputs += n.inputs.size();
    g.values.reserve(g.values.size() + node_inputs);
  }

  void assign(Node& n) {
    Value& o = g_.values[n.outputs[0]];
    o.layout = output_layout(n, g_.values[n.inputs[0]]);
    out_.push_back(std::move(n));
  }
  std::vector<Node> take() { return std::move(out_); }

 private:
  // Converts input k of `n` to `want` (a Reorder node before it) unless it is already there.
  void ensure(Node& n, std::size_t k, Layout want) {
    const int v = n.inputs[k];
    if (v < 0 || g_.values[v].is_constant || g_.values[v].layout == want || g_.values[v].shape.size() != 4) return;
    Value converted = g_.values[v];
    converted.name = g_.values[v].name + (want == Layout::kChannelsLast ? "/to_nhwc" : "/to_nchw");
    converted.layout = want;
    const int nv = g_.add_value(std::move(converted));
    Node reorder;
    reorder.op = "Reorder";
    reorder.name = g_.values[nv].name;
    reorder.inputs = {v};
    reorder.outputs = {nv};
    out_.push_back(reorder);
    n.inputs[k] = nv;
  }

  Layout output_layout(Node& n, const Value& x) {
    const Value& o = g_.values[n.outputs[0]];
    switch (op_def(n).layout) {
      case LayoutRule::kChannelsLast:
        ensure(n, 0, Layout::kChannelsLast);
        if (n.residual >= 0 && g_.values[n.residual].layout != Layout::kChannelsLast)
          throw Error(ErrorCode::kInternal, g_.source + ": " + g_.describe(n) + ": residual in the wrong layout");
        return Layout::kChannelsLast;
      case LayoutRule::kResize: {
        const bool spatial_12 = parse_resize(g_, n).axis_h == 1;  // NHWC logical: already H, W in the middle
        ensure(n, 0, spatial_12 ? Layout::kPlain : Layout::kChannelsLast);
        return spatial_12 ? Layout::kPlain : Layout::kChannelsLast;
      }
      case LayoutRule::kBinary:
        for (int in : n.inputs)
          if (g_.values[in].shape == o.shape) return g_.values[in].layout;
        return Layout::kPlain;
      case LayoutRule::kConcat:
        for (std::size_t k = 1; k < n.inputs.size(); ++k) ensure(n, k, x.layout);
        return x.layout;
      case LayoutRule::kTranspose: {
        const auto perm = attr_ints(g_, n, "perm");
        if (x.layout == Layout::kChannelsLast && is_to_nhwc(perm)) return Layout::kPlain;       // alias
        if (x.layout == Layout::kPlain && is_to_nchw(perm)) return Layout::kChannelsLast;       // alias
        return Layout::kPlain;  // general transpose from the input's physical layout
      }
      case LayoutRule::kReshape:
        if (x.layout == Layout::kChannelsLast && !layouts_coincide(x)) ensure(n, 0, Layout::kPlain);
        return Layout::kPlain;
      case LayoutRule::kPlain:
        ensure(n, 0, Layout::kPlain);
        return Layout::kPlain;
      case LayoutRule::kReorder: return o.layout;  // chosen when the Reorder was inserted
      case LayoutRule::kFollowInput: break;
    }
    return x.layout;
  }

  Graph& g_;
  std::vector<Node> out_;
};

}  // namespace

void assign_layouts(Graph& g) {
  Value& input = g.values[g.inputs[0]];
  input.layout = Layout::kPlain;
  if (input.shape.size() == 4)
    for (int c : g.consumers(g.inputs[0]))
      if (op_def(g.nodes[c]).layout == LayoutRule::kChannelsLast) input.layout = Layout::kChannelsLast;
  LayoutAssigner assigner(g);
  for (Node& n : g.nodes) assigner.assign(n);
  g.nodes = assigner.take();
}

FinalResizeInfo optimize_graph(Graph& g, const OptimizeOptions& options) {
  remove_identities(g);
  if (options.fuse) {
    fold_batchnorm_into_conv(g);
    fuse_hardswish(g);
    fuse_conv_add(g);
    fuse_conv_activation(g);
  }
  FinalResizeInfo info;
  if (options.remove_final_resize) info = remove_final_resize(g);
  g.remove_unused();
  assign_layouts(g);
  return info;
}

}  // namespace deeplab
