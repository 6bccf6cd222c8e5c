#include "gpu_cases.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <sstream>

namespace deeplab::test {

const std::vector<PixelFormat>& all_pixel_formats() {
  static const std::vector<PixelFormat> formats = {PixelFormat::kRGB,  PixelFormat::kBGR,  PixelFormat::kRGBA,
                                                   PixelFormat::kBGRA, PixelFormat::kRGBx, PixelFormat::kBGRx,
                                                   PixelFormat::kNV12, PixelFormat::kI420};
  return formats;
}

OwnedFrame make_random_frame(PixelFormat format, int width, int height, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  const int cw = (width + 1) / 2, ch = (height + 1) / 2;
  int row_bytes[3] = {0, 0, 0}, rows[3] = {height, ch, ch}, planes = 1;
  switch (format) {
    case PixelFormat::kRGB:
    case PixelFormat::kBGR: row_bytes[0] = 3 * width; break;
    case PixelFormat::kNV12:
      row_bytes[0] = width;
      row_bytes[1] = 2 * cw;
      planes = 2;
      break;
    case PixelFormat::kI420:
      row_bytes[0] = width;
      row_bytes[1] = row_bytes[2] = cw;
      planes = 3;
      break;
    default: row_bytes[0] = 4 * width; break;
  }
  OwnedFrame f;
  int strides[3] = {0, 0, 0};
  for (int p = 0; p < planes; ++p) {
    strides[p] = row_bytes[p] + 5 + 3 * p;  // odd pads: rows never start aligned
    f.planes[p].resize(static_cast<std::size_t>(strides[p]) * rows[p]);
    for (auto& b : f.planes[p]) b = static_cast<std::uint8_t>(byte(rng));
  }
  if (format == PixelFormat::kNV12)
    f.view = FrameView::nv12(f.planes[0].data(), strides[0], f.planes[1].data(), strides[1], width, height);
  else if (format == PixelFormat::kI420)
    f.view = FrameView::i420(f.planes[0].data(), strides[0], f.planes[1].data(), strides[1], f.planes[2].data(),
                             strides[2], width, height);
  else
    f.view = FrameView::packed(format, f.planes[0].data(), width, height, strides[0]);
  return f;
}

std::vector<PreprocessCase> preprocess_cases(bool with_hd) {
  std::vector<PreprocessCase> cases = {
      {37, 29, 65, 65},     // upscaling, odd sizes
      {640, 480, 321, 321}, // downscaling
      {33, 17, 100, 7},     // up in x, down in y
      {1, 1, 3, 5},         // a single source pixel
      {130, 97, 130, 97},   // identity, width not a multiple of 32
  };
  if (with_hd) cases.push_back({1920, 1080, 513, 513});
  return cases;
}

std::vector<LayoutCase> layout_cases(int w, int h) {
  constexpr std::size_t kGuard = 64;
  const std::int64_t plane = static_cast<std::int64_t>(w) * h;
  std::vector<LayoutCase> cases;
  LayoutCase nchw{"NCHW", {w, h, plane, w, 1}, 0};
  LayoutCase nhwc{"NHWC", {w, h, 1, 3 * static_cast<std::int64_t>(w), 3}, 0};
  const std::int64_t padded_row = w + 3;
  LayoutCase nchw_padded{"NCHW-padded-rows", {w, h, padded_row * h + 7, padded_row, 1}, 0};
  LayoutCase nhwc_padded{"NHWC-padded-rows", {w, h, 1, 3 * static_cast<std::int64_t>(w) + 5, 3}, 0};
  for (LayoutCase* c : {&nchw, &nhwc, &nchw_padded, &nhwc_padded}) {
    const InputTensorLayout& L = c->layout;
    const std::int64_t last = (h - 1) * L.row_stride + (w - 1) * L.col_stride + 2 * L.channel_stride;
    c->floats = static_cast<std::size_t>(last) + 1 + kGuard;
    cases.push_back(*c);
  }
  return cases;
}

std::vector<float> random_logits(int h, int w, int c, unsigned seed, bool ties) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::uniform_int_distribution<int> bit(0, 1);
  std::vector<float> v(static_cast<std::size_t>(h) * w * c);
  for (float& x : v) x = ties ? static_cast<float>(bit(rng)) : normal(rng);
  return v;
}

std::string UpsampleCase::describe() const {
  std::ostringstream s;
  s << in_h << "x" << in_w << "x" << channels << " -> " << out_h << "x" << out_w;
  return s.str();
}

