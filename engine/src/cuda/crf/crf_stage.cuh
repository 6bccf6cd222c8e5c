// The kernels of the CUDA Segmenter's CRF stage around the mean field (cuda/crf/crf_stage_steps.h
// holds their per-thread code). Host-includable: declarations only; each launcher enqueues one
// kernel on `stream` and throws Error(kDevice) when it fails to launch.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "cuda/crf/crf_stage_steps.h"

namespace deeplab::cuda {

// bytes[k] = rgb_byte(rgb[k]) for k < count (the pre-processing's 0..255 floats to 8-bit RGB).
void launch_rgb_bytes(const float* rgb, std::uint8_t* bytes, std::int64_t count, cudaStream_t stream);

// luma[c] = luma_cell(rgb, stride, grid, c) for the grid's cells_x * cells_y cells.
void launch_luma_thumbnail(const std::uint8_t* rgb, int stride, const ThumbnailGrid& grid, float* luma,
                           cudaStream_t stream);

// warm_start_pixel(q, probabilities, classes, blend, i) for every pixel i < points.
void launch_warm_start(float* q, const float* probabilities, int points, int classes, float blend,
                       cudaStream_t stream);

}  // namespace deeplab::cuda
