// Host-side API of the GPU pre-processing, for the Segmenter's CUDA path:
//
//   CudaPreprocess pre(manifest.input, layout);   // as Preprocessor(spec, layout)
//   DeviceFrame frame;
//   frame.upload(host_frame, stream);              // only if the frame is in host memory
//   pre.run(frame.view(), d_input, stream);        // enqueues; allocates nothing after the first frame
//
// Results equal Preprocessor::run's for the same frame (same taps, same arithmetic). A frame-size
// change rewrites the tables in place, ordered on the stream given: use one stream per instance.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "cuda/cuda_resources.h"
#include "common/preprocess_pixel.h"
#include "deeplab/frame.h"
#include "deeplab/manifest.h"
#include "preprocess/preprocess.h"

namespace deeplab::cuda {

class CudaPreprocess {
 public:
  CudaPreprocess(const InputSpec& spec, const InputTensorLayout& layout);

  // Builds the sampling tables for frames of this size (make_taps, as the Preprocessor) and uploads
  // them on `stream`. No-op when the size is unchanged; allocates only on the first call.
  void prepare(int frame_width, int frame_height, cudaStream_t stream);
  // Validates `frame` (planes in device memory) like Preprocessor::run, prepares for its size, and
  // enqueues the kernel writing `dst` (device memory, `layout`'s strides) on `stream`.
  void run(const FrameView& frame, float* dst, cudaStream_t stream);

  const InputTensorLayout& layout() const { return layout_; }
  const Normalisation& normalisation() const { return norm_; }

 private:
  InputTensorLayout layout_;
  Normalisation norm_;
  int frame_width_ = -1, frame_height_ = -1;
  DeviceBuffer<int> indices_;   // x0 | x1 | y0 | y1
  DeviceBuffer<float> weights_;  // wx | wy
  pixel::PreprocessTaps taps_;
};

// A frame's planes in device memory, rows packed tightly: upload() copies a host FrameView (any
// strides) plane by plane with cudaMemcpy2DAsync. The buffer grows only when a larger frame comes.
// From pageable host memory the copy is done when upload() returns; from pinned memory it overlaps.
class DeviceFrame {
 public:
  void upload(const FrameView& host, cudaStream_t stream);
  // The uploaded frame: same format and size, planes and strides in device memory.
  const FrameView& view() const { return view_; }

 private:
  DeviceBuffer<std::uint8_t> bytes_;
  FrameView view_;
};

}  // namespace deeplab::cuda
