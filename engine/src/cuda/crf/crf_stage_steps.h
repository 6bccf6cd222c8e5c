// Per-thread code of the CUDA Segmenter's CRF stage (cuda/crf/cuda_crf_stage.h), written once for
// the kernels (cuda/crf/crf_stage.cu) and the host: the unit tests run it on the CPU against the CPU
// stage (crf/crf_stage.cpp, crf/crf_stream.cpp, crf/scene_cut.cpp), which it mirrors operation by
// operation with one rounding each (host_device.h), so the GPU computes the CPU's bytes and floats.
#pragma once

#include <cstdint>

#include "cuda/host_device.h"

namespace deeplab::cuda {

// CrfStage::make_image's rounding of the pre-processing's 0..255 floats to a byte:
// clamp(v + 0.5, 0, 255), truncated.
DEEPLAB_HOST_DEVICE inline std::uint8_t rgb_byte(float v) {
  const float r = add_rn(v, 0.5f);
  return static_cast<std::uint8_t>(r < 0.0f ? 0.0f : (255.0f < r ? 255.0f : r));  // std::clamp's order
}

// The luma thumbnail's sampling (crf/scene_cut.h): every step-th row and column, cells of
// floor(coordinate * cells / size).
struct ThumbnailGrid {
  int width = 0, height = 0, cells_x = 0, cells_y = 0, step_x = 1, step_y = 1;
};

DEEPLAB_HOST_DEVICE inline ThumbnailGrid thumbnail_grid(int width, int height, int max_cells) {
  ThumbnailGrid g;
  g.width = width;
  g.height = height;
  g.cells_x = width < max_cells ? width : max_cells;
  g.cells_y = height < max_cells ? height : max_cells;
  g.step_x = width / 512 > 1 ? width / 512 : 1;
  g.step_y = height / 512 > 1 ? height / 512 : 1;
  return g;
}

// The first sampled coordinate (a multiple of step) whose cell is >= cell: ceil(cell * size / cells)
// rounded up to the step.
DEEPLAB_HOST_DEVICE inline int first_sample_of_cell(int cell, int size, int cells, int step) {
  const long long first = (static_cast<long long>(cell) * size + cells - 1) / cells;
  return static_cast<int>((first + step - 1) / step * step);
}

// Cell `cell` of make_luma_thumbnail(): its sampled pixels' BT.601 luma summed in the CPU's order
// (rows top to bottom, each row left to right), divided by 255 x their count. `rgb`: 3 bytes per
// pixel, `stride` bytes per row.
DEEPLAB_HOST_DEVICE inline float luma_cell(const std::uint8_t* rgb, int stride, const ThumbnailGrid& g, int cell) {
  const int cy = cell / g.cells_x, cx = cell % g.cells_x;
  const int x_begin = first_sample_of_cell(cx, g.width, g.cells_x, g.step_x);
  float sum = 0.0f;
  int count = 0;
  for (int y = first_sample_of_cell(cy, g.height, g.cells_y, g.step_y);
       y < g.height && static_cast<long long>(y) * g.cells_y / g.height == cy; y += g.step_y) {
    const std::uint8_t* row = rgb + static_cast<std::int64_t>(y) * stride;
    for (int x = x_begin; x < g.width && static_cast<long long>(x) * g.cells_x / g.width == cx; x += g.step_x) {
      const std::uint8_t* p = row + 3 * x;
      const float luma = add_rn(add_rn(mul_rn(0.299f, static_cast<float>(p[0])), mul_rn(0.587f, static_cast<float>(p[1]))),
                                mul_rn(0.114f, static_cast<float>(p[2])));
      sum = add_rn(sum, luma);
      ++count;
    }
  }
  return count ? div_rn(sum, mul_rn(255.0f, static_cast<float>(count))) : 0.0f;
}

// CrfStream's warm start of pixel i, in place: q = normalise((1 - blend) q + blend max(p, 1e-8)),
// the same steps as the CPU backend's load (crf/crf_cpu.cpp).
DEEPLAB_HOST_DEVICE inline void warm_start_pixel(float* q, const float* probabilities, int classes, float blend, int i) {
  const float keep = sub_rn(1.0f, blend);
  float* qi = q + static_cast<std::int64_t>(i) * classes;
  const float* p = probabilities + static_cast<std::int64_t>(i) * classes;
  float sum = 0.0f;
  for (int k = 0; k < classes; ++k) {
    qi[k] = add_rn(mul_rn(keep, qi[k]), mul_rn(blend, p[k] > 1e-8f ? p[k] : 1e-8f));
    sum = add_rn(sum, qi[k]);
  }
  const float inv = div_rn(1.0f, sum);
  for (int k = 0; k < classes; ++k) qi[k] = mul_rn(qi[k], inv);
}

}  // namespace deeplab::cuda
