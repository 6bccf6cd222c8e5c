// One output pixel of the pre-processing (fetch, bilinear blend, normalisation, layout), written
// once for the CUDA kernel (cuda/preprocess.cu) and the host: the unit tests run it on the CPU
// against deeplab::Preprocessor, which it mirrors operation by operation (same taps, same blend
// order, same roundings), so the kernel's results equal the CPU's.
#pragma once

#include <cstdint>

#include "common/host_device.h"
#include "common/yuv_bt601.h"
#include "deeplab/frame.h"
#include "deeplab/manifest.h"
#include "preprocess/preprocess.h"

namespace deeplab::pixel {

// The resize's sampling tables, as make_taps() builds them: x* have one entry per output column,
// y* one per output row (device pointers in a kernel).
struct PreprocessTaps {
  const int* x0 = nullptr;
  const int* x1 = nullptr;
  const float* wx = nullptr;
  const int* y0 = nullptr;
  const int* y1 = nullptr;
  const float* wy = nullptr;
};

// The CPU pre-processing's normalisation (preprocess/preprocess.h), shared as it is.
using deeplab::Normalisation;
using deeplab::make_normalisation;

// RGB of source pixel (x, y) of a frame in format F.
template <PixelFormat F>
DEEPLAB_HOST_DEVICE inline void fetch_rgb(const FrameView& f, int x, int y, int rgb[3]) {
  if constexpr (F == PixelFormat::kNV12 || F == PixelFormat::kI420) {
    const int luma = f.planes[0][static_cast<std::int64_t>(y) * f.strides[0] + x];
    int u, v;
    if constexpr (F == PixelFormat::kNV12) {
      const std::uint8_t* uv = f.planes[1] + static_cast<std::int64_t>(y / 2) * f.strides[1] + (x / 2) * 2;
      u = uv[0];
      v = uv[1];
    } else {
      u = f.planes[1][static_cast<std::int64_t>(y / 2) * f.strides[1] + x / 2];
      v = f.planes[2][static_cast<std::int64_t>(y / 2) * f.strides[2] + x / 2];
    }
    yuv_to_rgb_bt601(luma, u, v, rgb);
  } else {
    constexpr int bpp = (F == PixelFormat::kRGB || F == PixelFormat::kBGR) ? 3 : 4;
    constexpr bool bgr = F == PixelFormat::kBGR || F == PixelFormat::kBGRA || F == PixelFormat::kBGRx;
    const std::uint8_t* p = f.planes[0] + static_cast<std::int64_t>(y) * f.strides[0] + x * bpp;
    rgb[0] = p[bgr ? 2 : 0];
    rgb[1] = p[1];
    rgb[2] = p[bgr ? 0 : 2];
  }
}

// Output pixel (x, y) of `dst` (strides from `layout`).
template <PixelFormat F>
DEEPLAB_HOST_DEVICE inline void preprocess_pixel(const FrameView& f, const PreprocessTaps& t, const Normalisation& n,
                                                 const InputTensorLayout& layout, int x, int y, float* dst) {
  const int x0 = t.x0[x], x1 = t.x1[x], y0 = t.y0[y], y1 = t.y1[y];
  int a[3], b[3], c[3], d[3];
  fetch_rgb<F>(f, x0, y0, a);
  fetch_rgb<F>(f, x1, y0, b);
  fetch_rgb<F>(f, x0, y1, c);
  fetch_rgb<F>(f, x1, y1, d);
  const float fx = t.wx[x], fy = t.wy[y];
  float rgb[3];
  for (int k = 0; k < 3; ++k) {
    // top = a + (b - a) * fx; bottom = c + (d - c) * fx; top + (bottom - top) * fy.
    const float top = add_rn(static_cast<float>(a[k]), mul_rn(static_cast<float>(b[k] - a[k]), fx));
    const float bottom = add_rn(static_cast<float>(c[k]), mul_rn(static_cast<float>(d[k] - c[k]), fx));
    rgb[k] = add_rn(top, mul_rn(sub_rn(bottom, top), fy));
  }
  const float first = n.to_bgr ? rgb[2] : rgb[0];
  const float last = n.to_bgr ? rgb[0] : rgb[2];
  float* out = dst + static_cast<std::int64_t>(y) * layout.row_stride + static_cast<std::int64_t>(x) * layout.col_stride;
  out[0] = add_rn(mul_rn(first, n.mul[0]), n.add[0]);
  out[layout.channel_stride] = add_rn(mul_rn(rgb[1], n.mul[1]), n.add[1]);
  out[2 * layout.channel_stride] = add_rn(mul_rn(last, n.mul[2]), n.add[2]);
}

}  // namespace deeplab::pixel