std::vector<UpsampleCase> upsample_cases(bool with_hd) {
  std::vector<UpsampleCase> cases = {
      {33, 33, 21, 257, 257}, {7, 13, 7, 31, 97},  {4, 6, 1, 9, 10},    {5, 5, 13, 3, 2},
      {65, 65, 13, 33, 47},   {1, 1, 7, 5, 7},     {17, 300, 21, 20, 150}, {9, 1000, 64, 9, 130},
      {3, 2, 21, 1, 1},
  };
  if (with_hd) cases.push_back({65, 65, 21, 1080, 1920});
  return cases;
}

ResampleGeometry upsample_geometry(const UpsampleCase& k, const ResizeAttrs& attrs) {
  return make_resample_geometry(k.in_h, k.in_w, k.channels, k.out_h, k.out_w, static_cast<float>(k.out_h) / k.in_h,
                                static_cast<float>(k.out_w) / k.in_w, attrs);
}

std::vector<std::uint8_t> cpu_upsample_argmax(const ResampleGeometry& geo, const std::vector<float>& logits) {
  std::vector<float> scratch(resample_scratch_floats(geo, 64));
  std::vector<std::uint8_t> classes(static_cast<std::size_t>(geo.rows.size()) * geo.cols.size());
  upsample_argmax(geo, logits.data(), classes.data(), scratch.data());
  return classes;
}

std::vector<float> cpu_upsample_softmax(const ResampleGeometry& geo, const std::vector<float>& logits) {
  std::vector<float> scratch(resample_scratch_floats(geo, 64));
  std::vector<float> planes(static_cast<std::size_t>(geo.rows.size()) * geo.cols.size() * geo.channels);
  upsample_softmax(geo, logits.data(), planes.data(), scratch.data());
  return planes;
}

std::vector<ResizeCase> resize_cases() {
  const std::pair<ResizeAttrs::Coord, const char*> coords[] = {
      {ResizeAttrs::kHalfPixel, "half_pixel"},
      {ResizeAttrs::kPytorchHalfPixel, "pytorch_half_pixel"},
      {ResizeAttrs::kAlignCorners, "align_corners"},
      {ResizeAttrs::kAsymmetric, "asymmetric"},
      {ResizeAttrs::kTfHalfPixelForNN, "tf_half_pixel_for_nn"}};
  const std::pair<ResizeAttrs::NearestRounding, const char*> roundings[] = {
      {ResizeAttrs::kRoundPreferFloor, "round_prefer_floor"},
      {ResizeAttrs::kRoundPreferCeil, "round_prefer_ceil"},
      {ResizeAttrs::kFloor, "floor"},
      {ResizeAttrs::kCeil, "ceil"}};
  std::vector<ResizeCase> cases;
  for (const auto& [coord, name] : coords) {
    ResizeAttrs a;
    a.mode = ResizeAttrs::kLinear;
    a.coord = coord;
    cases.push_back({std::string("linear/") + name, a});
  }
  for (const auto& [coord, name] : coords)
    for (const auto& [rounding, rname] : roundings) {
      ResizeAttrs a;
      a.mode = ResizeAttrs::kNearest;
      a.coord = coord;
      a.nearest = rounding;
      cases.push_back({std::string("nearest/") + name + "/" + rname, a});
    }
  return cases;
}

std::string FloatComparison::describe(double abs_tol, double rel_tol) const {
  std::ostringstream s;
  s << bad << " of " << count << " values outside |d| <= " << abs_tol << " + " << rel_tol << " * |want| (max |d| "
    << max_abs << ", max rel " << max_rel << ", worst at index " << worst << "; " << identical << " identical)";
  return s.str();
}

FloatComparison compare_floats(const std::vector<float>& want, const std::vector<float>& got, double abs_tol,
                               double rel_tol) {
  FloatComparison c;
  c.count = want.size();
  if (got.size() != want.size()) {
    c.bad = c.count;
    return c;
  }
  for (std::size_t i = 0; i < want.size(); ++i) {
    const float w = want[i], g = got[i];
    if (std::memcmp(&w, &g, sizeof(float)) == 0) {
      ++c.identical;
      continue;
    }
    if (!std::isfinite(w) || !std::isfinite(g)) {
      ++c.bad;
      c.worst = i;
      continue;
    }
    const double d = std::fabs(static_cast<double>(g) - w);
    const double rel = d / std::max(std::fabs(static_cast<double>(w)), 1e-30);
    if (d > c.max_abs) {
      c.max_abs = d;
      c.worst = i;
    }
    c.max_rel = std::max(c.max_rel, rel);
    if (d > abs_tol + rel_tol * std::fabs(static_cast<double>(w))) ++c.bad;
  }
  return c;
}

}  // namespace deeplab::test
