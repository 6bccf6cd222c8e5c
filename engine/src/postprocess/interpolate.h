// Separable resampling of NHWC (channels-innermost) float images, shared by the network's Resize
// op and the post-processing that upsamples logits to the frame: both go through the same
// row routines, so a class map computed by upsample_argmax() equals, bit for bit, the argmax of
// what the model's own final Resize would have produced at the same size.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/attrs.h"

namespace deeplab {

// For each output coordinate along one axis: the two source indices and the weight of the second.
// Nearest sampling uses index0 only (weight1 = 0, index1 = index0).
struct AxisSampling {
  std::vector<int> index0, index1;
  std::vector<float> weight1;
  int size() const { return static_cast<int>(index0.size()); }
};

// `scale` is output/input as the model states it (ONNX Resize/Upsample semantics).
AxisSampling make_axis_sampling(int in_size, int out_size, float scale, ResizeAttrs::Mode mode,
                                ResizeAttrs::Coord coord, ResizeAttrs::NearestRounding rounding);

struct ResampleGeometry {
  int in_h = 0, in_w = 0, channels = 0;
  AxisSampling rows, cols;
  ResizeAttrs::Mode mode = ResizeAttrs::kLinear;
};

ResampleGeometry make_resample_geometry(int in_h, int in_w, int channels, int out_h, int out_w,
                                        float scale_h, float scale_w, const ResizeAttrs& attrs);

// Blends the two source rows for output row y into `vrow` (in_w * channels floats).
void blend_rows(const ResampleGeometry& geo, const float* src, std::int64_t src_row_stride, int y,
                float* vrow);
// Output pixel x of a blended row: `channels` floats into `out`.
inline void blend_pixel(const ResampleGeometry& geo, const float* vrow, int x, float* out) {
  const int c = geo.channels;
  const float* a = vrow + static_cast<std::int64_t>(geo.cols.index0[x]) * c;
  if (geo.mode == ResizeAttrs::kNearest) {
    for (int k = 0; k < c; ++k) out[k] = a[k];
    return;
  }
  const float* b = vrow + static_cast<std::int64_t>(geo.cols.index1[x]) * c;
  const float w1 = geo.cols.weight1[x], w0 = 1.0f - w1;
  for (int k = 0; k < c; ++k) out[k] = a[k] * w0 + b[k] * w1;
}

// Resamples an NHWC image (batch 1). `scratch` holds threads * in_w * channels floats.
void resample_nhwc(const ResampleGeometry& geo, const float* src, float* dst, float* scratch);

// Upsamples NHWC logits and takes the per-pixel argmax (first maximum wins) into `classes`
// (out_h x out_w, row-major). Full-resolution logits are never stored. `scratch` holds
// threads * (in_w + 1) * channels floats.
void upsample_argmax(const ResampleGeometry& geo, const float* logits, std::uint8_t* classes,
                     float* scratch);

// Upsamples NHWC logits and writes softmax probabilities as `channels` planes of out_h*out_w.
void upsample_softmax(const ResampleGeometry& geo, const float* logits, float* planes, float* scratch);

// Floats of scratch the functions above need with `threads` OpenMP threads.
std::size_t resample_scratch_floats(const ResampleGeometry& geo, int threads);

}  // namespace deeplab
