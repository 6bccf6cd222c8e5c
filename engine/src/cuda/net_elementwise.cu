// Elementwise kernels of the CUDA network: activations, broadcasting binary ops, the conv epilogue
// (bias + residual + activation) and per-channel affine maps. One thread per element; the
// arithmetic is cuda/net_ops.h's, in float whatever the storage type.
#include "cuda/launch.cuh"
#include "cuda/net_device.cuh"
#include "cuda/net_kernels.cuh"

namespace deeplab::cuda {
namespace {

template <typename T>
__global__ void unary_kernel(ActivationParams act, const T* src, T* dst, std::int64_t count) {
  const std::int64_t i = global_index();
  if (i >= count) return;
  dst[i] = from_float<T>(apply_activation(to_float(src[i]), act));
}

template <typename T>
__global__ void binary_kernel(BinaryParams p, const T* a, const T* b, T* dst) {
  const std::int64_t i = global_index();
  if (i >= p.count) return;
  std::int64_t d, ia, ib;
  binary_offsets(p, i, d, ia, ib);
  dst[d] = from_float<T>(apply_binary(p.op, to_float(a[ia]), to_float(b[ib])));
}

// oneDNN's order for the CPU backend: (conv + bias), then + residual, then the activation.
template <typename T>
__global__ void bias_activation_kernel(ActivationParams act, T* y, const T* bias, const T* z, std::int64_t count,
                                       int channels) {
  const std::int64_t i = global_index();
  if (i >= count) return;
  float v = to_float(y[i]);
  if (bias) v = add_rn(v, to_float(bias[i % channels]));
  if (z) v = add_rn(v, to_float(z[i]));
  y[i] = from_float<T>(apply_activation(v, act));
}

template <typename T>
__global__ void channel_affine_kernel(const T* x, T* y, const float* scale, const float* shift, std::int64_t count,
                                      int channels) {
  const std::int64_t i = global_index();
  if (i >= count) return;
  const int c = static_cast<int>(i % channels);
  y[i] = from_float<T>(add_rn(mul_rn(to_float(x[i]), scale[c]), shift[c]));
}

}  // namespace

void launch_unary(const ActivationParams& act, TensorType type, const void* src, void* dst, std::int64_t count,
                  cudaStream_t stream) {
  dispatch_type(type, [&](auto tag) {
    using T = decltype(tag);
    launch_1d("unary_kernel", count, kElementBlock, stream, unary_kernel<T>, act, static_cast<const T*>(src),
              static_cast<T*>(dst), count);
  });
}

void launch_binary(const BinaryParams& p, TensorType type, const void* a, const void* b, void* dst,
                   cudaStream_t stream) {
  dispatch_type(type, [&](auto tag) {
    using T = decltype(tag);
    launch_1d("binary_kernel", p.count, kElementBlock, stream, binary_kernel<T>, p, static_cast<const T*>(a),
              static_cast<const T*>(b), static_cast<T*>(dst));
  });
}

void launch_bias_activation(const ActivationParams& act, TensorType type, void* y, const void* bias, const void* z,
                            std::int64_t count, int channels, cudaStream_t stream) {
  dispatch_type(type, [&](auto tag) {
    using T = decltype(tag);
    launch_1d("bias_activation_kernel", count, kElementBlock, stream, bias_activation_kernel<T>, act,
              static_cast<T*>(y), static_cast<const T*>(bias), static_cast<const T*>(z), count, channels);
  });
}

void launch_channel_affine(TensorType type, const void* x, void* y, const float* scale, const float* shift,
                           std::int64_t count, int channels, cudaStream_t stream) {
  dispatch_type(type, [&](auto tag) {
    using T = decltype(tag);
    launch_1d("channel_affine_kernel", count, kElementBlock, stream, channel_affine_kernel<T>,
              static_cast<const T*>(x), static_cast<T*>(y), scale, shift, count, channels);
  });
}

}  // namespace deeplab::cuda
