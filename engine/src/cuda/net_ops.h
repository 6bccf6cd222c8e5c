// Per-element code of the CUDA network's own kernels (cuda/net_*.cu), written once for device and
// host: the kernels call these functions with device pointers, the unit tests call them on the CPU
// against the CPU backend. The arithmetic repeats the CPU kernels' operations in the same order
// with one rounding each (cuda/host_device.h), so fp32 results equal the CPU's wherever the CPU's
// own order is fixed (activations, broadcasting, resize, copies); sums (pools) may differ in order.
//
// Values are read and written through loaders (`load(index) -> float`, `store(index, float)`), so
// that one function serves float and half tensors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cuda/host_device.h"
#include "graph/graph.h"

namespace deeplab {
enum class BinaryKind;  // graph/ops.h
}  // namespace deeplab

namespace deeplab::cuda {

inline constexpr int kMaxTensorRank = 8;

// ---- activations ----

// The CPU's apply_activation (cpu/elementwise.cpp), comparison for comparison: std::max(x, lo) is
// (x < lo ? lo : x), std::min(x, hi) is (hi < x ? hi : x).
struct ActivationParams {
  int kind = Activation::kNone;
  float alpha = 0, beta = 0;
};
inline ActivationParams activation_params(const Activation& a) { return {a.kind, a.alpha, a.beta}; }

DEEPLAB_HOST_DEVICE inline float clamp_like_std(float x, float lo, float hi) {
  const float m = x < lo ? lo : x;
  return hi < m ? hi : m;
}

DEEPLAB_HOST_DEVICE inline float apply_activation(float x, const ActivationParams& a) {
  switch (a.kind) {
    case Activation::kRelu: return x > 0 ? x : 0.0f;
    case Activation::kClip: return clamp_like_std(x, a.alpha, a.beta);
    case Activation::kSigmoid: return div_rn(1.0f, add_rn(1.0f, exp_f(-x)));
    case Activation::kHardSigmoid: return clamp_like_std(add_rn(mul_rn(a.alpha, x), a.beta), 0.0f, 1.0f);
    case Activation::kHardSwish: return div_rn(mul_rn(x, clamp_like_std(add_rn(x, 3.0f), 0.0f, 6.0f)), 6.0f);
    default: return x;
  }
}

// ---- strided copies (Concat parts, Transpose, Reorder, Reshape, dtype conversions) ----

// dst[dst offset of i] = src[src offset of i] for each i in [0, count): dims in physical order of
// the destination (outermost first), each with its own source and destination stride (elements).
struct CopyParams {
  int rank = 0;
  std::int64_t count = 0;
  std::int64_t shape[kMaxTensorRank] = {};
  std::int64_t src_stride[kMaxTensorRank] = {};
  std::int64_t dst_stride[kMaxTensorRank] = {};
};

// Drops size-1 dims, orders the rest by descending destination stride (so that consecutive threads
// write consecutive elements), and merges neighbours that are contiguous on both sides. Throws
// Error(kUnsupported) above kMaxTensorRank dims and kInternal for mismatched argument sizes.
CopyParams make_copy_params(const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& src_strides,
                            const std::vector<std::int64_t>& dst_strides);

DEEPLAB_HOST_DEVICE inline void copy_offsets(const CopyParams& p, std::int64_t i, std::int64_t& src, std::int64_t& dst) {
  src = dst = 0;
  for (int d = p.rank - 1; d >= 0; --d) {
    const std::int64_t coord = i % p.shape[d];
    i /= p.shape[d];
    src += coord * p.src_stride[d];
    dst += coord * p.dst_stride[d];
  }
}

// ---- binary ops with numpy broadcasting over any layouts ----

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kMax, kMin };
BinaryOp binary_op(deeplab::BinaryKind op);  // the op table's OpDef::binary (graph/ops.h)

struct BinaryParams {
  BinaryOp op = BinaryOp::kAdd;
  int rank = 0;
  std::int64_t count = 0;
  std::int64_t shape[kMaxTensorRank] = {};
  std::int64_t dst_stride[kMaxTensorRank] = {};
  std::int64_t a_stride[kMaxTensorRank] = {};  // 0 along broadcast dims
  std::int64_t b_stride[kMaxTensorRank] = {};
};

// As the CPU's BinaryKernel: operand dims aligned to the right, broadcast dims stride 0, dims in
// the output's physical order (size-1 dims dropped). Strides in elements of each tensor's layout.
BinaryParams make_binary_params(BinaryOp op, const std::vector<std::int64_t>& out_shape,
                                const std::vector<std::int64_t>& out_strides,
                                const std::vector<std::int64_t>& a_shape, const std::vector<std::int64_t>& a_strides,
                                const std::vector<std::int64_t>& b_shape, const std::vector<std::int64_t>& b_strides);

DEEPLAB_HOST_DEVICE inline void binary_offsets(const BinaryParams& p, std::int64_t i, std::int64_t& dst, std::int64_t& a,
                                               std::int64_t& b) {
  dst = a = b = 0;
  for (int d = p.rank - 1; d >= 0; --d) {
    const std::int64_t coord = i % p.shape[d];
    i /= p.shape[d];
    dst += coord * p.dst_stride[d];
    a += coord * p.a_stride[d];
    b += coord * p.b_stride[d];
  }
}

