// Host-side API of the GPU post-processing, for the Segmenter's CUDA path:
//
//   CudaPostprocess post;
//   post.prepare(make_resample_geometry(...), stream);   // once per geometry: uploads the tables
//   post.run(d_logits, d_classes, stream);               // per frame: one kernel, no allocation
//   post.run_softmax(d_logits, d_planes, stream);        // when probabilities are wanted
//
// The class map equals upsample_argmax()'s for identical logits; probabilities equal
// upsample_softmax()'s within expf's ulp. Logits are dense NHWC floats in device memory.
// prepare() rewrites the tables in place: call it on the stream that runs the kernels (or after
// that stream's work on the old tables has finished).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "cuda/cuda_resources.h"
#include "cuda/upsample_pixel.h"
#include "cuda/upsample_plan.h"
#include "postprocess/interpolate.h"

namespace deeplab::cuda {

class CudaPostprocess {
 public:
  // Plans the kernels (cuda/upsample_plan.h) and uploads geo's sampling tables on `stream`.
  // Allocates only when the tables outgrow what it holds. `max_shared_bytes` bounds the staged
  // kernels' shared memory (0 forces the direct kernels; the tests run both).
  void prepare(const ResampleGeometry& geo, cudaStream_t stream, std::size_t max_shared_bytes = kDefaultStagingBytes);
  // Enqueues the class map (out_h x out_w uint8; at most 256 classes) of `logits` into `classes`.
  void run(const float* logits, std::uint8_t* classes, cudaStream_t stream) const;
  // Enqueues channels planes of out_h x out_w probabilities into `planes` (kPixelMajor: out_h x
  // out_w pixels of `channels` probabilities, as the CRF reads them).
  void run_softmax(const float* logits, float* planes, cudaStream_t stream,
                   SoftmaxLayout layout = SoftmaxLayout::kPlanes) const;

  bool prepared() const { return prepared_; }
  const UpsamplePlan& plan() const { return plan_; }
  int out_width() const { return view_.out_w; }
  int out_height() const { return view_.out_h; }
  int channels() const { return view_.channels; }

 private:
  UpsampleView view_for(const float* logits) const;

  DeviceBuffer<int> indices_;    // row0 | row1 | col0 | col1 | span_begin | span_count
  DeviceBuffer<float> weights_;  // row_w1 | col_w1
  UpsampleView view_;
  UpsamplePlan plan_;
  bool prepared_ = false;
};

}  // namespace deeplab::cuda
