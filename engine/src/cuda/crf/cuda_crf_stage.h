// The dense CRF as a stage of the CUDA Segmenter: crf::CrfStage (crf/crf_stage.h) with every step on
// the device, from the device frame and the network's device logits to the device class map — no
// host round trip of the image, the probabilities or Q.
//
//   image          the frame as 8-bit RGB at the working size: the pre-processing kernel with
//                  identity normalisation (CrfStage's Preprocessor), then rgb_byte() (+0.5, clamp)
//   probabilities  the logits' softmax at the working size, pixel-major: the upsample-softmax
//                  kernel with the logits' own geometry (CrfStage: resample_nhwc, then softmax)
//   temporal       CrfStream's decisions (crf::TemporalSchedule) from a 32 x 32 luma thumbnail made
//                  on the device (1024 floats come to the host); the warm start blends the new
//                  probabilities into Q, which stays on the device between frames
//   mean field     cuda::CudaCrf::infer_device
//   class map      argmax of Q, upsampled bilinear (half-pixel) to the frame when the working size is
//                  smaller: the upsample-argmax kernel on Q
// Every operation rounds as the CPU's does (cuda/crf/crf_stage_steps.h), so the image, the
// thumbnails and the decisions are the CPU's exactly; the probabilities differ by expf's ulp and
// the mean field as docs/crf.md says. Buffers are planned per frame size: frames of an unchanged
// size allocate nothing.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>

#include "crf/scene_cut.h"
#include "crf/temporal_schedule.h"
#include "cuda/crf/crf_stage_steps.h"
#include "cuda/crf/cuda_crf.h"
#include "cuda/cuda_postprocess.h"
#include "cuda/cuda_preprocess.h"
#include "cuda/cuda_resources.h"
#include "deeplab/crf.h"
#include "deeplab/frame.h"
#include "postprocess/interpolate.h"

namespace deeplab::cuda {

class CudaCrfStage {
 public:
  // Validates `options` (validate_crf_options); throws Error(kDevice) without a usable GPU.
  explicit CudaCrfStage(const CrfOptions& options);

  bool prepared_for(int frame_width, int frame_height) const {
    return frame_width == frame_width_ && frame_height == frame_height_;
  }
  // Plans the buffers and tables for frames of this size; `to_working` is the logits' geometry
  // resampled to crf_working_size() of it. The next frame starts from scratch.
  void prepare(int frame_width, int frame_height, int classes, const ResampleGeometry& to_working,
               cudaStream_t stream);

  // `frame`: a validated frame in device memory (DeviceFrame::view()); `logits`: the network's dense
  // NHWC logits (device); writes frame_width x frame_height class ids to `classes` (device). Enqueued
  // on `stream`; waits for it when the temporal decision needs the thumbnail and once per lattice
  // build (CudaCrf).
  const CrfFrameReport& run(const FrameView& frame, const float* logits, std::uint8_t* classes, cudaStream_t stream);

  // The next frame starts from scratch (no warm start).
  void reset() { have_state_ = false; }
  const CrfOptions& options() const { return options_; }
  int working_width() const { return width_; }
  int working_height() const { return height_; }
  std::size_t device_bytes() const;

 private:
  int iterations_and_warm_start(bool same_shape, bool& warm_start, cudaStream_t stream);

  CrfOptions options_;
  CudaCrf crf_;
  crf::TemporalSchedule schedule_;
  std::unique_ptr<CudaPreprocess> to_rgb_;
  CudaPostprocess to_working_, to_frame_;
  DeviceBuffer<float> rgb_float_, probabilities_, q_, luma_;
  DeviceBuffer<std::uint8_t> rgb_;
  PinnedBuffer<float> host_luma_;
  Event thumbnail_ready_;
  ThumbnailGrid grid_;
  crf::LumaThumbnail thumbnail_;
  int frame_width_ = -1, frame_height_ = -1, width_ = 0, height_ = 0, classes_ = 0;
  float position_scale_ = 1.0f;
  bool have_state_ = false;
  CrfFrameReport report_;
};

}  // namespace deeplab::cuda
