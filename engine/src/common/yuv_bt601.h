// YUV -> RGB, BT.601 limited range in 20-bit fixed point: the arithmetic of deeplab::yuv_to_rgb
// (preprocess/preprocess.cpp, OpenCV's COLOR_YUV2RGB_NV12/I420), for kernels and host alike. The
// unit tests check the two agree on all 2^24 inputs.
#pragma once

#include "common/host_device.h"

namespace deeplab::pixel {

DEEPLAB_HOST_DEVICE inline int clamp_u8(int v) { return v < 0 ? 0 : v > 255 ? 255 : v; }

DEEPLAB_HOST_DEVICE inline void yuv_to_rgb_bt601(int y, int u, int v, int rgb[3]) {
  const int c = (y > 16 ? y - 16 : 0) * 1220542;
  const int d = u - 128, e = v - 128;
  constexpr int kRound = 1 << 19;
  rgb[0] = clamp_u8((c + 1673527 * e + kRound) >> 20);
  rgb[1] = clamp_u8((c - 409993 * d - 852492 * e + kRound) >> 20);
  rgb[2] = clamp_u8((c + 2116026 * d + kRound) >> 20);
}

}  // namespace deeplab::pixel
