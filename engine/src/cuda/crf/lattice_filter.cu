#include "cuda/crf/lattice_filter.cuh"

#include "cuda/crf/crf_device.cuh"
#include "cuda/launch.cuh"

namespace deeplab::cuda {
namespace {

// One thread per (vertex, class): consecutive threads read consecutive classes of a point's row.
template <int D>
__global__ void lattice_splat_kernel(LatticeView v, const float* in, int stride, const float* point_scale, float* out) {
  const std::int64_t idx = global_thread();
  if (idx < static_cast<std::int64_t>(v.vertices) * stride) splat_step<D>(v, in, stride, point_scale, out, idx);
}

__global__ void lattice_blur_kernel(LatticeView v, int j, const float* in, float* out, int stride) {
  const std::int64_t idx = global_thread();
  if (idx < static_cast<std::int64_t>(v.vertices) * stride) blur_step(v, j, in, out, stride, idx);
}

template <int D>
__global__ void lattice_norm_kernel(LatticeView v, const float* blurred_ones) {
  const std::int64_t i = global_thread();
  if (i < v.points) norm_step<D>(v, blurred_ones, static_cast<int>(i));
}

}  // namespace

void launch_lattice_splat(const LatticeView& v, const float* in, int stride, const float* point_scale, float* out,
                          cudaStream_t stream) {
  with_lattice_dim(v.dim, [&](auto dim) {
    launch_1d("lattice_splat_kernel", static_cast<std::int64_t>(v.vertices) * stride, kCrfBlock, stream,
              lattice_splat_kernel<decltype(dim)::value>, v, in, stride, point_scale, out);
  });
}

void launch_lattice_blur(const LatticeView& v, int j, const float* in, float* out, int stride, cudaStream_t stream) {
  launch_1d("lattice_blur_kernel", static_cast<std::int64_t>(v.vertices) * stride, kCrfBlock, stream,
            lattice_blur_kernel, v, j, in, out, stride);
}

void launch_lattice_norm(const LatticeView& v, const float* blurred_ones, cudaStream_t stream) {
  with_lattice_dim(v.dim, [&](auto dim) {
    launch_1d("lattice_norm_kernel", v.points, kCrfBlock, stream, lattice_norm_kernel<decltype(dim)::value>, v,
              blurred_ones);
  });
}

}  // namespace deeplab::cuda