DEEPLAB_HOST_DEVICE inline float apply_binary(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::kAdd: return add_rn(a, b);
    case BinaryOp::kSub: return sub_rn(a, b);
    case BinaryOp::kMul: return mul_rn(a, b);
    case BinaryOp::kDiv: return div_rn(a, b);
    case BinaryOp::kMax: return a < b ? b : a;  // std::max
    case BinaryOp::kMin: return b < a ? b : a;  // std::min
  }
  return a;
}

// ---- pooling (NHWC) ----

struct PoolParams {
  int batch = 1, in_h = 0, in_w = 0, channels = 0, out_h = 0, out_w = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_top = 0, pad_left = 0;
  bool max = false;
  bool count_include_pad = false;  // average over kernel_h * kernel_w (oneDNN's include_padding)
};

// Output element (b, oy, ox, c) of a max/average pooling over NHWC input: the window's in-bounds
// elements in row-major order; padding is excluded from a max and, unless count_include_pad, from
// an average's divisor (the CPU backend's oneDNN semantics, ceil_mode windows included).
template <typename Load>
DEEPLAB_HOST_DEVICE inline float pool_value(const PoolParams& p, const Load& load, int b, int oy, int ox, int c) {
  const int y_begin = oy * p.stride_h - p.pad_top, x_begin = ox * p.stride_w - p.pad_left;
  const int y0 = y_begin < 0 ? 0 : y_begin, x0 = x_begin < 0 ? 0 : x_begin;
  const int y1 = y_begin + p.kernel_h < p.in_h ? y_begin + p.kernel_h : p.in_h;
  const int x1 = x_begin + p.kernel_w < p.in_w ? x_begin + p.kernel_w : p.in_w;
  float acc = p.max ? -INFINITY : 0.0f;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) {
      const float v = load(((static_cast<std::int64_t>(b) * p.in_h + y) * p.in_w + x) * p.channels + c);
      acc = p.max ? (acc < v ? v : acc) : add_rn(acc, v);
    }
  if (p.max) return acc;
  const int count = p.count_include_pad ? p.kernel_h * p.kernel_w : (y1 - y0) * (x1 - x0);
  return count > 0 ? div_rn(acc, static_cast<float>(count)) : 0.0f;
}

// ---- resize (NHWC) ----

// The sampling tables of make_resample_geometry (postprocess/interpolate.h), as device pointers.
struct ResizeParams {
  int batch = 1, in_h = 0, in_w = 0, channels = 0, out_h = 0, out_w = 0;
  bool nearest = false;
  const int* row0 = nullptr;
  const int* row1 = nullptr;
  const float* row_w1 = nullptr;
  const int* col0 = nullptr;
  const int* col1 = nullptr;
  const float* col_w1 = nullptr;
};

DEEPLAB_HOST_DEVICE inline float blend_rn(float a, float b, float w1) {
  return add_rn(mul_rn(a, sub_rn(1.0f, w1)), mul_rn(b, w1));
}

// Output element (b, y, x, c): the two source rows of item b blended vertically, then horizontally
// (the CPU's blend_rows then blend_pixel, a * (1 - w1) + b * w1 each); nearest copies. Every item
// of a batch uses the same tables.
template <typename Load>
DEEPLAB_HOST_DEVICE inline float resize_value(const ResizeParams& p, const Load& load, int b, int y, int x, int c) {
  const std::int64_t row = static_cast<std::int64_t>(p.in_w) * p.channels;
  const std::int64_t item = static_cast<std::int64_t>(b) * p.in_h * row;
  const std::int64_t r0 = item + p.row0[y] * row, r1 = item + p.row1[y] * row;
  const std::int64_t c0 = static_cast<std::int64_t>(p.col0[x]) * p.channels + c;
  if (p.nearest) return load(r0 + c0);
  const std::int64_t c1 = static_cast<std::int64_t>(p.col1[x]) * p.channels + c;
  const float wy = p.row_w1[y];
  const float left = blend_rn(load(r0 + c0), load(r1 + c0), wy);
  const float right = blend_rn(load(r0 + c1), load(r1 + c1), wy);
  return blend_rn(left, right, p.col_w1[x]);
}

// Output element i of the whole batch (memory order b, y, x, c): what the resize kernel computes.
template <typename Load>
DEEPLAB_HOST_DEVICE inline float resize_element(const ResizeParams& p, const Load& load, std::int64_t i) {
  const int c = static_cast<int>(i % p.channels);
  const std::int64_t rest = i / p.channels;
  const int x = static_cast<int>(rest % p.out_w);
  const std::int64_t rows = rest / p.out_w;
  return resize_value(p, load, static_cast<int>(rows / p.out_h), static_cast<int>(rows % p.out_h), x, c);
}

// ---- asymmetric conv padding (NHWC) ----

// The conv input copied into a zero border: `top`/`left` extra rows/columns before, the rest after.
struct PadParams {
  int batch = 1, in_h = 0, in_w = 0, channels = 0, out_h = 0, out_w = 0, top = 0, left = 0;
};

// Source index of padded element i, or -1 for the zero border.
DEEPLAB_HOST_DEVICE inline std::int64_t pad_source(const PadParams& p, std::int64_t i) {
  const int c = static_cast<int>(i % p.channels);
  std::int64_t rest = i / p.channels;
  const int x = static_cast<int>(rest % p.out_w) - p.left;
  rest /= p.out_w;
  const int y = static_cast<int>(rest % p.out_h) - p.top;
  const std::int64_t b = rest / p.out_h;
  if (y < 0 || y >= p.in_h || x < 0 || x >= p.in_w) return -1;
  return ((b * p.in_h + y) * p.in_w + x) * p.channels + c;
}

}  // namespace deeplab::cuda
