// A non-owning view of one video frame in host memory, in any of the pixel formats GStreamer
// cameras and decoders produce, with arbitrary row strides.
#pragma once

#include <cstdint>

namespace deeplab {

enum class PixelFormat { kRGB, kBGR, kRGBA, kBGRA, kRGBx, kBGRx, kNV12, kI420 };

// Parses "RGB", "BGRx", "NV12", ... (GStreamer's names); throws deeplab::Error on an unknown name.
PixelFormat pixel_format_from_string(const char* name);
const char* pixel_format_name(PixelFormat format);

struct FrameView {
  PixelFormat format = PixelFormat::kRGB;
  int width = 0;
  int height = 0;
  // Packed formats use plane 0 only. NV12: Y, interleaved UV. I420: Y, U, V.
  const std::uint8_t* planes[3] = {nullptr, nullptr, nullptr};
  int strides[3] = {0, 0, 0};  // bytes per row of each plane

  static FrameView packed(PixelFormat format, const std::uint8_t* data, int width, int height,
                          int stride);
  static FrameView nv12(const std::uint8_t* y, int y_stride, const std::uint8_t* uv, int uv_stride,
                        int width, int height);
  static FrameView i420(const std::uint8_t* y, int y_stride, const std::uint8_t* u, int u_stride,
                        const std::uint8_t* v, int v_stride, int width, int height);
};

// Throws deeplab::Error (kInvalidArgument) naming what is wrong: size out of range, null plane,
// stride too small. Odd sizes of 4:2:0 formats are fine (chroma rounds up, as GStreamer's).
void validate_frame(const FrameView& frame);

}  // namespace deeplab
