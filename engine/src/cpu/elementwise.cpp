// Elementwise ops: unary activations over contiguous data, binary ops with numpy broadcasting
// over any physical layouts, and standalone per-channel BatchNormalization.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cpu/kernel.h"
#include "deeplab/error.h"
#include "graph/attrs.h"
#include "graph/ops.h"

namespace deeplab {
namespace {

float apply_activation(float x, const Activation& a) {
  switch (a.kind) {
    case Activation::kNone: return x;
    case Activation::kRelu: return x > 0 ? x : 0.0f;
    case Activation::kClip: return std::min(std::max(x, a.alpha), a.beta);
    case Activation::kSigmoid: return 1.0f / (1.0f + std::exp(-x));
    case Activation::kHardSigmoid: return std::min(std::max(a.alpha * x + a.beta, 0.0f), 1.0f);
    case Activation::kHardSwish: return x * std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f;
  }
  return x;
}


class UnaryKernel : public CpuKernel {
 public:
  UnaryKernel(const Graph& g, const Node& n, TensorAccess& t)
      : act_(activation_of(g, n)), src_(t.data(n.inputs[0])), dst_(t.data(n.outputs[0])),
        count_(g.values[n.outputs[0]].element_count()) {}
  void run() override {
    const Activation a = act_;
#pragma omp parallel for simd schedule(static)
    for (std::int64_t k = 0; k < count_; ++k) dst_[k] = apply_activation(src_[k], a);
  }

 private:
  Activation act_;
  const float* src_;
  float* dst_;
  std::int64_t count_;
};

// Binary op over the output's physical order: dims sorted by output stride, each operand with its
// own (possibly zero, for broadcast) strides. The innermost dim runs as a tight loop.
class BinaryKernel : public CpuKernel {
 public:
  BinaryKernel(const Graph& g, const Node& n, TensorAccess& t) {
    op_ = op_def(n).binary;
    if (n.inputs.size() != 2)
      throw Error(ErrorCode::kUnsupported, g.source + ": " + g.describe(n) + ": only two inputs are supported");
    const Value& out = g.values[n.outputs[0]];
    const auto out_strides = t.strides(n.outputs[0]);
    const std::size_t rank = out.shape.size();
    std::vector<std::int64_t> in_strides[2];
    for (int k = 0; k < 2; ++k) {
      const Value& v = g.values[n.inputs[k]];
      auto s = v.is_constant ? plain_strides(v.shape) : t.strides(n.inputs[k]);
      in_strides[k].assign(rank, 0);
      for (std::size_t d = 0; d < v.shape.size(); ++d) {
        const std::size_t od = rank - v.shape.size() + d;
        in_strides[k][od] = v.shape[d] == 1 ? 0 : s[d];
      }
      src_[k] = v.is_constant ? v.f.data() : t.data(n.inputs[k]);
    }
    // Order dims by descending output stride (the physical order), then merge nothing fancy.
    std::vector<std::size_t> order(rank);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return out_strides[a] > out_strides[b]; });
    for (std::size_t d : order) {
      if (out.shape[d] == 1) continue;
      shape_.push_back(out.shape[d]);
      dst_strides_.push_back(out_strides[d]);
      a_strides_.push_back(in_strides[0][d]);
      b_strides_.push_back(in_strides[1][d]);
    }
    if (shape_.empty()) shape_ = {1}, dst_strides_ = {1}, a_strides_ = {0}, b_strides_ = {0};
    dst_ = t.data(n.outputs[0]);
  }

