// What an op's fold function (OpDef::fold) sees: the node, its constant inputs, and the checks every
// fold shares; and the fold and shape functions the table (ops.cpp) names. Internal to graph/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/ops.h"

namespace deeplab {

// Folded constants are shape arithmetic and small tensors: refuse larger results, so that a tiny
// file cannot make the loader allocate gigabytes (or overflow a size computation).
constexpr std::int64_t kMaxFoldedElements = std::int64_t{1} << 24;

class FoldContext {
 public:
  FoldContext(const Graph& g, const Node& n) : g_(g), n_(n), where_(g.source + ": " + g.describe(n)) {}

  const Graph& graph() const { return g_; }
  const Node& node() const { return n_; }
  const std::string& where() const { return where_; }

  const Value& in(std::size_t k) const;
  bool has_input(std::size_t k) const { return k < n_.inputs.size() && n_.inputs[k] >= 0; }
  ConstTensor arg(std::size_t k) const;
  double scalar_arg(std::size_t k) const;
  // Input k (int64) when present, else the attribute (older opsets).
  std::vector<std::int64_t> ints_input_or_attr(std::size_t k, const std::string& attr) const;
  std::int64_t attr(const std::string& key, std::int64_t def) const { return attr_int(g_, n_, key, def); }

  [[noreturn]] void bad(const std::string& what) const;
  // Element count of a result shape; throws if negative or over kMaxFoldedElements.
  std::int64_t result_count(const std::vector<std::int64_t>& shape) const;
  std::int64_t normalize_axis(std::int64_t axis, std::size_t rank) const;

  // Elementwise over inputs 0 and 1 with numpy broadcasting.
  ConstTensor binary(double (*f)(double, double), bool int_result) const;
  // Elementwise over input 0.
  ConstTensor unary(double (*f)(double)) const;
  // Input 0 with a new shape (0 keeps the input's dim, one -1 is inferred).
  ConstTensor reshape(std::vector<std::int64_t> shape) const;

 private:
  const Graph& g_;
  const Node& n_;
  std::string where_;
};

// double -> int64 without undefined behaviour: NaN gives 0, out-of-range values saturate.
std::int64_t to_int64(double d);
// A Transpose perm must name each axis in [0, rank) exactly once (the CPU kernel indexes with it).
void check_perm(const std::vector<std::int64_t>& perm, std::size_t rank, const std::string& where);
std::int64_t normalize_axis(std::int64_t axis, std::size_t rank, const std::string& where);
// Transpose's perm attribute, reversed axes when absent; checked against `rank`.
std::vector<std::int64_t> transpose_perm(const Graph& g, const Node& n, std::size_t rank, const std::string& where);

// Fold and shape functions of the table (graph/fold_ops.cpp, graph/shape_ops.cpp).
namespace ops {
ConstTensor fold_shape(const FoldContext& c);
ConstTensor fold_identity(const FoldContext& c);
ConstTensor fold_cast(const FoldContext& c);
ConstTensor fold_div(const FoldContext& c);
template <double (*F)(double, double), bool kIntResult = false>
ConstTensor fold_binary(const FoldContext& c) { return c.binary(F, kIntResult); }
template <double (*F)(double)>
ConstTensor fold_unary(const FoldContext& c) { return c.unary(F); }
double add(double a, double b);
double sub(double a, double b);
double mul(double a, double b);
double pow(double a, double b);
double min(double a, double b);
double max(double a, double b);
double equal(double a, double b);
double less(double a, double b);
double greater(double a, double b);
double floor(double a);
double ceil(double a);
double round(double a);
double neg(double a);
double abs(double a);
double sqrt(double a);
double reciprocal(double a);
double relu(double a);
double logical_not(double a);
ConstTensor fold_where(const FoldContext& c);
ConstTensor fold_gather(const FoldContext& c);
ConstTensor fold_slice(const FoldContext& c);
ConstTensor fold_concat(const FoldContext& c);
ConstTensor fold_transpose(const FoldContext& c);
ConstTensor fold_reshape(const FoldContext& c);
ConstTensor fold_flatten(const FoldContext& c);
ConstTensor fold_unsqueeze(const FoldContext& c);
ConstTensor fold_squeeze(const FoldContext& c);
ConstTensor fold_constant_of_shape(const FoldContext& c);
ConstTensor fold_range(const FoldContext& c);

std::vector<std::int64_t> same_shape(const Graph& g, const Node& n);
std::vector<std::int64_t> broadcast_shape(const Graph& g, const Node& n);
std::vector<std::int64_t> batchnorm_shape(const Graph& g, const Node& n);
std::vector<std::int64_t> conv_shape(const Graph& g, const Node& n);
std::vector<std::int64_t> pool_shape(const Graph& g, const Node& n);
std::vector<std::int64_t> resize_shape(const Graph& g, const Node& n);
std::vector<std::int64_t> concat_shape(const Graph& g, const Node& n);
std::vector<std::int64_t> transpose_shape(const Graph& g, const Node& n);
std::vector<std::int64_t> reshape_shape(const Graph& g, const Node& n);  // by folding a stand-in
}  // namespace ops

}  // namespace deeplab
