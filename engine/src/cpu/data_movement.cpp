// Ops that only move data: Concat, Transpose, Reorder (layout change), Reshape-like. Layout-only
// transposes and reshapes of plain tensors share storage with their input (see memory planning)
// and run nothing.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "cpu/kernel.h"
#include "deeplab/error.h"
#include "graph/attrs.h"
#include "postprocess/interpolate.h"

namespace deeplab {

std::vector<std::int64_t> physical_strides(const Value& v) {
  const auto& s = v.shape;
  std::vector<std::int64_t> strides(s.size(), 1);
  if (v.layout == Layout::kChannelsLast && s.size() == 4) {
    strides = {s[2] * s[3] * s[1], 1, s[3] * s[1], s[1]};
    return strides;
  }
  return plain_strides(s);
}

std::vector<std::int64_t> plain_strides(const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> strides(shape.size(), 1);
  for (int k = static_cast<int>(shape.size()) - 2; k >= 0; --k) strides[k] = strides[k + 1] * shape[k + 1];
  return strides;
}

namespace {

void copy_recursive(float* dst, const std::int64_t* ds, const float* src, const std::int64_t* ss,
                    const std::int64_t* shape, std::size_t rank) {
  if (rank == 1) {
    if (ds[0] == 1 && ss[0] == 1) {
      std::memcpy(dst, src, static_cast<std::size_t>(shape[0]) * sizeof(float));
    } else {
      for (std::int64_t k = 0; k < shape[0]; ++k) dst[k * ds[0]] = src[k * ss[0]];
    }
    return;
  }
  for (std::int64_t k = 0; k < shape[0]; ++k)
    copy_recursive(dst + k * ds[0], ds + 1, src + k * ss[0], ss + 1, shape + 1, rank - 1);
}

}  // namespace

void copy_strided(float* dst, const std::vector<std::int64_t>& dst_strides, const float* src,
                  const std::vector<std::int64_t>& src_strides, const std::vector<std::int64_t>& shape) {
  if (shape.empty()) {
    *dst = *src;
    return;
  }
  // Put the dim with the smallest destination stride innermost, so writes are sequential. Fixed-size
  // arrays: this runs on every frame (Concat) and must not allocate.
  constexpr std::size_t kMaxRank = 16;
  if (shape.size() > kMaxRank)
    throw Error(ErrorCode::kUnsupported, "copy of a rank-" + std::to_string(shape.size()) + " tensor");
  std::size_t order[kMaxRank];
  for (std::size_t k = 0; k < shape.size(); ++k) {  // stable insertion sort (std::stable_sort allocates)
    std::size_t j = k;
    for (; j > 0 && dst_strides[order[j - 1]] < dst_strides[k]; --j) order[j] = order[j - 1];
    order[j] = k;
  }
  std::int64_t ds[kMaxRank], ss[kMaxRank], sh[kMaxRank];
  std::size_t rank = 0;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const std::size_t k = order[i];
    if (shape[k] == 1) continue;
    ds[rank] = dst_strides[k];
    ss[rank] = src_strides[k];
    sh[rank] = shape[k];
    ++rank;
  }
  if (rank == 0) {
    *dst = *src;
    return;
  }
  const std::int64_t outer = sh[0];
#pragma omp parallel for schedule(static) if (outer > 1)
  for (std::int64_t k = 0; k < outer; ++k) {
    if (rank == 1) dst[k * ds[0]] = src[k * ss[0]];
    else copy_recursive(dst + k * ds[0], ds + 1, src + k * ss[0], ss + 1, sh + 1, rank - 1);
  }
}

namespace {

class NoopKernel : public CpuKernel {
 public:
  void run() override {}
};

// Copies a whole input into (a slice of) the output with explicit strides.
class StridedCopyKernel : public CpuKernel {
 public:
  struct Part {
    float* dst;
    const float* src;
    std::vector<std::int64_t> dst_strides, src_strides, shape;
  };
  explicit StridedCopyKernel(std::vector<Part> parts) : parts_(std::move(parts)) {}
  void run() override {
    for (const Part& p : parts_) copy_strided(p.dst, p.dst_strides, p.src, p.src_strides, p.shape);
  }

