// Frame -> network input: colour conversion, bilinear resize (half-pixel centres, like OpenCV's
// INTER_LINEAR and PyTorch's align_corners=False), normalisation and layout, in one pass over the
// output. Sampling tables are rebuilt only when the frame size changes.
#pragma once

#include <cstdint>
#include <vector>

#include "deeplab/frame.h"
#include "deeplab/manifest.h"

namespace deeplab {

struct InputTensorLayout {
  int width = 0, height = 0;
  // Strides in floats of channel, row and column in the destination buffer.
  std::int64_t channel_stride = 1, row_stride = 0, col_stride = 3;
};

// value = pixel * mul[c] + add[c] per model channel c; to_bgr: the model wants B, G, R.
struct Normalisation {
  float mul[3] = {1, 1, 1};
  float add[3] = {0, 0, 0};
  bool to_bgr = false;
};
Normalisation make_normalisation(const InputSpec& spec);

class Preprocessor {
 public:
  Preprocessor(const InputSpec& spec, const InputTensorLayout& layout);
  void run(const FrameView& frame, float* dst);

 private:
  void prepare(int frame_width, int frame_height);

  InputTensorLayout layout_;
  Normalisation norm_;
  int frame_width_ = -1, frame_height_ = -1;
  std::vector<int> x0_, x1_, y0_, y1_;
  std::vector<float> wx_, wy_;
};

// Source sampling along one axis of the resize (half-pixel centres, edges clamp, coordinates in
// double): for each of `out` positions the two source indices and the weight of the second. The
// Preprocessor builds its tables with it; the CUDA pre-processing uploads the same tables.
void make_taps(int in, int out, std::vector<int>& i0, std::vector<int>& i1, std::vector<float>& w);

// Reference YUV -> RGB (BT.601, limited range), as OpenCV's COLOR_YUV2RGB_NV12/I420 compute it.
void yuv_to_rgb(int y, int u, int v, std::uint8_t rgb[3]);

}  // namespace deeplab
