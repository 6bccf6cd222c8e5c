#include "cuda/frame_planes.h"

namespace deeplab::cuda {

int plane_count(PixelFormat format) {
  switch (format) {
    case PixelFormat::kNV12: return 2;
    case PixelFormat::kI420: return 3;
    default: return 1;
  }
}

PlaneSize plane_size(PixelFormat format, int width, int height, int plane) {
  const int chroma_w = (width + 1) / 2, chroma_h = (height + 1) / 2;
  switch (format) {
    case PixelFormat::kRGB:
    case PixelFormat::kBGR: return {3 * width, height};
    case PixelFormat::kNV12: return plane == 0 ? PlaneSize{width, height} : PlaneSize{2 * chroma_w, chroma_h};
    case PixelFormat::kI420: return plane == 0 ? PlaneSize{width, height} : PlaneSize{chroma_w, chroma_h};
    default: return {4 * width, height};
  }
}

}  // namespace deeplab::cuda