  void run() override {
    const std::size_t rank = shape_.size();
    std::int64_t outer = 1;
    for (std::size_t d = 0; d + 1 < rank; ++d) outer *= shape_[d];
    const std::int64_t inner = shape_.back();
    const std::int64_t ds = dst_strides_.back(), as = a_strides_.back(), bs = b_strides_.back();
#pragma omp parallel for schedule(static)
    for (std::int64_t o = 0; o < outer; ++o) {
      std::int64_t rem = o, da = 0, aa = 0, ba = 0;
      for (int d = static_cast<int>(rank) - 2; d >= 0; --d) {
        const std::int64_t coord = rem % shape_[d];
        rem /= shape_[d];
        da += coord * dst_strides_[d];
        aa += coord * a_strides_[d];
        ba += coord * b_strides_[d];
      }
      float* dst = dst_ + da;
      const float* a = src_[0] + aa;
      const float* b = src_[1] + ba;
      switch (op_) {
        case BinaryKind::kAdd: for (std::int64_t k = 0; k < inner; ++k) dst[k * ds] = a[k * as] + b[k * bs]; break;
        case BinaryKind::kSub: for (std::int64_t k = 0; k < inner; ++k) dst[k * ds] = a[k * as] - b[k * bs]; break;
        case BinaryKind::kMul: for (std::int64_t k = 0; k < inner; ++k) dst[k * ds] = a[k * as] * b[k * bs]; break;
        case BinaryKind::kDiv: for (std::int64_t k = 0; k < inner; ++k) dst[k * ds] = a[k * as] / b[k * bs]; break;
        case BinaryKind::kMax: for (std::int64_t k = 0; k < inner; ++k) dst[k * ds] = std::max(a[k * as], b[k * bs]); break;
        case BinaryKind::kMin: for (std::int64_t k = 0; k < inner; ++k) dst[k * ds] = std::min(a[k * as], b[k * bs]); break;
      }
    }
  }

 private:
  BinaryKind op_;
  std::vector<std::int64_t> shape_, dst_strides_, a_strides_, b_strides_;
  const float* src_[2] = {nullptr, nullptr};
  float* dst_ = nullptr;
};

// BatchNormalization not preceded by a Conv: y = x * scale[c] + shift[c] on NHWC data.
class BatchNormKernel : public CpuKernel {
 public:
  BatchNormKernel(const Graph& g, const Node& n, TensorAccess& t) {
    const Value& x = g.values[n.inputs[0]];
    if (x.shape.size() != 4 || x.layout != Layout::kChannelsLast)
      throw Error(ErrorCode::kUnsupported, g.source + ": " + g.describe(n) + ": only 4-D BatchNormalization is supported");
    channels_ = x.shape[1];
    pixels_ = x.shape[0] * x.shape[2] * x.shape[3];
    const float eps = attr_float(g, n, "epsilon", 1e-5f);
    for (std::size_t k = 1; k < 5; ++k)
      if (k >= n.inputs.size() || !g.values[n.inputs[k]].is_constant)
        throw Error(ErrorCode::kUnsupported, g.source + ": " + g.describe(n) + ": parameters must be constant");
    const auto& gamma = g.values[n.inputs[1]].f;
    const auto& beta = g.values[n.inputs[2]].f;
    const auto& mean = g.values[n.inputs[3]].f;
    const auto& var = g.values[n.inputs[4]].f;
    for (std::int64_t c = 0; c < channels_; ++c) {
      const float s = gamma[c] / std::sqrt(var[c] + eps);
      scale_.push_back(s);
      shift_.push_back(beta[c] - mean[c] * s);
    }
    src_ = t.data(n.inputs[0]);
    dst_ = t.data(n.outputs[0]);
  }
  void run() override {
    const std::int64_t c = channels_;
#pragma omp parallel for schedule(static)
    for (std::int64_t p = 0; p < pixels_; ++p)
      for (std::int64_t k = 0; k < c; ++k) dst_[p * c + k] = src_[p * c + k] * scale_[k] + shift_[k];
  }

 private:
  std::int64_t channels_ = 0, pixels_ = 0;
  std::vector<float> scale_, shift_;
  const float* src_ = nullptr;
  float* dst_ = nullptr;
};

}  // namespace

std::unique_ptr<CpuKernel> make_unary_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext&) {
  return std::make_unique<UnaryKernel>(g, n, t);
}

std::unique_ptr<CpuKernel> make_binary_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext&) {
  return std::make_unique<BinaryKernel>(g, n, t);
}

std::unique_ptr<CpuKernel> make_batchnorm_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext&) {
  return std::make_unique<BatchNormKernel>(g, n, t);
}

}  // namespace deeplab
