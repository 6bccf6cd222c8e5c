// The CUDA network's own kernels (everything but the convolutions, which are cuDNN's): launchers
// for float or half tensors (TensorType), device pointers passed as void*. Host-includable:
// declarations only; the per-element code is cuda/net_ops.h. Each launcher enqueues on `stream`,
// launches nothing for an empty range and throws deeplab::Error (kDevice) when the launch fails.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "cuda/conv_plan.h"
#include "cuda/net_ops.h"

namespace deeplab::cuda {

// dst = src element by element along `p` (Concat parts, Transpose, Reorder, Reshape), converting
// between float and half when the types differ.
void launch_copy(const CopyParams& p, TensorType src_type, const void* src, TensorType dst_type, void* dst,
                 cudaStream_t stream);

// dst[i] = act(src[i]) for i < count (dst may be src).
void launch_unary(const ActivationParams& act, TensorType type, const void* src, void* dst, std::int64_t count,
                  cudaStream_t stream);

// dst = a (op) b with broadcasting along `p`.
void launch_binary(const BinaryParams& p, TensorType type, const void* a, const void* b, void* dst,
                   cudaStream_t stream);

// A convolution's epilogue on its dense NHWC output y (`channels` innermost):
// y[i] = act(y[i] + bias[i % channels] + z[i]), bias and z optional (nullptr).
void launch_bias_activation(const ActivationParams& act, TensorType type, void* y, const void* bias, const void* z,
                            std::int64_t count, int channels, cudaStream_t stream);

// y[i] = x[i] * scale[c] + shift[c] over dense NHWC data (a standalone BatchNormalization).
void launch_channel_affine(TensorType type, const void* x, void* y, const float* scale, const float* shift,
                           std::int64_t count, int channels, cudaStream_t stream);

// Max / average pooling of NHWC data (pool_value per output element).
void launch_pool(const PoolParams& p, TensorType type, const void* src, void* dst, cudaStream_t stream);

// Global average / max pooling: NHWC batch x pixels x channels -> batch x channels.
void launch_global_pool(TensorType type, bool max, const void* src, void* dst, int batch, std::int64_t pixels,
                        int channels, cudaStream_t stream);

// Bilinear / nearest resize of NHWC data, any batch (resize_value per output element).
void launch_resize(const ResizeParams& p, TensorType type, const void* src, void* dst, cudaStream_t stream);

// The conv input copied into its zero border (asymmetric padding).
void launch_pad_input(const PadParams& p, TensorType type, const void* src, void* dst, cudaStream_t stream);

}  // namespace deeplab::cuda
