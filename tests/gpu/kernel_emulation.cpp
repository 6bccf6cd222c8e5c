#include "kernel_emulation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "cuda/step_params.h"
#include "gpu_cases.h"

namespace deeplab::test {

using namespace deeplab::cuda;
using namespace deeplab::pixel;

namespace {

template <PixelFormat F>
void emulate_preprocess_format(const FrameView& f, const PreprocessTaps& t, const Normalisation& n,
                               const InputTensorLayout& L, float* dst) {
  for (int y = 0; y < L.height; ++y)
    for (int x = 0; x < L.width; ++x) preprocess_pixel<F>(f, t, n, L, x, y, dst);
}

// Runs `pixel_fn(v, staged, begin, x, y)` for every output pixel as the staged kernels do: per block
// (column block b, row y), stage the span — which must hold every column the block reads — then
// every thread.
template <typename PixelFn>
void emulate_staged(const UpsampleView& v, const UpsamplePlan& plan, PixelFn pixel_fn) {
  std::vector<float> staged(static_cast<std::size_t>(plan.max_span) * v.channels);
  const int blocks = static_cast<int>(plan.span_begin.size());
  for (int y = 0; y < v.out_h; ++y)
    for (int b = 0; b < blocks; ++b) {
      const int begin = v.span_begin[b], count = v.span_count[b] * v.channels;
      ASSERT_LE(count, static_cast<int>(staged.size()));
      std::fill(staged.begin(), staged.end(), std::nanf(""));  // a column read but not staged shows
      for (int j = 0; j < count; ++j) stage_element(v, y, begin, j, staged.data());
      for (int t = 0; t < v.block_width; ++t) {
        const int x = b * v.block_width + t;
        if (x < v.out_w) pixel_fn(staged.data(), begin, x, y);
      }
    }
}

}  // namespace

void emulate_preprocess(const FrameView& f, const InputSpec& spec, const InputTensorLayout& L, float* dst) {
  std::vector<int> x0, x1, y0, y1;
  std::vector<float> wx, wy;
  make_taps(f.width, L.width, x0, x1, wx);
  make_taps(f.height, L.height, y0, y1, wy);
  const PreprocessTaps t{x0.data(), x1.data(), wx.data(), y0.data(), y1.data(), wy.data()};
  const Normalisation n = make_normalisation(spec);
  switch (f.format) {
    case PixelFormat::kRGB: emulate_preprocess_format<PixelFormat::kRGB>(f, t, n, L, dst); break;
    case PixelFormat::kBGR: emulate_preprocess_format<PixelFormat::kBGR>(f, t, n, L, dst); break;
    case PixelFormat::kRGBA: emulate_preprocess_format<PixelFormat::kRGBA>(f, t, n, L, dst); break;
    case PixelFormat::kBGRA: emulate_preprocess_format<PixelFormat::kBGRA>(f, t, n, L, dst); break;
    case PixelFormat::kRGBx: emulate_preprocess_format<PixelFormat::kRGBx>(f, t, n, L, dst); break;
    case PixelFormat::kBGRx: emulate_preprocess_format<PixelFormat::kBGRx>(f, t, n, L, dst); break;
    case PixelFormat::kNV12: emulate_preprocess_format<PixelFormat::kNV12>(f, t, n, L, dst); break;
    case PixelFormat::kI420: emulate_preprocess_format<PixelFormat::kI420>(f, t, n, L, dst); break;
  }
}

UpsampleView host_view(const ResampleGeometry& geo, const UpsamplePlan& plan, const float* logits) {
  const ResizeParams r = resize_params(geo);  // the CUDA network's mapping of the geometry's tables
  // In UpsampleView's member order.
  return UpsampleView{logits, r.in_h, r.in_w, r.channels, r.out_h, r.out_w, r.row0, r.row1, r.row_w1, r.col0, r.col1,
                      r.col_w1, r.nearest, plan.span_begin.data(), plan.span_count.data(), plan.block_width};
}

namespace {

// fn(pixel, x, y) for every output pixel, read straight from the logits (the unstaged kernels).
template <typename Fn>
void for_each_direct_pixel(const UpsampleView& v, Fn fn) {
  for (int y = 0; y < v.out_h; ++y)
    for (int x = 0; x < v.out_w; ++x) {
      DirectPixel p;
      p.v = v;
      p.y = y;
      p.x = x;
      fn(p, x, y);
    }
}

}  // namespace

std::vector<std::uint8_t> emulate_argmax(const UpsampleView& v, const UpsamplePlan& plan, bool staged) {
  std::vector<std::uint8_t> classes(static_cast<std::size_t>(v.out_h) * v.out_w, 0xEE);
  if (staged) {
    emulate_staged(v, plan, [&](const float* s, int begin, int x, int y) {
      classes[static_cast<std::size_t>(y) * v.out_w + x] =
          static_cast<std::uint8_t>(argmax_classes(staged_pixel(v, s, begin, x), v.channels));
    });
  } else {
    for_each_direct_pixel(v, [&](const DirectPixel& p, int x, int y) {
      classes[static_cast<std::size_t>(y) * v.out_w + x] = static_cast<std::uint8_t>(argmax_classes(p, v.channels));
    });
  }
  return classes;
}

std::vector<float> emulate_softmax(const UpsampleView& v, const UpsamplePlan& plan, bool staged, SoftmaxLayout layout) {
  std::vector<float> planes(static_cast<std::size_t>(v.out_h) * v.out_w * v.channels, kSentinel);
  std::int64_t plane = 0;
  if (staged) {
    emulate_staged(v, plan, [&](const float* s, int begin, int x, int y) {
      float* out = softmax_output(v, planes.data(), layout, x, y, plane);
      softmax_classes(staged_pixel(v, s, begin, x), v.channels, out, plane);
    });
  } else {
    for_each_direct_pixel(v, [&](const DirectPixel& p, int x, int y) {
      float* out = softmax_output(v, planes.data(), layout, x, y, plane);
      softmax_classes(p, v.channels, out, plane);
    });
  }
  return planes;
}

}  // namespace deeplab::test
