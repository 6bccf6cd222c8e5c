#include "graph/fold.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>

#include "deeplab/error.h"
#include "graph/attrs.h"

namespace deeplab {
namespace {

// A small constant tensor for folding shape arithmetic (and the odd constant float expression).
struct ConstTensor {
  bool is_int = false;
  std::vector<std::int64_t> shape;
  std::vector<double> data;
  std::int64_t count() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

ConstTensor from_value(const Value& v) {
  ConstTensor t;
  t.is_int = v.dtype == DType::kInt64;
  t.shape = v.shape;
  if (t.is_int) t.data.assign(v.i.begin(), v.i.end());
  else t.data.assign(v.f.begin(), v.f.end());
  return t;
}

// double -> int64 without undefined behaviour: NaN gives 0, out-of-range values saturate.
std::int64_t to_int64(double d) {
  if (std::isnan(d)) return 0;
  if (d >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
  if (d <= -9.2e18) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(d);
}

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

std::vector<std::int64_t> strides_of(const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> s(shape.size(), 1);
  for (int k = static_cast<int>(shape.size()) - 2; k >= 0; --k) s[k] = s[k + 1] * shape[k + 1];
  return s;
}

// Folded constants are shape arithmetic and small tensors: refuse larger results, so that a tiny
// file cannot make the loader allocate gigabytes (or overflow a size computation).
constexpr std::int64_t kMaxFoldedElements = std::int64_t{1} << 24;

// A Transpose perm must name each axis in [0, rank) exactly once (the CPU kernel indexes with it).
void check_perm(const std::vector<std::int64_t>& perm, std::size_t rank, const std::string& where) {
  std::vector<char> seen(rank, 0);
  for (auto p : perm) {
    if (p < 0 || p >= static_cast<std::int64_t>(rank) || seen[p])
      throw Error(ErrorCode::kModelCorrupt, where + ": perm " + shape_string(perm) + " is not a permutation of 0.." +
                                                std::to_string(static_cast<std::int64_t>(rank) - 1));
    seen[p] = 1;
  }
}

std::int64_t normalize_axis(std::int64_t axis, std::size_t rank, const std::string& where) {
  const auto r = static_cast<std::int64_t>(rank);
  if (axis < -r || axis >= r) throw Error(ErrorCode::kModelCorrupt, where + ": axis " + std::to_string(axis) + " out of range");
  return axis < 0 ? axis + r : axis;
}

class Folder {
 public:
  Folder(Graph& g, Node& n) : g_(g), n_(n), where_(g.source + ": " + g.describe(n)) {}

  // Evaluates the node if every input is constant and the op is foldable. Returns false otherwise.
  bool try_fold();

 private:
  const Value& in(std::size_t k) const {
    if (!has_input(k)) bad("missing input " + std::to_string(k));
    return g_.values[n_.inputs[k]];
  }
  bool has_input(std::size_t k) const { return k < n_.inputs.size() && n_.inputs[k] >= 0; }
  ConstTensor arg(std::size_t k) const { return from_value(in(k)); }
  std::vector<std::int64_t> ints_input_or_attr(std::size_t k, const std::string& attr) const;
  [[noreturn]] void bad(const std::string& what) const { throw Error(ErrorCode::kModelCorrupt, where_ + ": " + what); }
  // Element count of a result shape; throws if negative or over kMaxFoldedElements.
  std::int64_t result_count(const std::vector<std::int64_t>& shape) const {
    std::int64_t n = 1;
    for (auto d : shape) {
      if (d < 0 || (d > 0 && n > kMaxFoldedElements / d)) bad("result " + shape_string(shape) + " is too large to fold");
      n *= d;
    }
    return n;
  }
  double scalar_arg(std::size_t k) const {
    const Value& v = in(k);
    if (v.element_count() < 1) bad("input " + std::to_string(k) + " is empty");
    return v.dtype == DType::kInt64 ? static_cast<double>(v.i[0]) : v.f[0];
  }

  ConstTensor eval();
  ConstTensor eval_binary(const std::function<double(double, double)>& f, bool int_result);
  ConstTensor eval_gather();
  ConstTensor eval_slice();
  ConstTensor eval_concat();
  ConstTensor eval_transpose();
  ConstTensor eval_reshape(std::vector<std::int64_t> shape);

  Graph& g_;
  Node& n_;
  std::string where_;
};

std::vector<std::int64_t> Folder::ints_input_or_attr(std::size_t k, const std::string& attr) const {
  if (has_input(k)) {
    const Value& v = in(k);
    if (v.dtype != DType::kInt64) bad("input " + std::to_string(k) + " must be integer");
    return v.i;
  }
  return attr_ints(g_, n_, attr);
}

bool Folder::try_fold() {
  static const std::set<std::string> foldable = {
      "Shape", "Gather", "Slice", "Concat", "Unsqueeze", "Squeeze", "Cast", "Reshape", "Flatten",
      "Identity", "Dropout", "Add", "Sub", "Mul", "Div", "Pow", "Floor", "Ceil", "Neg", "Sqrt",
      "Relu", "ConstantOfShape", "Transpose", "Range", "Equal", "Less", "Greater", "Where", "Not",
      "Min", "Max", "Abs", "Reciprocal", "Round"};
  if (!foldable.count(n_.op)) return false;
  if (n_.op == "Shape") {
    if (!in(0).shape_known) return false;
  } else {
    for (int v : n_.inputs)
      if (v >= 0 && !g_.values[v].is_constant) return false;
  }
  ConstTensor result = eval();
  if (result.count() != static_cast<std::int64_t>(result.data.size())) bad("internal folding size mismatch");
  store(result, g_.values[n_.outputs[0]]);
  for (std::size_t k = 1; k < n_.outputs.size(); ++k)
    if (n_.outputs[k] >= 0 && g_.use_count(n_.outputs[k]) > 0) bad("folding an op with several used outputs");
  n_.dead = true;
  return true;
}

ConstTensor Folder::eval() {
  const std::string& op = n_.op;
  if (op == "Shape") {
    const auto& shape = in(0).shape;
    const auto rank = static_cast<std::int64_t>(shape.size());
    std::int64_t start = attr_int(g_, n_, "start", 0), end = attr_int(g_, n_, "end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<std::int64_t>(start, 0, rank);
    end = std::clamp<std::int64_t>(end, 0, rank);
    ConstTensor t{true, {std::max<std::int64_t>(0, end - start)}, {}};
    for (auto k = start; k < end; ++k) t.data.push_back(static_cast<double>(shape[k]));
    return t;
  }
  if (op == "Identity" || op == "Dropout") return arg(0);
  if (op == "Cast") {
    ConstTensor t = arg(0);
    const auto to = attr_int(g_, n_, "to", 1);
    const bool to_float = to == 1 || to == 10 || to == 11;  // FLOAT, FLOAT16, DOUBLE
    t.is_int = !to_float;
    if (t.is_int) for (double& d : t.data) d = std::trunc(d);
    return t;
  }
  if (op == "Add") return eval_binary([](double a, double b) { return a + b; }, false);
  if (op == "Sub") return eval_binary([](double a, double b) { return a - b; }, false);
  if (op == "Mul") return eval_binary([](double a, double b) { return a * b; }, false);
  if (op == "Div") {
    const bool ints = in(0).dtype == DType::kInt64;
    return eval_binary([ints](double a, double b) { return ints ? std::trunc(a / b) : a / b; }, false);
  }
  if (op == "Pow") return eval_binary([](double a, double b) { return std::pow(a, b); }, false);
  if (op == "Min") return eval_binary([](double a, double b) { return std::min(a, b); }, false);
  if (op == "Max") return eval_binary([](double a, double b) { return std::max(a, b); }, false);
  if (op == "Equal") return eval_binary([](double a, double b) { return a == b ? 1.0 : 0.0; }, true);
  if (op == "Less") return eval_binary([](double a, double b) { return a < b ? 1.0 : 0.0; }, true);
  if (op == "Greater") return eval_binary([](double a, double b) { return a > b ? 1.0 : 0.0; }, true);
  auto unary = [&](double (*f)(double)) {
    ConstTensor t = arg(0);
    for (double& d : t.data) d = f(d);
    return t;
  };
  if (op == "Floor") return unary([](double a) { return std::floor(a); });
  if (op == "Ceil") return unary([](double a) { return std::ceil(a); });
  if (op == "Round") return unary([](double a) { return std::nearbyint(a); });
  if (op == "Neg") return unary([](double a) { return -a; });
  if (op == "Abs") return unary([](double a) { return std::fabs(a); });
  if (op == "Sqrt") return unary([](double a) { return std::sqrt(a); });
  if (op == "Reciprocal") return unary([](double a) { return 1.0 / a; });
  if (op == "Relu") return unary([](double a) { return a > 0 ? a : 0.0; });
  if (op == "Not") return unary([](double a) { return a == 0 ? 1.0 : 0.0; });
  if (op == "Where") {
    // Where(cond, x, y): broadcast in two steps through a select on the condition.
    ConstTensor c = arg(0), x = arg(1), y = arg(2);
    auto shape = broadcast_shapes(broadcast_shapes(c.shape, x.shape, where_), y.shape, where_);
    ConstTensor t{x.is_int && y.is_int, shape, {}};
    const auto total = result_count(shape);
    auto pick = [&](const ConstTensor& s, std::int64_t flat) {
      // Index s with broadcasting from the output's flat index.
      auto os = strides_of(shape);
      std::int64_t idx = 0, stride = 1;
      for (int k = static_cast<int>(shape.size()) - 1, j = static_cast<int>(s.shape.size()) - 1; k >= 0; --k, --j) {
        const auto coord = (flat / os[k]) % shape[k];
        if (j >= 0) {
          if (s.shape[j] != 1) idx += coord * stride;
          stride *= s.shape[j];
        }
      }
      return s.data[idx];
    };
    for (std::int64_t f = 0; f < total; ++f) t.data.push_back(pick(c, f) != 0 ? pick(x, f) : pick(y, f));
    return t;
  }
  if (op == "Gather") return eval_gather();
  if (op == "Slice") return eval_slice();
  if (op == "Concat") return eval_concat();
  if (op == "Transpose") return eval_transpose();
  if (op == "Reshape") {
    const Value& s = in(1);
    if (s.dtype != DType::kInt64) bad("shape must be int64");
    return eval_reshape(s.i);
  }
  if (op == "Flatten") {
    const auto& shape = in(0).shape;
    const auto axis = normalize_axis(attr_int(g_, n_, "axis", 1), shape.size() + 1, where_);
    std::int64_t outer = 1, inner = 1;
    for (std::size_t k = 0; k < shape.size(); ++k) (static_cast<std::int64_t>(k) < axis ? outer : inner) *= shape[k];
    return eval_reshape({outer, inner});
  }
  if (op == "Unsqueeze") {
    auto axes = ints_input_or_attr(1, "axes");
    auto shape = in(0).shape;
    const std::size_t rank = shape.size() + axes.size();
    for (auto& a : axes) a = normalize_axis(a, rank, where_);
    std::sort(axes.begin(), axes.end());
    for (auto a : axes) shape.insert(shape.begin() + a, 1);
    return eval_reshape(shape);
  }
  if (op == "Squeeze") {
    auto axes = ints_input_or_attr(1, "axes");
    const auto& shape = in(0).shape;
    std::vector<std::int64_t> out;
    for (std::size_t k = 0; k < shape.size(); ++k) {
      bool squeeze = axes.empty() ? shape[k] == 1 : false;
      for (auto a : axes)
        if (normalize_axis(a, shape.size(), where_) == static_cast<std::int64_t>(k)) squeeze = true;
      if (!squeeze) out.push_back(shape[k]);
    }
    return eval_reshape(out);
  }
  if (op == "ConstantOfShape") {
    const Value& s = in(0);
    ConstTensor t{false, s.i, {}};
    double value = 0;
    auto it = n_.attrs.find("value");
    if (it != n_.attrs.end() && it->second.kind == Attr::kTensor) {
      const Value& v = g_.values[it->second.tensor];
      t.is_int = v.dtype == DType::kInt64;
      if (v.element_count() < 1) bad("'value' is empty");
      value = t.is_int ? static_cast<double>(v.i[0]) : v.f[0];
    }
    t.data.assign(static_cast<std::size_t>(result_count(t.shape)), value);
    return t;
  }
  if (op == "Range") {
    const double start = scalar_arg(0), limit = scalar_arg(1), delta = scalar_arg(2);
    if (delta == 0) bad("Range delta is 0");
    const double count = std::max(0.0, std::ceil((limit - start) / delta));
    if (!(count <= static_cast<double>(kMaxFoldedElements))) bad("Range is too large");
    const auto n = static_cast<std::int64_t>(count);
    ConstTensor t{in(0).dtype == DType::kInt64, {n}, {}};
    for (std::int64_t k = 0; k < n; ++k) t.data.push_back(start + static_cast<double>(k) * delta);
    return t;
  }
  bad("cannot fold");
}

ConstTensor Folder::eval_binary(const std::function<double(double, double)>& f, bool int_result) {
  ConstTensor a = arg(0), b = arg(1);
  ConstTensor t;
  t.shape = broadcast_shapes(a.shape, b.shape, where_);
  t.is_int = int_result || (a.is_int && b.is_int);
  const auto total = result_count(t.shape);
  const auto out_strides = strides_of(t.shape);
  auto index_in = [&](const ConstTensor& s, std::int64_t flat) {
    std::int64_t idx = 0, stride = 1;
    for (int k = static_cast<int>(t.shape.size()) - 1, j = static_cast<int>(s.shape.size()) - 1; j >= 0; --k, --j) {
      const auto coord = (flat / out_strides[k]) % t.shape[k];
      if (s.shape[j] != 1) idx += coord * stride;
      stride *= s.shape[j];
    }
    return idx;
  };
  t.data.resize(static_cast<std::size_t>(total));
  for (std::int64_t k = 0; k < total; ++k) t.data[k] = f(a.data[index_in(a, k)], b.data[index_in(b, k)]);
  return t;
}

ConstTensor Folder::eval_gather() {
  ConstTensor data = arg(0), idx = arg(1);
  const auto axis = normalize_axis(attr_int(g_, n_, "axis", 0), data.shape.size(), where_);
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t k = 0; k < axis; ++k) outer *= data.shape[k];
  for (std::size_t k = axis + 1; k < data.shape.size(); ++k) inner *= data.shape[k];
  const auto dim = data.shape[axis];
  ConstTensor t{data.is_int, {}, {}};
  t.shape.assign(data.shape.begin(), data.shape.begin() + axis);
  t.shape.insert(t.shape.end(), idx.shape.begin(), idx.shape.end());
  t.shape.insert(t.shape.end(), data.shape.begin() + axis + 1, data.shape.end());
  result_count(t.shape);
  for (std::int64_t o = 0; o < outer; ++o)
    for (double di : idx.data) {
      auto i = to_int64(di);
      if (i < 0) i += dim;
      if (i < 0 || i >= dim) bad("Gather index out of range");
      for (std::int64_t k = 0; k < inner; ++k) t.data.push_back(data.data[(o * dim + i) * inner + k]);
    }
  return t;
}

ConstTensor Folder::eval_slice() {
  ConstTensor data = arg(0);
  std::vector<std::int64_t> starts, ends, axes, steps;
  if (has_input(1)) {
    starts = in(1).i;
    ends = in(2).i;
    if (has_input(3)) axes = in(3).i;
    if (has_input(4)) steps = in(4).i;
  } else {
    starts = attr_ints(g_, n_, "starts");
    ends = attr_ints(g_, n_, "ends");
    axes = attr_ints(g_, n_, "axes");
  }
  const std::size_t rank = data.shape.size();
  if (axes.empty()) for (std::size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<std::int64_t>(k));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    bad("Slice starts/ends/axes/steps lengths differ");
  std::vector<std::int64_t> begin(rank, 0), step(rank, 1), count(data.shape);
  for (std::size_t k = 0; k < starts.size(); ++k) {
    const auto a = normalize_axis(axes[k], rank, where_);
    const auto dim = data.shape[a];
    if (steps[k] == 0) bad("Slice step is 0");
    // |step| > dim selects at most one element: clamping keeps the count arithmetic from overflowing.
    const auto st = std::clamp<std::int64_t>(steps[k], -dim - 1, dim + 1);
    auto clampi = [&](std::int64_t v, bool is_end) {
      if (v < 0) v += dim;
      if (st > 0) return std::clamp<std::int64_t>(v, 0, dim);
      return std::clamp<std::int64_t>(v, -1, dim - 1) + (is_end ? 0 : 0);
    };
    auto s = clampi(starts[k], false), e = clampi(ends[k], true);
    if (st < 0 && starts[k] >= dim) s = dim - 1;
    begin[a] = s;
    step[a] = st;
    count[a] = st > 0 ? std::max<std::int64_t>(0, (e - s + st - 1) / st) : std::max<std::int64_t>(0, (s - e - st - 1) / -st);
  }
  ConstTensor t{data.is_int, count, {}};
  const auto in_strides = strides_of(data.shape);
  const auto out_strides = strides_of(count);
  const auto total = t.count();
  for (std::int64_t f = 0; f < total; ++f) {
    std::int64_t idx = 0;
    for (std::size_t k = 0; k < rank; ++k) idx += (begin[k] + ((f / out_strides[k]) % count[k]) * step[k]) * in_strides[k];
    t.data.push_back(data.data[idx]);
  }
  return t;
}

ConstTensor Folder::eval_concat() {
  std::vector<ConstTensor> parts;
  for (std::size_t k = 0; k < n_.inputs.size(); ++k) parts.push_back(arg(k));
  if (parts.empty()) bad("Concat has no inputs");
  const auto axis = normalize_axis(attr_int(g_, n_, "axis", 0), parts.at(0).shape.size(), where_);
  ConstTensor t{parts[0].is_int, parts[0].shape, {}};
  t.shape[axis] = 0;
  for (auto& p : parts) {
    if (p.shape.size() != t.shape.size()) bad("Concat inputs differ in rank");
    t.shape[axis] += p.shape[axis];
  }
  std::int64_t outer = 1;
  for (std::int64_t k = 0; k < axis; ++k) outer *= t.shape[k];
  for (std::int64_t o = 0; o < outer; ++o)
    for (auto& p : parts) {
      const auto chunk = p.count() / std::max<std::int64_t>(outer, 1);
      t.data.insert(t.data.end(), p.data.begin() + o * chunk, p.data.begin() + (o + 1) * chunk);
    }
  return t;
}

ConstTensor Folder::eval_transpose() {
  ConstTensor data = arg(0);
  const std::size_t rank = data.shape.size();
  auto perm = attr_ints(g_, n_, "perm");
  if (perm.empty()) for (std::size_t k = 0; k < rank; ++k) perm.push_back(static_cast<std::int64_t>(rank - 1 - k));
  if (perm.size() != rank) bad("perm has the wrong length");
  check_perm(perm, rank, where_);
  ConstTensor t{data.is_int, {}, {}};
  for (auto p : perm) t.shape.push_back(data.shape.at(normalize_axis(p, rank, where_)));
  const auto in_strides = strides_of(data.shape);
  const auto out_strides = strides_of(t.shape);
  const auto total = t.count();
  t.data.resize(static_cast<std::size_t>(total));
  for (std::int64_t f = 0; f < total; ++f) {
    std::int64_t idx = 0;
    for (std::size_t k = 0; k < rank; ++k) idx += ((f / out_strides[k]) % t.shape[k]) * in_strides[perm[k]];
    t.data[f] = data.data[idx];
  }
  return t;
}

ConstTensor Folder::eval_reshape(std::vector<std::int64_t> shape) {
  ConstTensor t = arg(0);
  const auto total = t.count();
  std::int64_t known = 1;
  int infer = -1;
  for (std::size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] == 0 && k < t.shape.size()) shape[k] = t.shape[k];
    if (shape[k] == -1) {
      if (infer >= 0) bad("Reshape has two -1 dims");
      infer = static_cast<int>(k);
    } else {
      if (shape[k] < 0 || (shape[k] > 0 && known > (std::int64_t{1} << 40) / shape[k]))
        bad("cannot reshape " + shape_string(t.shape) + " to " + shape_string(shape));
      known *= shape[k];
    }
  }
  if (infer >= 0) shape[infer] = known ? total / known : 0;
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  if (n != total) bad("cannot reshape " + shape_string(t.shape) + " to " + shape_string(shape));
  t.shape = shape;
  return t;
}

// ---- shape inference for nodes that run at inference time ----

void set_shape(Graph& g, int value, std::vector<std::int64_t> shape) {
  g.values[value].shape = std::move(shape);
  g.values[value].shape_known = true;
}

void infer_node_shape(Graph& g, Node& n) {
  const std::string where = g.source + ": " + g.describe(n);
  for (int v : n.inputs)
    if (v >= 0 && !g.values[v].shape_known)
      throw Error(ErrorCode::kModelCorrupt, where + ": input '" + g.values[v].name + "' has an unknown shape");
  auto x = [&](std::size_t k) -> const Value& {
    if (k >= n.inputs.size() || n.inputs[k] < 0)
      throw Error(ErrorCode::kModelCorrupt, where + ": missing input " + std::to_string(k));
    return g.values[n.inputs[k]];
  };
  const std::string& op = n.op;
  static const std::set<std::string> same_shape = {
      "Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "BatchNormalization", "Identity",
      "Dropout", "LeakyRelu", "Tanh", "Softmax", "Exp", "Neg", "Abs"};
  static const std::set<std::string> binary = {"Add", "Sub", "Mul", "Div", "Max", "Min"};
  if (binary.count(op) || op == "Concat")  // the kernels read constant operands as floats
    for (std::size_t k = 0; k < n.inputs.size(); ++k)
      if (x(k).dtype != DType::kFloat)
        throw Error(ErrorCode::kUnsupported, where + ": input '" + x(k).name + "' is not float");
  if (op == "BatchNormalization") {  // scale, bias, mean, var: C floats each
    const auto& s = x(0).shape;
    for (std::size_t k = 1; k < 5; ++k)
      if (s.size() < 2 || !x(k).is_constant || x(k).dtype != DType::kFloat || x(k).element_count() != s[1])
        throw Error(ErrorCode::kUnsupported, where + ": parameter " + std::to_string(k) +
                                                 " must be a constant float tensor of one value per channel");
  }
  if (same_shape.count(op)) {
    set_shape(g, n.outputs[0], x(0).shape);
  } else if (binary.count(op)) {
    std::vector<std::int64_t> shape = x(0).shape;
    for (std::size_t k = 1; k < n.inputs.size(); ++k) shape = broadcast_shapes(shape, x(k).shape, where);
    set_shape(g, n.outputs[0], shape);
  } else if (op == "Conv") {
    const ConvAttrs a = parse_conv(g, n);
    const auto& s = x(0).shape;
    const auto oh = window_output(s[2], a.kernel_h, a.stride_h, a.dilation_h, a.pad_top, a.pad_bottom, false);
    const auto ow = window_output(s[3], a.kernel_w, a.stride_w, a.dilation_w, a.pad_left, a.pad_right, false);
    if (oh < 1 || ow < 1) throw Error(ErrorCode::kModelCorrupt, where + ": output would be empty for input " + shape_string(s));
    set_shape(g, n.outputs[0], {s[0], a.out_channels, oh, ow});
  } else if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" || op == "GlobalMaxPool") {
    const PoolAttrs a = parse_pool(g, n);
    const auto& s = x(0).shape;
    set_shape(g, n.outputs[0], {s[0], s[1], a.out_h, a.out_w});
  } else if (op == "Resize" || op == "Upsample") {
    set_shape(g, n.outputs[0], parse_resize(g, n).out_shape);
  } else if (op == "Concat") {
    auto shape = x(0).shape;
    const auto axis = normalize_axis(attr_int(g, n, "axis", 1), shape.size(), where);
    shape[axis] = 0;
    for (std::size_t k = 0; k < n.inputs.size(); ++k) {
      const auto& s = x(k).shape;
      if (s.size() != shape.size()) throw Error(ErrorCode::kModelCorrupt, where + ": inputs differ in rank");
      for (std::size_t d = 0; d < s.size(); ++d)
        if (static_cast<std::int64_t>(d) != axis && s[d] != x(0).shape[d])
          throw Error(ErrorCode::kModelCorrupt, where + ": input shapes " + shape_string(x(0).shape) + " and " + shape_string(s) + " differ");
      shape[axis] += s[axis];
    }
    set_shape(g, n.outputs[0], shape);
  } else if (op == "Transpose") {
    const auto& s = x(0).shape;
    auto perm = attr_ints(g, n, "perm");
    if (perm.empty()) for (std::size_t k = 0; k < s.size(); ++k) perm.push_back(static_cast<std::int64_t>(s.size() - 1 - k));
    if (perm.size() != s.size()) throw Error(ErrorCode::kModelCorrupt, where + ": perm has the wrong length");
    check_perm(perm, s.size(), where);
    std::vector<std::int64_t> shape;
    for (auto p : perm) shape.push_back(s.at(normalize_axis(p, s.size(), where)));
    set_shape(g, n.outputs[0], shape);
  } else if (op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze") {
    // Data is not constant, but the target shape is: fold a stand-in with zeros to get the shape.
    Value stand_in = x(0);
    const auto total = stand_in.element_count();
    if (total > (1 << 26)) throw Error(ErrorCode::kUnsupported, where + ": reshaping large activations is not supported");
    stand_in.is_constant = true;
    stand_in.f.assign(static_cast<std::size_t>(total), 0.0f);
    stand_in.dtype = DType::kFloat;
    Graph scratch;
    scratch.source = g.source;
    Node copy = n;
    copy.inputs.clear();
    copy.outputs.clear();
    copy.inputs.push_back(scratch.add_value(stand_in));
    for (std::size_t k = 1; k < n.inputs.size(); ++k) {
      if (n.inputs[k] >= 0 && !g.values[n.inputs[k]].is_constant)
        throw Error(ErrorCode::kUnsupported, where + ": the target shape must be constant");
      copy.inputs.push_back(n.inputs[k] >= 0 ? scratch.add_value(g.values[n.inputs[k]]) : -1);
    }
    copy.outputs.push_back(scratch.add_value(Value{}));
    scratch.nodes.push_back(copy);
    Folder(scratch, scratch.nodes[0]).try_fold();
    set_shape(g, n.outputs[0], scratch.values[copy.outputs[0]].shape);
  } else {
    throw Error(ErrorCode::kUnsupported, g.source + ": op " + op + " (" + g.describe(n) +
                                             ") is not supported by this engine");
  }
  for (std::size_t k = 1; k < n.outputs.size(); ++k)
    if (n.outputs[k] >= 0 && g.use_count(n.outputs[k]) > 0 && op != "Dropout")
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
    if (!Folder(g, n).try_fold()) infer_node_shape(g, n);
  }
  g.compact();
  for (int o : g.outputs)
    if (!g.values[o].shape_known || g.values[o].is_constant)
      throw Error(ErrorCode::kModelCorrupt, g.source + ": output '" + g.values[o].name + "' does not depend on the input");
}

}  // namespace deeplab
