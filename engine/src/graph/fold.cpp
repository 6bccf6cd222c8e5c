#include "graph/fold.h"

#include <algorithm>

#include "deeplab/error.h"
#include "graph/fold_context.h"
#include "graph/ops.h"

namespace deeplab {
namespace {

void store(const ConstTensor& t, Value& v) {
  v.is_constant = true;
  v.shape_known = true;
  v.shape = t.shape;
  v.dtype = t.is_int ? DType::kInt64 : DType::kFloat;
  v.i.clear();
  v.f.clear();
  if (t.is_int) for (double d : t.data) v.i.push_back(to_int64(d));
  else v.f.assign(t.data.begin(), t.data.end());
}

// Evaluates the node if the op folds (OpDef::fold) and every input is constant (or, for
// fold_on_shape ops, input 0's shape is known). Returns false otherwise.
bool try_fold(Graph& g, Node& n) {
  const OpDef& def = op_def(n);
  if (!def.fold) return false;
  const FoldContext c(g, n);
  if (def.fold_on_shape) {
    if (!c.in(0).shape_known) return false;
  } else {
    for (int v : n.inputs)
      if (v >= 0 && !g.values[v].is_constant) return false;
  }
  const ConstTensor result = def.fold(c);
  if (result.count() != static_cast<std::int64_t>(result.data.size())) c.bad("internal folding size mismatch");
  store(result, g.values[n.outputs[0]]);
  for (std::size_t k = 1; k < n.outputs.size(); ++k)
    if (n.outputs[k] >= 0 && g.use_count(n.outputs[k]) > 0) c.bad("folding an op with several used outputs");
  n.dead = true;
  return true;
}

// Sets the output shape of a node that runs (OpDef::shape); throws kUnsupported for ops the engine
// cannot run.
void infer_node_shape(Graph& g, Node& n) {
  const std::string where = g.source + ": " + g.describe(n);
  for (int v : n.inputs)
    if (v >= 0 && !g.values[v].shape_known)
      throw Error(ErrorCode::kModelCorrupt, where + ": input '" + g.values[v].name + "' has an unknown shape");
  const OpDef& def = op_def(n);
  if (def.float_inputs)  // the kernels read constant operands as floats
    for (std::size_t k = 0; k < n.inputs.size(); ++k) {
      if (n.inputs[k] < 0) throw Error(ErrorCode::kModelCorrupt, where + ": missing input " + std::to_string(k));
      const Value& v = g.values[n.inputs[k]];
      if (v.dtype != DType::kFloat) throw Error(ErrorCode::kUnsupported, where + ": input '" + v.name + "' is not float");
    }
  if (!def.shape)
    throw Error(ErrorCode::kUnsupported, g.source + ": op " + n.op + " (" + g.describe(n) + ") is not supported by this engine");
  Value& out = g.values[n.outputs[0]];
  out.shape = def.shape(g, n);
  out.shape_known = true;
  for (std::size_t k = 1; k < n.outputs.size(); ++k)
    if (n.outputs[k] >= 0 && g.use_count(n.outputs[k]) > 0 && !def.extra_outputs)
      throw Error(ErrorCode::kUnsupported, where + ": its output " + std::to_string(k) + " is used, which is not supported");
}

}  // namespace

std::vector<std::int64_t> broadcast_shapes(const std::vector<std::int64_t>& a,
                                           const std::vector<std::int64_t>& b, const std::string& where) {
  const std::size_t rank = std::max(a.size(), b.size());
  std::vector<std::int64_t> out(rank);
  for (std::size_t k = 0; k < rank; ++k) {
    const std::int64_t da = k < rank - a.size() ? 1 : a[k - (rank - a.size())];
    const std::int64_t db = k < rank - b.size() ? 1 : b[k - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error(ErrorCode::kModelCorrupt, where + ": shapes " + shape_string(a) + " and " + shape_string(b) + " do not broadcast");
    out[k] = da == 1 ? db : da;
  }
  return out;
}

void fold_constants_and_infer_shapes(Graph& g, const std::vector<std::int64_t>& input_shape) {
  Value& input = g.values.at(g.inputs.at(0));
  if (input.shape.size() != input_shape.size())
    throw Error(ErrorCode::kManifestMismatch, g.source + ": input '" + input.name + "' has rank " +
                                                  std::to_string(input.shape.size()) + ", expected " +
                                                  std::to_string(input_shape.size()));
  for (std::size_t k = 0; k < input_shape.size(); ++k) {
    if (input.shape[k] >= 0 && input.shape[k] != input_shape[k])
      throw Error(ErrorCode::kManifestMismatch,
                  g.source + ": input '" + input.name + "' has the fixed shape " + shape_string(input.shape) +
                      "; it cannot take " + shape_string(input_shape) + " (a model exported with dynamic H/W can)");
    input.shape[k] = input_shape[k];
  }
  input.shape_known = true;
  for (Node& n : g.nodes) {
    if (n.dead) continue;
    if (!try_fold(g, n)) infer_node_shape(g, n);
  }
  g.compact();
  for (int o : g.outputs)
    if (!g.values[o].shape_known || g.values[o].is_constant)
      throw Error(ErrorCode::kModelCorrupt, g.source + ": output '" + g.values[o].name + "' does not depend on the input");
}

}  // namespace deeplab
