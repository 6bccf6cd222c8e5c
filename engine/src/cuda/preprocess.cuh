// Frame -> network input on the GPU: the CUDA version of deeplab::Preprocessor::run
// (preprocess/preprocess.cpp), one thread per output pixel, results equal to the CPU's.
// Host-includable: declarations only.
#pragma once

#include <cuda_runtime_api.h>

#include "common/preprocess_pixel.h"
#include "deeplab/frame.h"
#include "preprocess/preprocess.h"

namespace deeplab::cuda {

using pixel::PreprocessTaps;

// Enqueues the pre-processing of `frame` into `dst` on `stream`.
//  frame: a validated FrameView whose planes are in device memory (any strides, any format);
//  taps:  device copies of make_taps(frame.width, layout.width, ...) (x*) and
//         make_taps(frame.height, layout.height, ...) (y*);
//  norm:  make_normalisation(spec) (mul/add per model channel, colour order);
//  dst:   device memory, written at y * row_stride + x * col_stride + c * channel_stride (floats)
//         for the layout.width x layout.height pixels; nothing else is touched.
// Throws deeplab::Error (kDevice) when the launch fails.
void launch_preprocess(const FrameView& frame, const PreprocessTaps& taps, const Normalisation& norm,
                       const InputTensorLayout& layout, float* dst, cudaStream_t stream);

}  // namespace deeplab::cuda
