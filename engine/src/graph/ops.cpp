// The op table. One entry per op: what folds it, what shape it has when it runs, which layout rule
// and which backend kernel family it takes. See graph/ops.h and docs/engine.md ("Adding an op").
#include "graph/ops.h"

#include <unordered_map>

#include "graph/attrs.h"
#include "graph/fold_context.h"

namespace deeplab {
namespace {

using K = OpKernel;
using L = LayoutRule;
using namespace ops;

OpDef unary(const char* name, Activation::Kind kind) {
  OpDef d(name);
  d.runs(same_shape, K::kUnary);
  d.activation = kind;
  return d;
}

OpDef binary(const char* name, BinaryKind op, FoldFn fold) {
  OpDef d(name);
  d.folds(fold).runs(broadcast_shape, K::kBinary, L::kBinary);
  d.float_inputs = true;
  d.binary = op;
  return d;
}

OpDef pool(const char* name, OpKernel kernel, bool max) {
  OpDef d(name);
  d.runs(pool_shape, kernel, L::kChannelsLast);
  d.reduce_max = max;
  return d;
}

OpDef reshape(const char* name, FoldFn fold) { return OpDef(name).folds(fold).runs(reshape_shape, K::kRelayout, L::kReshape); }
OpDef fold_only(const char* name, FoldFn fold) { return OpDef(name).folds(fold); }
OpDef shape_only(const char* name, LayoutRule layout = L::kFollowInput) { return OpDef(name).runs(same_shape, K::kNone, layout); }

OpDef identity(const char* name, bool extra_outputs) {
  OpDef d(name);
  d.folds(fold_identity).runs(same_shape, K::kNone);
  d.identity = true;
  d.extra_outputs = extra_outputs;
  return d;
}

// Pad: folded when its input is constant; its shape and the kernels' amounts come from parse_pad.
std::vector<std::int64_t> pad_shape(const Graph& g, const Node& n) { return parse_pad(g, n).out_shape; }

ConstTensor fold_pad(const FoldContext& c) {
  const PadAttrs a = parse_pad(c.graph(), c.node());
  const ConstTensor x = c.arg(0);
  ConstTensor out{x.is_int, a.out_shape, {}};
  out.data.assign(static_cast<std::size_t>(c.result_count(a.out_shape)), a.value);
  const std::size_t rank = x.shape.size();
  std::vector<std::int64_t> index(rank, 0);  // of the input element, last axis fastest
  for (std::int64_t k = 0; k < x.count(); ++k) {
    std::int64_t at = 0;
    for (std::size_t d = 0; d < rank; ++d) at = at * a.out_shape[d] + index[d] + a.begin[d];
    out.data[static_cast<std::size_t>(at)] = x.data[static_cast<std::size_t>(k)];
    for (std::size_t d = rank; d-- > 0 && ++index[d] == x.shape[d];) index[d] = 0;
  }
  return out;
}

// Ops the backends run (OpKernel other than kNone).
void add_backend_ops(std::vector<OpDef>& t) {
  t.push_back(OpDef("Conv").runs(conv_shape, K::kConv, L::kChannelsLast));
  t.push_back(pool("MaxPool", K::kPool, true));
  t.push_back(pool("AveragePool", K::kPool, false));
  t.push_back(pool("GlobalAveragePool", K::kGlobalPool, false));
  t.push_back(pool("GlobalMaxPool", K::kGlobalPool, true));
  t.push_back(OpDef("BatchNormalization").runs(batchnorm_shape, K::kBatchNorm, L::kChannelsLast));
  t.push_back(OpDef("Resize").runs(resize_shape, K::kResize, L::kResize));
  t.push_back(OpDef("Upsample").runs(resize_shape, K::kResize, L::kResize));
  t.back().upsample = true;
  t.push_back(unary("Relu", Activation::kRelu));
  t.back().folds(fold_unary<relu>);
  t.push_back(unary("Clip", Activation::kClip));
  t.push_back(unary("Sigmoid", Activation::kSigmoid));
  t.push_back(unary("HardSigmoid", Activation::kHardSigmoid));
  t.push_back(unary("HardSwish", Activation::kHardSwish));
  t.push_back(binary("Add", BinaryKind::kAdd, fold_binary<add>));
  t.push_back(binary("Sub", BinaryKind::kSub, fold_binary<sub>));
  t.push_back(binary("Mul", BinaryKind::kMul, fold_binary<mul>));
  t.push_back(binary("Div", BinaryKind::kDiv, fold_div));
  t.push_back(binary("Max", BinaryKind::kMax, fold_binary<max>));
  t.push_back(binary("Min", BinaryKind::kMin, fold_binary<min>));
  t.push_back(OpDef("Concat").folds(fold_concat).runs(concat_shape, K::kConcat, L::kConcat));
  t.back().float_inputs = true;
  t.push_back(OpDef("Transpose").folds(fold_transpose).runs(transpose_shape, K::kTranspose, L::kTranspose));
  t.push_back(reshape("Reshape", fold_reshape));
  t.push_back(reshape("Flatten", fold_flatten));
  t.push_back(reshape("Squeeze", fold_squeeze));
  t.push_back(reshape("Unsqueeze", fold_unsqueeze));
  t.push_back(OpDef("Reorder").runs(nullptr, K::kRelayout, L::kReorder));  // inserted by assign_layouts
  t.push_back(OpDef("Pad").folds(fold_pad).runs(pad_shape, K::kPad));
}

// Ops removed by passes, refused by the backends, or folded at load.
void add_load_time_ops(std::vector<OpDef>& t) {
  // Removed by remove_identities.
  t.push_back(identity("Identity", false));
  t.push_back(identity("Dropout", true));
  // Shapes inferred, but no backend kernel (refused when the backend is built).
  t.push_back(shape_only("LeakyRelu"));
  t.push_back(shape_only("Tanh"));
  t.push_back(shape_only("Exp"));
  t.push_back(shape_only("Softmax", L::kPlain));
  t.push_back(shape_only("Neg").folds(fold_unary<neg>));
  t.push_back(shape_only("Abs").folds(fold_unary<abs>));
  // Shape arithmetic: folded at load, never run.
  t.push_back(fold_only("Shape", fold_shape));
  t.back().fold_on_shape = true;
  t.push_back(fold_only("Gather", fold_gather));
  t.push_back(fold_only("Slice", fold_slice));
  t.push_back(fold_only("Cast", fold_cast));
  t.push_back(fold_only("ConstantOfShape", fold_constant_of_shape));
  t.push_back(fold_only("Range", fold_range));
  t.push_back(fold_only("Where", fold_where));
  t.push_back(fold_only("Pow", fold_binary<ops::pow>));
  t.push_back(fold_only("Equal", fold_binary<equal, true>));
  t.push_back(fold_only("Less", fold_binary<less, true>));
  t.push_back(fold_only("Greater", fold_binary<greater, true>));
  t.push_back(fold_only("Not", fold_unary<logical_not>));
  t.push_back(fold_only("Floor", fold_unary<ops::floor>));
  t.push_back(fold_only("Ceil", fold_unary<ops::ceil>));
  t.push_back(fold_only("Round", fold_unary<ops::round>));
  t.push_back(fold_only("Sqrt", fold_unary<ops::sqrt>));
  t.push_back(fold_only("Reciprocal", fold_unary<reciprocal>));
}

std::vector<OpDef> make_table() {
  std::vector<OpDef> t;
  add_backend_ops(t);
  add_load_time_ops(t);
  return t;
}

}  // namespace

const std::vector<OpDef>& op_table() {
  static const std::vector<OpDef> table = make_table();
  return table;
}

const OpDef* op_def(const std::string& op) {
  static const std::unordered_map<std::string, const OpDef*> by_name = [] {
    std::unordered_map<std::string, const OpDef*> m;
    for (const OpDef& d : op_table()) m.emplace(d.name, &d);
    return m;
  }();
  const auto it = by_name.find(op);
  return it == by_name.end() ? nullptr : it->second;
}

const OpDef& op_def(const Node& n) {
  static const OpDef unknown("");
  const OpDef* d = op_def(n.op);
  return d ? *d : unknown;
}

}  // namespace deeplab
