// The planes of a frame in each pixel format: how many, and the bytes and rows each one holds
// (chroma of 4:2:0 rounds up, as GStreamer's). Plain C++: used to size and copy device frames.
#pragma once

#include "deeplab/frame.h"

namespace deeplab::cuda {

struct PlaneSize {
  int row_bytes = 0;  // bytes of pixel data per row (the minimum stride)
  int rows = 0;
};

int plane_count(PixelFormat format);
// Plane `plane` (0 .. plane_count - 1) of a width x height frame.
PlaneSize plane_size(PixelFormat format, int width, int height, int plane);

}  // namespace deeplab::cuda
