#include "preprocess/preprocess.h"

#include <algorithm>
#include <cmath>

#include "deeplab/error.h"

namespace deeplab {

// Source sampling along one axis with half-pixel centres; edges clamp.
void make_taps(int in, int out, std::vector<int>& i0, std::vector<int>& i1, std::vector<float>& w) {
  i0.resize(out);
  i1.resize(out);
  w.resize(out);
  // Coordinates in double, as OpenCV computes them: float drifts visibly on HD-sized frames.
  const double scale = static_cast<double>(in) / out;
  for (int x = 0; x < out; ++x) {
    const double src = std::clamp((x + 0.5) * scale - 0.5, 0.0, static_cast<double>(in - 1));
    const int a = static_cast<int>(src);
    i0[x] = a;
    i1[x] = std::min(a + 1, in - 1);
    w[x] = static_cast<float>(src - a);
  }
}

namespace {

inline std::uint8_t clamp_u8(int v) { return static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v); }

// Fetches the RGB of source pixel (x, y) for each format.
template <PixelFormat F>
inline void fetch_rgb(const FrameView& f, int x, int y, std::uint8_t rgb[3]) {
  if constexpr (F == PixelFormat::kNV12 || F == PixelFormat::kI420) {
    const int Y = f.planes[0][static_cast<std::int64_t>(y) * f.strides[0] + x];
    int U, V;
    if constexpr (F == PixelFormat::kNV12) {
      const std::uint8_t* uv = f.planes[1] + static_cast<std::int64_t>(y / 2) * f.strides[1] + (x / 2) * 2;
      U = uv[0];
      V = uv[1];
    } else {
      U = f.planes[1][static_cast<std::int64_t>(y / 2) * f.strides[1] + x / 2];
      V = f.planes[2][static_cast<std::int64_t>(y / 2) * f.strides[2] + x / 2];
    }
    yuv_to_rgb(Y, U, V, rgb);
  } else {
    constexpr int bpp = (F == PixelFormat::kRGB || F == PixelFormat::kBGR) ? 3 : 4;
    constexpr bool bgr = F == PixelFormat::kBGR || F == PixelFormat::kBGRA || F == PixelFormat::kBGRx;
    const std::uint8_t* p = f.planes[0] + static_cast<std::int64_t>(y) * f.strides[0] + x * bpp;
    rgb[0] = p[bgr ? 2 : 0];
    rgb[1] = p[1];
    rgb[2] = p[bgr ? 0 : 2];
  }
}

template <PixelFormat F>
void convert(const FrameView& f, float* dst, const InputTensorLayout& L, const std::vector<int>& x0,
             const std::vector<int>& x1, const std::vector<float>& wx, const std::vector<int>& y0,
             const std::vector<int>& y1, const std::vector<float>& wy, const float* mul, const float* add,
             bool to_bgr) {
  const int c0 = to_bgr ? 2 : 0, c2 = to_bgr ? 0 : 2;
#pragma omp parallel for schedule(static)
  for (int y = 0; y < L.height; ++y) {
    const float fy = wy[y];
    float* row = dst + static_cast<std::int64_t>(y) * L.row_stride;
    for (int x = 0; x < L.width; ++x) {
      std::uint8_t a[3], b[3], c[3], d[3];
      fetch_rgb<F>(f, x0[x], y0[y], a);
      fetch_rgb<F>(f, x1[x], y0[y], b);
      fetch_rgb<F>(f, x0[x], y1[y], c);
      fetch_rgb<F>(f, x1[x], y1[y], d);
      const float fx = wx[x];
      float* out = row + static_cast<std::int64_t>(x) * L.col_stride;
      float rgb[3];
      for (int k = 0; k < 3; ++k) {
        const float top = a[k] + (b[k] - a[k]) * fx;
        const float bottom = c[k] + (d[k] - c[k]) * fx;
        rgb[k] = top + (bottom - top) * fy;
      }
      out[0] = rgb[c0] * mul[0] + add[0];
      out[L.channel_stride] = rgb[1] * mul[1] + add[1];
      out[2 * L.channel_stride] = rgb[c2] * mul[2] + add[2];
    }
  }
}

}  // namespace

void yuv_to_rgb(int y, int u, int v, std::uint8_t rgb[3]) {
  // BT.601 limited range in 20-bit fixed point, the coefficients OpenCV uses.
  const int c = std::max(y - 16, 0) * 1220542;
  const int d = u - 128, e = v - 128;
  constexpr int kRound = 1 << 19;
  rgb[0] = clamp_u8((c + 1673527 * e + kRound) >> 20);
  rgb[1] = clamp_u8((c - 409993 * d - 852492 * e + kRound) >> 20);
  rgb[2] = clamp_u8((c + 2116026 * d + kRound) >> 20);
}

Preprocessor::Preprocessor(const InputSpec& spec, const InputTensorLayout& layout) : layout_(layout) {
  model_wants_bgr_ = spec.color == ColorOrder::kBGR;
  for (int k = 0; k < 3; ++k) {
    mul_[k] = spec.scale / spec.std[k];
    add_[k] = -spec.mean[k] / spec.std[k];
  }
}

void Preprocessor::prepare(int w, int h) {
  if (w == frame_width_ && h == frame_height_) return;
  make_taps(w, layout_.width, x0_, x1_, wx_);
  make_taps(h, layout_.height, y0_, y1_, wy_);
  frame_width_ = w;
  frame_height_ = h;
}

void Preprocessor::run(const FrameView& frame, float* dst) {
  validate_frame(frame);
  prepare(frame.width, frame.height);
  const bool bgr = model_wants_bgr_;
  switch (frame.format) {
#define DEEPLAB_CASE(F) \
  case F: convert<F>(frame, dst, layout_, x0_, x1_, wx_, y0_, y1_, wy_, mul_, add_, bgr); break;
    DEEPLAB_CASE(PixelFormat::kRGB)
    DEEPLAB_CASE(PixelFormat::kBGR)
    DEEPLAB_CASE(PixelFormat::kRGBA)
    DEEPLAB_CASE(PixelFormat::kBGRA)
    DEEPLAB_CASE(PixelFormat::kRGBx)
    DEEPLAB_CASE(PixelFormat::kBGRx)
    DEEPLAB_CASE(PixelFormat::kNV12)
    DEEPLAB_CASE(PixelFormat::kI420)
#undef DEEPLAB_CASE
  }
}

}  // namespace deeplab
