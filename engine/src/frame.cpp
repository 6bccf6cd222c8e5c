#include "deeplab/frame.h"

#include <array>
#include <cstring>
#include <string>

#include "deeplab/error.h"

namespace deeplab {
namespace {

struct FormatName {
  PixelFormat format;
  const char* name;
};
constexpr FormatName kFormats[] = {
    {PixelFormat::kRGB, "RGB"},   {PixelFormat::kBGR, "BGR"},   {PixelFormat::kRGBA, "RGBA"},
    {PixelFormat::kBGRA, "BGRA"}, {PixelFormat::kRGBx, "RGBx"}, {PixelFormat::kBGRx, "BGRx"},
    {PixelFormat::kNV12, "NV12"}, {PixelFormat::kI420, "I420"}};

int bytes_per_pixel(PixelFormat f) {
  switch (f) {
    case PixelFormat::kRGB:
    case PixelFormat::kBGR: return 3;
    case PixelFormat::kNV12:
    case PixelFormat::kI420: return 1;
    default: return 4;
  }
}

}  // namespace

PixelFormat pixel_format_from_string(const char* name) {
  for (const auto& f : kFormats)
    if (std::strcmp(f.name, name) == 0) return f.format;
  throw Error(ErrorCode::kInvalidArgument, std::string("unknown pixel format '") + name +
                                               "' (supported: RGB BGR RGBA BGRA RGBx BGRx NV12 I420)");
}

const char* pixel_format_name(PixelFormat format) {
  for (const auto& f : kFormats)
    if (f.format == format) return f.name;
  return "?";
}

namespace {

// A view of `planes` (unused ones null, stride 0): the one place that fills a FrameView.
FrameView view_of(PixelFormat format, int width, int height, std::array<const std::uint8_t*, 3> planes,
                  std::array<int, 3> strides) {
  FrameView f;
  f.format = format;
  f.width = width;
  f.height = height;
  for (int k = 0; k < 3; ++k) {
    f.planes[k] = planes[k];
    f.strides[k] = strides[k];
  }
  return f;
}

}  // namespace

FrameView FrameView::packed(PixelFormat format, const std::uint8_t* data, int width, int height, int stride) {
  return view_of(format, width, height, {data, nullptr, nullptr}, {stride, 0, 0});
}

FrameView FrameView::nv12(const std::uint8_t* y, int y_stride, const std::uint8_t* uv, int uv_stride,
                          int width, int height) {
  return view_of(PixelFormat::kNV12, width, height, {y, uv, nullptr}, {y_stride, uv_stride, 0});
}

FrameView FrameView::i420(const std::uint8_t* y, int y_stride, const std::uint8_t* u, int u_stride,
                          const std::uint8_t* v, int v_stride, int width, int height) {
  return view_of(PixelFormat::kI420, width, height, {y, u, v}, {y_stride, u_stride, v_stride});
}

void validate_frame(const FrameView& f) {
  // Built only on failure: validating a good frame must not allocate (it runs on every frame).
  const auto what = [&f] {
    return std::string(pixel_format_name(f.format)) + " frame " + std::to_string(f.width) + "x" +
           std::to_string(f.height);
  };
  if (f.width <= 0 || f.height <= 0 || f.width > 32768 || f.height > 32768)
    throw Error(ErrorCode::kInvalidArgument, what() + ": size out of range");
  const int planes = f.format == PixelFormat::kI420 ? 3 : f.format == PixelFormat::kNV12 ? 2 : 1;
  const int chroma_w = (f.width + 1) / 2;
  for (int p = 0; p < planes; ++p) {
    if (!f.planes[p]) throw Error(ErrorCode::kInvalidArgument, what() + ": plane " + std::to_string(p) + " is null");
    int min_stride = f.width * bytes_per_pixel(f.format);
    if (p > 0) min_stride = f.format == PixelFormat::kNV12 ? 2 * chroma_w : chroma_w;
    if (f.strides[p] < min_stride)
      throw Error(ErrorCode::kInvalidArgument, what() + ": plane " + std::to_string(p) + " stride " +
                                                   std::to_string(f.strides[p]) + " is below the " +
                                                   std::to_string(min_stride) + " bytes a row needs");
  }
}

}  // namespace deeplab
