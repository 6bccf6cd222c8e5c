#include "cuda/crf/crf_stage.cuh"

#include "cuda/crf/crf_device.cuh"
#include "cuda/launch.cuh"

namespace deeplab::cuda {
namespace {

__global__ void rgb_bytes_kernel(const float* rgb, std::uint8_t* bytes, std::int64_t count) {
  const std::int64_t k = global_thread();
  if (k < count) bytes[k] = rgb_byte(rgb[k]);
}

// One thread per cell: at most 1024 of them, each summing its few hundred sampled pixels in the
// CPU's order (a parallel reduction would change the float sum and so the scene-cut decisions).
__global__ void luma_thumbnail_kernel(const std::uint8_t* rgb, int stride, ThumbnailGrid grid, float* luma) {
  const std::int64_t c = global_thread();
  if (c < static_cast<std::int64_t>(grid.cells_x) * grid.cells_y) luma[c] = luma_cell(rgb, stride, grid, static_cast<int>(c));
}

__global__ void warm_start_kernel(float* q, const float* probabilities, int points, int classes, float blend) {
  const std::int64_t i = global_thread();
  if (i < points) warm_start_pixel(q, probabilities, classes, blend, static_cast<int>(i));
}

}  // namespace

void launch_rgb_bytes(const float* rgb, std::uint8_t* bytes, std::int64_t count, cudaStream_t stream) {
  launch_1d("rgb_bytes_kernel", count, kCrfBlock, stream, rgb_bytes_kernel, rgb, bytes, count);
}

void launch_luma_thumbnail(const std::uint8_t* rgb, int stride, const ThumbnailGrid& grid, float* luma,
                           cudaStream_t stream) {
  launch_1d("luma_thumbnail_kernel", static_cast<std::int64_t>(grid.cells_x) * grid.cells_y, 128, stream,
            luma_thumbnail_kernel, rgb, stride, grid, luma);
}

void launch_warm_start(float* q, const float* probabilities, int points, int classes, float blend,
                       cudaStream_t stream) {
  launch_1d("warm_start_kernel", points, kCrfBlock, stream, warm_start_kernel, q, probabilities, points, classes,
            blend);
}

}  // namespace deeplab::cuda
