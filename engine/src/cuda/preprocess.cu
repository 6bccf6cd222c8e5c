#include "cuda/preprocess.cuh"

#include "cuda/launch.cuh"

namespace deeplab::cuda {
namespace {

// Blocks of 32 x 8: a warp covers 32 consecutive output columns of one row (coalesced tap reads,
// and coalesced writes for planar layouts).
constexpr int kBlockX = 32, kBlockY = 8;

template <PixelFormat F>
__global__ void preprocess_kernel(FrameView frame, PreprocessTaps taps, Normalisation norm, InputTensorLayout layout,
                                  float* dst) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= layout.width || y >= layout.height) return;
  pixel::preprocess_pixel<F>(frame, taps, norm, layout, x, y, dst);
}

template <PixelFormat F>
void launch_format(const char* name, const FrameView& frame, const PreprocessTaps& taps, const Normalisation& norm,
                   const InputTensorLayout& layout, float* dst, cudaStream_t stream) {
  launch_2d(name, layout.width, layout.height, kBlockX, kBlockY, stream, preprocess_kernel<F>, frame, taps, norm,
            layout, dst);
}

}  // namespace

void launch_preprocess(const FrameView& frame, const PreprocessTaps& taps, const Normalisation& norm,
                       const InputTensorLayout& layout, float* dst, cudaStream_t stream) {
  switch (frame.format) {
#define DEEPLAB_CASE(F, NAME)                                                  \
  case PixelFormat::F:                                                         \
    launch_format<PixelFormat::F>(NAME, frame, taps, norm, layout, dst, stream); \
    break;
    DEEPLAB_CASE(kRGB, "preprocess_kernel<RGB>")
    DEEPLAB_CASE(kBGR, "preprocess_kernel<BGR>")
    DEEPLAB_CASE(kRGBA, "preprocess_kernel<RGBA>")
    DEEPLAB_CASE(kBGRA, "preprocess_kernel<BGRA>")
    DEEPLAB_CASE(kRGBx, "preprocess_kernel<RGBx>")
    DEEPLAB_CASE(kBGRx, "preprocess_kernel<BGRx>")
    DEEPLAB_CASE(kNV12, "preprocess_kernel<NV12>")
    DEEPLAB_CASE(kI420, "preprocess_kernel<I420>")
#undef DEEPLAB_CASE
  }
}

}  // namespace deeplab::cuda
