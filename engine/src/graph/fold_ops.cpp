// Constant folding, one function per op of the table (graph/ops.cpp); the shared checks and
// broadcasting live in FoldContext.
#include <algorithm>
#include <cmath>
#include <limits>

#include "deeplab/error.h"
#include "graph/fold.h"
#include "graph/fold_context.h"
#include "graph/strides.h"

namespace deeplab {

std::int64_t ConstTensor::count() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::int64_t to_int64(double d) {
  if (std::isnan(d)) return 0;
  if (d >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
  if (d <= -9.2e18) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(d);
}

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

std::vector<std::int64_t> transpose_perm(const Graph& g, const Node& n, std::size_t rank, const std::string& where) {
  auto perm = attr_ints(g, n, "perm");
  if (perm.empty()) for (std::size_t k = 0; k < rank; ++k) perm.push_back(static_cast<std::int64_t>(rank - 1 - k));
  if (perm.size() != rank) throw Error(ErrorCode::kModelCorrupt, where + ": perm has the wrong length");
  check_perm(perm, rank, where);
  return perm;
}

// ---- FoldContext ----

const Value& FoldContext::in(std::size_t k) const {
  if (!has_input(k)) bad("missing input " + std::to_string(k));
  return g_.values[n_.inputs[k]];
}

ConstTensor FoldContext::arg(std::size_t k) const {
  const Value& v = in(k);
  ConstTensor t;
  t.is_int = v.dtype == DType::kInt64;
  t.shape = v.shape;
  if (t.is_int) t.data.assign(v.i.begin(), v.i.end());
  else t.data.assign(v.f.begin(), v.f.end());
  return t;
}

double FoldContext::scalar_arg(std::size_t k) const {
  const Value& v = in(k);
  if (v.element_count() < 1) bad("input " + std::to_string(k) + " is empty");
  return v.dtype == DType::kInt64 ? static_cast<double>(v.i[0]) : v.f[0];
}

std::vector<std::int64_t> FoldContext::ints_input_or_attr(std::size_t k, const std::string& attr) const {
  if (has_input(k)) {
    const Value& v = in(k);
    if (v.dtype != DType::kInt64) bad("input " + std::to_string(k) + " must be integer");
    return v.i;
  }
  return attr_ints(g_, n_, attr);
}

void FoldContext::bad(const std::string& what) const { throw Error(ErrorCode::kModelCorrupt, where_ + ": " + what); }

std::int64_t FoldContext::result_count(const std::vector<std::int64_t>& shape) const {
  std::int64_t n = 1;
  for (auto d : shape) {
    if (d < 0 || (d > 0 && n > kMaxFoldedElements / d)) bad("result " + shape_string(shape) + " is too large to fold");
    n *= d;
  }
  return n;
}

std::int64_t FoldContext::normalize_axis(std::int64_t axis, std::size_t rank) const {
  return deeplab::normalize_axis(axis, rank, where_);
}

namespace {

// Flat index into `s` of the output element `flat` of `shape`, broadcasting `s` (numpy rules).
std::int64_t broadcast_index(const std::vector<std::int64_t>& s, const std::vector<std::int64_t>& shape,
                             const std::vector<std::int64_t>& out_strides, std::int64_t flat) {
  std::int64_t idx = 0, stride = 1;
  for (int k = static_cast<int>(shape.size()) - 1, j = static_cast<int>(s.size()) - 1; j >= 0 && k >= 0; --k, --j) {
    const auto coord = (flat / out_strides[k]) % shape[k];
    if (s[j] != 1) idx += coord * stride;
    stride *= s[j];
  }
  return idx;
}

}  // namespace

ConstTensor FoldContext::binary(double (*f)(double, double), bool int_result) const {
  ConstTensor a = arg(0), b = arg(1);
  ConstTensor t;
  t.shape = broadcast_shapes(a.shape, b.shape, where_);
  t.is_int = int_result || (a.is_int && b.is_int);
  const auto total = result_count(t.shape);
  const auto out_strides = plain_strides(t.shape);
  t.data.resize(static_cast<std::size_t>(total));
  for (std::int64_t k = 0; k < total; ++k)
    t.data[k] = f(a.data[broadcast_index(a.shape, t.shape, out_strides, k)],
                  b.data[broadcast_index(b.shape, t.shape, out_strides, k)]);
  return t;
}

ConstTensor FoldContext::unary(double (*f)(double)) const {
  ConstTensor t = arg(0);
  for (double& d : t.data) d = f(d);
  return t;
}

ConstTensor FoldContext::reshape(std::vector<std::int64_t> shape) const {
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

// ---- the ops ----

namespace ops {

double add(double a, double b) { return a + b; }
double sub(double a, double b) { return a - b; }
double mul(double a, double b) { return a * b; }
double pow(double a, double b) { return std::pow(a, b); }
double min(double a, double b) { return std::min(a, b); }
double max(double a, double b) { return std::max(a, b); }
double equal(double a, double b) { return a == b ? 1.0 : 0.0; }
double less(double a, double b) { return a < b ? 1.0 : 0.0; }
double greater(double a, double b) { return a > b ? 1.0 : 0.0; }
double floor(double a) { return std::floor(a); }
double ceil(double a) { return std::ceil(a); }
double round(double a) { return std::nearbyint(a); }
double neg(double a) { return -a; }
double abs(double a) { return std::fabs(a); }
double sqrt(double a) { return std::sqrt(a); }
double reciprocal(double a) { return 1.0 / a; }
double relu(double a) { return a > 0 ? a : 0.0; }
double logical_not(double a) { return a == 0 ? 1.0 : 0.0; }

ConstTensor fold_shape(const FoldContext& c) {
  const auto& shape = c.in(0).shape;
  const auto rank = static_cast<std::int64_t>(shape.size());
  std::int64_t start = c.attr("start", 0), end = c.attr("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<std::int64_t>(start, 0, rank);
  end = std::clamp<std::int64_t>(end, 0, rank);
  ConstTensor t{true, {std::max<std::int64_t>(0, end - start)}, {}};
  for (auto k = start; k < end; ++k) t.data.push_back(static_cast<double>(shape[k]));
  return t;
}

ConstTensor fold_identity(const FoldContext& c) { return c.arg(0); }

ConstTensor fold_cast(const FoldContext& c) {
  ConstTensor t = c.arg(0);
  const auto to = c.attr("to", 1);
  const bool to_float = to == 1 || to == 10 || to == 11;  // FLOAT, FLOAT16, DOUBLE
  t.is_int = !to_float;
  if (t.is_int) for (double& d : t.data) d = std::trunc(d);
  return t;
}

ConstTensor fold_div(const FoldContext& c) {
  if (c.in(0).dtype == DType::kInt64) return c.binary([](double a, double b) { return std::trunc(a / b); }, false);
  return c.binary([](double a, double b) { return a / b; }, false);
}

ConstTensor fold_where(const FoldContext& c) {
  // Where(cond, x, y): broadcast in two steps through a select on the condition.
  ConstTensor cond = c.arg(0), x = c.arg(1), y = c.arg(2);
  auto shape = broadcast_shapes(broadcast_shapes(cond.shape, x.shape, c.where()), y.shape, c.where());
  ConstTensor t{x.is_int && y.is_int, shape, {}};
  const auto total = c.result_count(shape);
  const auto os = plain_strides(shape);
  auto pick = [&](const ConstTensor& s, std::int64_t flat) { return s.data[broadcast_index(s.shape, shape, os, flat)]; };
  for (std::int64_t f = 0; f < total; ++f) t.data.push_back(pick(cond, f) != 0 ? pick(x, f) : pick(y, f));
  return t;
}

ConstTensor fold_gather(const FoldContext& c) {
  ConstTensor data = c.arg(0), idx = c.arg(1);
  const auto axis = c.normalize_axis(c.attr("axis", 0), data.shape.size());
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t k = 0; k < axis; ++k) outer *= data.shape[k];
  for (std::size_t k = axis + 1; k < data.shape.size(); ++k) inner *= data.shape[k];
  const auto dim = data.shape[axis];
  ConstTensor t{data.is_int, {}, {}};
  t.shape.assign(data.shape.begin(), data.shape.begin() + axis);
  t.shape.insert(t.shape.end(), idx.shape.begin(), idx.shape.end());
  t.shape.insert(t.shape.end(), data.shape.begin() + axis + 1, data.shape.end());
  c.result_count(t.shape);
  for (std::int64_t o = 0; o < outer; ++o)
    for (double di : idx.data) {
      auto i = to_int64(di);
      if (i < 0) i += dim;
      if (i < 0 || i >= dim) c.bad("Gather index out of range");
      for (std::int64_t k = 0; k < inner; ++k) t.data.push_back(data.data[(o * dim + i) * inner + k]);
    }
  return t;
}

ConstTensor fold_slice(const FoldContext& c) {
  ConstTensor data = c.arg(0);
  std::vector<std::int64_t> starts, ends, axes, steps;
  if (c.has_input(1)) {
    starts = c.in(1).i;
    ends = c.in(2).i;
    if (c.has_input(3)) axes = c.in(3).i;
    if (c.has_input(4)) steps = c.in(4).i;
  } else {
    starts = attr_ints(c.graph(), c.node(), "starts");
    ends = attr_ints(c.graph(), c.node(), "ends");
    axes = attr_ints(c.graph(), c.node(), "axes");
  }
  const std::size_t rank = data.shape.size();
  if (axes.empty()) for (std::size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<std::int64_t>(k));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    c.bad("Slice starts/ends/axes/steps lengths differ");
  std::vector<std::int64_t> begin(rank, 0), step(rank, 1), count(data.shape);
  for (std::size_t k = 0; k < starts.size(); ++k) {
    const auto a = c.normalize_axis(axes[k], rank);
    const auto dim = data.shape[a];
    if (steps[k] == 0) c.bad("Slice step is 0");
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
  const auto in_strides = plain_strides(data.shape);
  const auto out_strides = plain_strides(count);
  const auto total = t.count();
  for (std::int64_t f = 0; f < total; ++f) {
    std::int64_t idx = 0;
    for (std::size_t k = 0; k < rank; ++k) idx += (begin[k] + ((f / out_strides[k]) % count[k]) * step[k]) * in_strides[k];
    t.data.push_back(data.data[idx]);
  }
  return t;
}

ConstTensor fold_concat(const FoldContext& c) {
  std::vector<ConstTensor> parts;
  for (std::size_t k = 0; k < c.node().inputs.size(); ++k) parts.push_back(c.arg(k));
  if (parts.empty()) c.bad("Concat has no inputs");
  const auto axis = c.normalize_axis(c.attr("axis", 0), parts.at(0).shape.size());
  ConstTensor t{parts[0].is_int, parts[0].shape, {}};
  t.shape[axis] = 0;
  for (auto& p : parts) {
    if (p.shape.size() != t.shape.size()) c.bad("Concat inputs differ in rank");
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

ConstTensor fold_transpose(const FoldContext& c) {
  ConstTensor data = c.arg(0);
  const std::size_t rank = data.shape.size();
  const auto perm = transpose_perm(c.graph(), c.node(), rank, c.where());
  ConstTensor t{data.is_int, {}, {}};
  for (auto p : perm) t.shape.push_back(data.shape.at(p));
  const auto in_strides = plain_strides(data.shape);
  const auto out_strides = plain_strides(t.shape);
  const auto total = t.count();
  t.data.resize(static_cast<std::size_t>(total));
  for (std::int64_t f = 0; f < total; ++f) {
    std::int64_t idx = 0;
    for (std::size_t k = 0; k < rank; ++k) idx += ((f / out_strides[k]) % t.shape[k]) * in_strides[perm[k]];
    t.data[f] = data.data[idx];
  }
  return t;
}

ConstTensor fold_reshape(const FoldContext& c) {
  const Value& s = c.in(1);
  if (s.dtype != DType::kInt64) c.bad("shape must be int64");
  return c.reshape(s.i);
}

ConstTensor fold_flatten(const FoldContext& c) {
  const auto& shape = c.in(0).shape;
  const auto axis = c.normalize_axis(c.attr("axis", 1), shape.size() + 1);
  std::int64_t outer = 1, inner = 1;
  for (std::size_t k = 0; k < shape.size(); ++k) (static_cast<std::int64_t>(k) < axis ? outer : inner) *= shape[k];
  return c.reshape({outer, inner});
}

ConstTensor fold_unsqueeze(const FoldContext& c) {
  auto axes = c.ints_input_or_attr(1, "axes");
  auto shape = c.in(0).shape;
  const std::size_t rank = shape.size() + axes.size();
  for (auto& a : axes) a = c.normalize_axis(a, rank);
  std::sort(axes.begin(), axes.end());
  for (auto a : axes) shape.insert(shape.begin() + a, 1);
  return c.reshape(shape);
}

ConstTensor fold_squeeze(const FoldContext& c) {
  const auto axes = c.ints_input_or_attr(1, "axes");
  const auto& shape = c.in(0).shape;
  std::vector<std::int64_t> out;
  for (std::size_t k = 0; k < shape.size(); ++k) {
    bool squeeze = axes.empty() ? shape[k] == 1 : false;
    for (auto a : axes)
      if (c.normalize_axis(a, shape.size()) == static_cast<std::int64_t>(k)) squeeze = true;
    if (!squeeze) out.push_back(shape[k]);
  }
  return c.reshape(out);
}

ConstTensor fold_constant_of_shape(const FoldContext& c) {
  const Value& s = c.in(0);
  ConstTensor t{false, s.i, {}};
  double value = 0;
  auto it = c.node().attrs.find("value");
  if (it != c.node().attrs.end() && it->second.kind == Attr::kTensor) {
    const Value& v = c.graph().values[it->second.tensor];
    t.is_int = v.dtype == DType::kInt64;
    if (v.element_count() < 1) c.bad("'value' is empty");
    value = t.is_int ? static_cast<double>(v.i[0]) : v.f[0];
  }
  t.data.assign(static_cast<std::size_t>(c.result_count(t.shape)), value);
  return t;
}

ConstTensor fold_range(const FoldContext& c) {
  const double start = c.scalar_arg(0), limit = c.scalar_arg(1), delta = c.scalar_arg(2);
  if (delta == 0) c.bad("Range delta is 0");
  const double count = std::max(0.0, std::ceil((limit - start) / delta));
  if (!(count <= static_cast<double>(kMaxFoldedElements))) c.bad("Range is too large");
  const auto n = static_cast<std::int64_t>(count);
  ConstTensor t{c.in(0).dtype == DType::kInt64, {n}, {}};
  for (std::int64_t k = 0; k < n; ++k) t.data.push_back(start + static_cast<double>(k) * delta);
  return t;
}

}  // namespace ops
}  // namespace deeplab
