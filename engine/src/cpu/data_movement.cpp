// Ops that only move data: Concat, Transpose, Reorder (layout change), Reshape-like, Pad. Layout-only
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

// Pad: the whole output takes the fill value, then the input is copied inside it (any layouts:
// the copy goes through both tensors' strides).
class PadKernel : public CpuKernel {
 public:
  PadKernel(float* out, std::int64_t out_count, float value, StridedCopyKernel::Part inside)
      : out_(out), out_count_(out_count), value_(value), inside_(std::move(inside)) {}
  void run() override {
    std::fill(out_, out_ + out_count_, value_);
    copy_strided(inside_.dst, inside_.dst_strides, inside_.src, inside_.src_strides, inside_.shape);
  }

 private:
  float* out_;
  std::int64_t out_count_;
  float value_;
  StridedCopyKernel::Part inside_;
};

}  // namespace

std::unique_ptr<CpuKernel> make_pad_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext&) {
  const PadAttrs a = parse_pad(g, n);
  const Value& in = g.values[n.inputs[0]];
  StridedCopyKernel::Part p;
  p.dst_strides = t.strides(n.outputs[0]);
  p.dst = t.data(n.outputs[0]);
  for (std::size_t k = 0; k < a.begin.size(); ++k) p.dst += a.begin[k] * p.dst_strides[k];
  p.src = in.is_constant ? in.f.data() : t.data(n.inputs[0]);
  p.src_strides = in.is_constant ? plain_strides(in.shape) : t.strides(n.inputs[0]);
  p.shape = in.shape;
  return std::make_unique<PadKernel>(t.data(n.outputs[0]), g.values[n.outputs[0]].element_count(), a.value, std::move(p));
}

std::unique_ptr<CpuKernel> make_concat_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext&) {
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

std::unique_ptr<CpuKernel> make_transpose_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext&) {
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
std::unique_ptr<CpuKernel> make_relayout_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext&) {
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

namespace {

class ResizeKernel : public CpuKernel {
 public:
  ResizeKernel(const Graph& g, const Node& n, TensorAccess& t, int threads) {
    const ResizeAttrs a = parse_resize(g, n);
    const Value& in = g.values[n.inputs[0]];
    const int channel_axis = a.axis_h == 2 ? 1 : 3;
    geo_ = make_resample_geometry(static_cast<int>(in.shape[a.axis_h]), static_cast<int>(in.shape[a.axis_w]),
                                  static_cast<int>(in.shape[channel_axis]), static_cast<int>(a.out_h),
                                  static_cast<int>(a.out_w), a.scale_h, a.scale_w, a);
    scratch_.resize(resample_scratch_floats(geo_, threads));
    src_ = t.data(n.inputs[0]);
    dst_ = t.data(n.outputs[0]);
    // One image at a time (the geometry is per image): the batch's images lie src_item_ / dst_item_
    // floats apart (the values are dense NHWC, as the kernel table's layout asks).
    batch_ = in.shape[0];
    src_item_ = t.strides(n.inputs[0])[0];
    dst_item_ = t.strides(n.outputs[0])[0];
  }
  void run() override {
    for (std::int64_t b = 0; b < batch_; ++b)
      resample_nhwc(geo_, src_ + b * src_item_, dst_ + b * dst_item_, scratch_.data());
  }

 private:
  ResampleGeometry geo_;
  std::vector<float> scratch_;
  const float* src_ = nullptr;
  float* dst_ = nullptr;
  std::int64_t batch_ = 1, src_item_ = 0, dst_item_ = 0;
};

}  // namespace

std::unique_ptr<CpuKernel> make_resize_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext& ctx) {
  return std::make_unique<ResizeKernel>(g, n, t, ctx.threads);
}

}  // namespace deeplab
