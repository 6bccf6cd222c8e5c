// Data-movement and resampling kernels of the CUDA network: strided copies (with float <-> half
// conversion), the zero border of asymmetric conv padding, pooling, global pooling and resize.
#include "cuda/launch.cuh"
#include "cuda/net_device.cuh"
#include "cuda/net_kernels.cuh"

namespace deeplab::cuda {
namespace {

template <typename S, typename D>
__global__ void copy_kernel(CopyParams p, const S* src, D* dst) {
  const std::int64_t i = global_index();
  if (i >= p.count) return;
  std::int64_t s, d;
  copy_offsets(p, i, s, d);
  dst[d] = from_float<D>(to_float(src[s]));
}

template <typename T>
__global__ void pad_input_kernel(PadParams p, std::int64_t count, const T* src, T* dst) {
  const std::int64_t i = global_index();
  if (i >= count) return;
  const std::int64_t s = pad_source(p, i);
  dst[i] = s < 0 ? from_float<T>(0.0f) : src[s];
}

// One thread per output element, channels fastest (consecutive threads read consecutive channels).
template <typename T>
__global__ void pool_kernel(PoolParams p, std::int64_t count, const T* src, T* dst) {
  const std::int64_t i = global_index();
  if (i >= count) return;
  const int c = static_cast<int>(i % p.channels);
  std::int64_t rest = i / p.channels;
  const int ox = static_cast<int>(rest % p.out_w);
  rest /= p.out_w;
  const int oy = static_cast<int>(rest % p.out_h);
  const int b = static_cast<int>(rest / p.out_h);
  dst[i] = from_float<T>(pool_value(p, Loader<T>{src}, b, oy, ox, c));
}

// Block (32 channels, 32 pixel lanes), grid (channel blocks, batch): each lane sums every 32nd
// pixel of its channel, then the lanes are reduced through shared memory.
constexpr int kPoolChannels = 32, kPoolLanes = 32;

template <typename T>
__global__ void global_pool_kernel(bool max, const T* src, T* dst, std::int64_t pixels, int channels) {
  __shared__ float partial[kPoolLanes][kPoolChannels + 1];
  const int c = blockIdx.x * kPoolChannels + threadIdx.x;
  const int b = blockIdx.y;
  float acc = max ? -INFINITY : 0.0f;
  if (c < channels) {
    const T* base = src + static_cast<std::int64_t>(b) * pixels * channels + c;
    for (std::int64_t q = threadIdx.y; q < pixels; q += kPoolLanes) {
      const float v = to_float(base[q * channels]);
      acc = max ? (acc < v ? v : acc) : add_rn(acc, v);
    }
  }
  partial[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y != 0 || c >= channels) return;
  for (int lane = 1; lane < kPoolLanes; ++lane) {
    const float v = partial[lane][threadIdx.x];
    acc = max ? (acc < v ? v : acc) : add_rn(acc, v);
  }
  if (!max) acc = div_rn(acc, static_cast<float>(pixels));
  dst[static_cast<std::int64_t>(b) * channels + c] = from_float<T>(acc);
}

template <typename T>
__global__ void resize_kernel(ResizeParams p, std::int64_t count, const T* src, T* dst) {
  const std::int64_t i = global_index();
  if (i >= count) return;
  dst[i] = from_float<T>(resize_element(p, Loader<T>{src}, i));
}

}  // namespace

void launch_copy(const CopyParams& p, TensorType src_type, const void* src, TensorType dst_type, void* dst,
                 cudaStream_t stream) {
  dispatch_type(src_type, [&](auto src_tag) {
    using S = decltype(src_tag);
    dispatch_type(dst_type, [&](auto dst_tag) {
      using D = decltype(dst_tag);
      launch_1d("copy_kernel", p.count, kElementBlock, stream, copy_kernel<S, D>, p, static_cast<const S*>(src),
                static_cast<D*>(dst));
    });
  });
}

namespace {

// One thread per element of a batch x out_h x out_w x channels output (padding, pooling, resize):
// `kernel_of(tag)` is the kernel for the element type of `tag`.
template <typename Params, typename KernelOf>
void launch_per_output(const char* name, const Params& p, TensorType type, const void* src, void* dst,
                       cudaStream_t stream, KernelOf kernel_of) {
  const std::int64_t count = static_cast<std::int64_t>(p.batch) * p.out_h * p.out_w * p.channels;
  dispatch_type(type, [&](auto tag) {
    using T = decltype(tag);
    launch_1d(name, count, kElementBlock, stream, kernel_of(tag), p, count, static_cast<const T*>(src),
              static_cast<T*>(dst));
  });
}

}  // namespace

void launch_pad_input(const PadParams& p, TensorType type, const void* src, void* dst, cudaStream_t stream) {
  launch_per_output("pad_input_kernel", p, type, src, dst, stream,
                    [](auto tag) { return pad_input_kernel<decltype(tag)>; });
}

void launch_pool(const PoolParams& p, TensorType type, const void* src, void* dst, cudaStream_t stream) {
  launch_per_output("pool_kernel", p, type, src, dst, stream, [](auto tag) { return pool_kernel<decltype(tag)>; });
}

void launch_global_pool(TensorType type, bool max, const void* src, void* dst, int batch, std::int64_t pixels,
                        int channels, cudaStream_t stream) {
  const LaunchShape shape = shape_2d(channels, batch * kPoolLanes, kPoolChannels, kPoolLanes);
  dispatch_type(type, [&](auto tag) {
    using T = decltype(tag);
    launch("global_pool_kernel", shape, stream, global_pool_kernel<T>, max, static_cast<const T*>(src),
           static_cast<T*>(dst), pixels, channels);
  });
}

void launch_resize(const ResizeParams& p, TensorType type, const void* src, void* dst, cudaStream_t stream) {
  launch_per_output("resize_kernel", p, type, src, dst, stream, [](auto tag) { return resize_kernel<decltype(tag)>; });
}

}  // namespace deeplab::cuda