 private:
  std::vector<Part> parts_;
};

std::unique_ptr<CpuKernel> make_concat(const Graph& g, const Node& n, TensorAccess& t) {
  const Value& out = g.values[n.outputs[0]];
  std::int64_t axis = attr_int(g, n, "axis", 1);
  if (axis < 0) axis += static_cast<std::int64_t>(out.shape.size());
  const auto out_strides = t.strides(n.outputs[0]);
  std::vector<StridedCopyKernel::Part> parts;
  std::int64_t offset = 0;
  for (int in : n.inputs) {
    const Value& v = g.values[in];
    StridedCopyKernel::Part p;
    p.dst = t.data(n.outputs[0]) + offset * out_strides[axis];
    p.src = v.is_constant ? v.f.data() : t.data(in);
    p.dst_strides = out_strides;
    p.src_strides = v.is_constant ? plain_strides(v.shape) : t.strides(in);
    p.shape = v.shape;
    parts.push_back(std::move(p));
    offset += v.shape[axis];
  }
  return std::make_unique<StridedCopyKernel>(std::move(parts));
}

std::unique_ptr<CpuKernel> make_transpose(const Graph& g, const Node& n, TensorAccess& t) {
  if (t.same_storage(n.inputs[0], n.outputs[0])) return std::make_unique<NoopKernel>();
  const Value& in = g.values[n.inputs[0]];
  auto perm = attr_ints(g, n, "perm");
  if (perm.empty()) for (std::size_t k = 0; k < in.shape.size(); ++k) perm.push_back(static_cast<std::int64_t>(in.shape.size() - 1 - k));
  const auto in_strides = t.strides(n.inputs[0]);
  StridedCopyKernel::Part p;
  p.dst = t.data(n.outputs[0]);
  p.src = t.data(n.inputs[0]);
  p.dst_strides = t.strides(n.outputs[0]);
  for (auto k : perm) p.src_strides.push_back(in_strides[k]);
  p.shape = g.values[n.outputs[0]].shape;
  return std::make_unique<StridedCopyKernel>(std::vector<StridedCopyKernel::Part>{std::move(p)});
}

// Reorder (layout change) and non-aliased reshapes: same element order in logical terms.
std::unique_ptr<CpuKernel> make_relayout(const Graph& g, const Node& n, TensorAccess& t) {
  if (t.same_storage(n.inputs[0], n.outputs[0])) return std::make_unique<NoopKernel>();
  const Value& in = g.values[n.inputs[0]];
  const Value& out = g.values[n.outputs[0]];
  StridedCopyKernel::Part p;
  p.dst = t.data(n.outputs[0]);
  p.src = t.data(n.inputs[0]);
  if (in.shape == out.shape) {
    p.dst_strides = t.strides(n.outputs[0]);
    p.src_strides = t.strides(n.inputs[0]);
    p.shape = out.shape;
  } else {
    // Reshape of a plain tensor that could not share storage: a flat copy.
    p.dst_strides = {1};
    p.src_strides = {1};
    p.shape = {out.element_count()};
  }
  return std::make_unique<StridedCopyKernel>(std::vector<StridedCopyKernel::Part>{std::move(p)});
}

class ResizeKernel : public CpuKernel {
 public:
  ResizeKernel(const Graph& g, const Node& n, TensorAccess& t, int threads) {
    const ResizeAttrs a = parse_resize(g, n);
    const Value& in = g.values[n.inputs[0]];
    const int channel_axis = a.axis_h == 2 ? 1 : 3;
    if (in.shape[0] != 1)
      throw Error(ErrorCode::kUnsupported, g.source + ": " + g.describe(n) + ": batch sizes other than 1");
    geo_ = make_resample_geometry(static_cast<int>(in.shape[a.axis_h]), static_cast<int>(in.shape[a.axis_w]),
                                  static_cast<int>(in.shape[channel_axis]), static_cast<int>(a.out_h),
                                  static_cast<int>(a.out_w), a.scale_h, a.scale_w, a);
    scratch_.resize(resample_scratch_floats(geo_, threads));
    src_ = t.data(n.inputs[0]);
    dst_ = t.data(n.outputs[0]);
  }
  void run() override { resample_nhwc(geo_, src_, dst_, scratch_.data()); }

 private:
  ResampleGeometry geo_;
  std::vector<float> scratch_;
  const float* src_ = nullptr;
  float* dst_ = nullptr;
};

}  // namespace

std::unique_ptr<CpuKernel> make_data_movement_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext&) {
  if (n.op == "Concat") return make_concat(g, n, t);
  if (n.op == "Transpose") return make_transpose(g, n, t);
  if (n.op == "Reorder" || n.op == "Reshape" || n.op == "Flatten" || n.op == "Squeeze" || n.op == "Unsqueeze")
    return make_relayout(g, n, t);
  return nullptr;
}

std::unique_ptr<CpuKernel> make_resize_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext& ctx) {
  return std::make_unique<ResizeKernel>(g, n, t, ctx.threads);
}

std::unique_ptr<CpuKernel> make_cpu_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext& ctx) {
  if (n.op == "Conv") return make_conv_kernel(g, n, t, ctx);
  if (n.op == "MaxPool" || n.op == "AveragePool" || n.op == "GlobalAveragePool" || n.op == "GlobalMaxPool")
    return make_pool_kernel(g, n, t, ctx);
  if (n.op == "Resize" || n.op == "Upsample") return make_resize_kernel(g, n, t, ctx);
  if (auto k = make_elementwise_kernel(g, n, t, ctx)) return k;
  if (auto k = make_data_movement_kernel(g, n, t, ctx)) return k;
  throw Error(ErrorCode::kUnsupported, g.source + ": op " + n.op + " (" + g.describe(n) + ") has no CPU kernel");
}

}  // namespace deeplab
