#include "postprocess/interpolate.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

namespace deeplab {

AxisSampling make_axis_sampling(int in_size, int out_size, float scale, ResizeAttrs::Mode mode,
                                ResizeAttrs::Coord coord, ResizeAttrs::NearestRounding rounding) {
  AxisSampling s;
  s.index0.resize(out_size);
  s.index1.resize(out_size);
  s.weight1.resize(out_size);
  for (int x = 0; x < out_size; ++x) {
    // Source coordinate in float, as ONNX Runtime computes it.
    float src = 0;
    switch (coord) {
      case ResizeAttrs::kHalfPixel: src = (static_cast<float>(x) + 0.5f) / scale - 0.5f; break;
      case ResizeAttrs::kPytorchHalfPixel:
        src = out_size > 1 ? (static_cast<float>(x) + 0.5f) / scale - 0.5f : 0.0f;
        break;
      case ResizeAttrs::kAlignCorners:
        src = out_size > 1 ? static_cast<float>(x) * static_cast<float>(in_size - 1) / static_cast<float>(out_size - 1) : 0.0f;
        break;
      case ResizeAttrs::kAsymmetric: src = static_cast<float>(x) / scale; break;
      case ResizeAttrs::kTfHalfPixelForNN: src = (static_cast<float>(x) + 0.5f) / scale; break;
    }
    if (mode == ResizeAttrs::kNearest) {
      float r = 0;
      switch (rounding) {
        case ResizeAttrs::kRoundPreferFloor: r = (src == std::floor(src) + 0.5f) ? std::floor(src) : std::round(src); break;
        case ResizeAttrs::kRoundPreferCeil: r = std::round(src); break;
        case ResizeAttrs::kFloor: r = std::floor(src); break;
        case ResizeAttrs::kCeil: r = std::ceil(src); break;
      }
      const int i = std::clamp(static_cast<int>(r), 0, in_size - 1);
      s.index0[x] = s.index1[x] = i;
      s.weight1[x] = 0;
      continue;
    }
    src = std::clamp(src, 0.0f, static_cast<float>(in_size - 1));
    const int i0 = static_cast<int>(src);
    s.index0[x] = i0;
    s.index1[x] = std::min(i0 + 1, in_size - 1);
    s.weight1[x] = src - static_cast<float>(i0);
  }
  return s;
}

ResampleGeometry make_resample_geometry(int in_h, int in_w, int channels, int out_h, int out_w,
                                        float scale_h, float scale_w, const ResizeAttrs& attrs) {
  ResampleGeometry geo;
  geo.in_h = in_h;
  geo.in_w = in_w;
  geo.channels = channels;
  geo.mode = attrs.mode;
  geo.rows = make_axis_sampling(in_h, out_h, scale_h, attrs.mode, attrs.coord, attrs.nearest);
  geo.cols = make_axis_sampling(in_w, out_w, scale_w, attrs.mode, attrs.coord, attrs.nearest);
  return geo;
}

void blend_rows(const ResampleGeometry& geo, const float* src, std::int64_t src_row_stride, int y,
                float* vrow) {
  const std::int64_t n = static_cast<std::int64_t>(geo.in_w) * geo.channels;
  const float* a = src + geo.rows.index0[y] * src_row_stride;
  if (geo.mode == ResizeAttrs::kNearest) {
    std::copy(a, a + n, vrow);
    return;
  }
  const float* b = src + geo.rows.index1[y] * src_row_stride;
  const float w1 = geo.rows.weight1[y], w0 = 1.0f - w1;
#pragma omp simd
  for (std::int64_t k = 0; k < n; ++k) vrow[k] = a[k] * w0 + b[k] * w1;
}

std::size_t resample_scratch_floats(const ResampleGeometry& geo, int threads) {
  return static_cast<std::size_t>(threads) * (static_cast<std::size_t>(geo.in_w) + 1) * geo.channels;
}

void resample_nhwc(const ResampleGeometry& geo, const float* src, float* dst, float* scratch) {
  const int out_h = geo.rows.size(), out_w = geo.cols.size(), c = geo.channels;
  const std::int64_t src_stride = static_cast<std::int64_t>(geo.in_w) * c;
  const std::size_t per_thread = (static_cast<std::size_t>(geo.in_w) + 1) * c;
#pragma omp parallel for schedule(static)
  for (int y = 0; y < out_h; ++y) {
    float* vrow = scratch + omp_get_thread_num() * per_thread;
    blend_rows(geo, src, src_stride, y, vrow);
    float* out = dst + static_cast<std::int64_t>(y) * out_w * c;
    for (int x = 0; x < out_w; ++x) blend_pixel(geo, vrow, x, out + static_cast<std::int64_t>(x) * c);
  }
}

namespace {

struct Winner {
  int best;
  float margin;  // best value minus the runner-up
  float scale;   // |best| + |runner-up|, for a relative margin test
};

inline Winner argmax_pixel(const ResampleGeometry& geo, const float* vrow, int x, float* pixel) {
  blend_pixel(geo, vrow, x, pixel);
  const int c = geo.channels;
  int best = 0;
  for (int k = 1; k < c; ++k)
    if (pixel[k] > pixel[best]) best = k;
  float second = -INFINITY;
  for (int k = 0; k < c; ++k)
    if (k != best) second = std::max(second, pixel[k]);
  if (c == 1) second = pixel[0];
  return {best, pixel[best] - second, std::fabs(pixel[best]) + std::fabs(second)};
}

// One output row of class ids. Output pixels between the same two logit columns see each class's
// score as a linear function of the horizontal weight, so if one class wins at both ends of such a
// run by a margin far above float rounding, it wins everywhere in between: the run is filled
// without evaluating its inner pixels (upsampling x8..x60 makes runs long). Runs that are close or
// change class are evaluated pixel by pixel, so the result equals the per-pixel argmax.
void argmax_row(const ResampleGeometry& geo, const float* vrow, float* pixel, std::uint8_t* out) {
  const int out_w = geo.cols.size();
  int x = 0;
  while (x < out_w) {
    int end = x + 1;
    while (end < out_w && geo.cols.index0[end] == geo.cols.index0[x] && geo.cols.index1[end] == geo.cols.index1[x]) ++end;
    const Winner first = argmax_pixel(geo, vrow, x, pixel);
    out[x] = static_cast<std::uint8_t>(first.best);
    if (end - x > 2) {
      const Winner last = argmax_pixel(geo, vrow, end - 1, pixel);
      constexpr float kSafeMargin = 1e-4f;  // relative; float rounding is ~1e-7
      if (last.best == first.best && first.margin > kSafeMargin * first.scale &&
          last.margin > kSafeMargin * last.scale) {
        std::fill(out + x, out + end, static_cast<std::uint8_t>(first.best));
        x = end;
        continue;
      }
    }
    for (int k = x + 1; k < end; ++k) out[k] = static_cast<std::uint8_t>(argmax_pixel(geo, vrow, k, pixel).best);
    x = end;
  }
}

}  // namespace

namespace {

// Runs row(y, vrow, pixel) for every output row in parallel, vrow holding the input rows blended
// vertically for y and pixel a channel vector; both live in the caller's scratch (per thread), so
// nothing is allocated per frame.
template <typename RowFn>
void for_each_output_row(const ResampleGeometry& geo, const float* logits, float* scratch, RowFn row) {
  const int out_h = geo.rows.size(), c = geo.channels;
  const std::int64_t src_stride = static_cast<std::int64_t>(geo.in_w) * c;
  const std::size_t per_thread = (static_cast<std::size_t>(geo.in_w) + 1) * c;
#pragma omp parallel for schedule(static)
  for (int y = 0; y < out_h; ++y) {
    float* vrow = scratch + omp_get_thread_num() * per_thread;
    float* pixel = vrow + static_cast<std::int64_t>(geo.in_w) * c;
    blend_rows(geo, logits, src_stride, y, vrow);
    row(y, vrow, pixel);
  }
}

}  // namespace

void upsample_argmax(const ResampleGeometry& geo, const float* logits, std::uint8_t* classes,
                     float* scratch) {
  const int out_w = geo.cols.size();
  for_each_output_row(geo, logits, scratch, [&](int y, const float* vrow, float* pixel) {
    argmax_row(geo, vrow, pixel, classes + static_cast<std::int64_t>(y) * out_w);
  });
}

void upsample_softmax(const ResampleGeometry& geo, const float* logits, float* planes, float* scratch) {
  const int out_h = geo.rows.size(), out_w = geo.cols.size(), c = geo.channels;
  const std::int64_t plane = static_cast<std::int64_t>(out_h) * out_w;
  for_each_output_row(geo, logits, scratch, [&](int y, const float* vrow, float* pixel) {
    for (int x = 0; x < out_w; ++x) {
      blend_pixel(geo, vrow, x, pixel);
      float peak = pixel[0];
      for (int k = 1; k < c; ++k) peak = std::max(peak, pixel[k]);
      float sum = 0;
      for (int k = 0; k < c; ++k) sum += pixel[k] = std::exp(pixel[k] - peak);
      const float inv = 1.0f / sum;
      const std::int64_t at = static_cast<std::int64_t>(y) * out_w + x;
      for (int k = 0; k < c; ++k) planes[k * plane + at] = pixel[k] * inv;
    }
  });
}

}  // namespace deeplab
