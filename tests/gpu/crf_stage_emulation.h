// The CUDA Segmenter's CRF stage (cuda/crf/cuda_crf_stage.cpp) on the CPU: each of its kernels' per-
// thread code (pre-processing pixel, rgb_byte, pixel-major upsample softmax, luma_cell,
// warm_start_pixel, upsample argmax) run for every thread (kernel_emulation.h), the same
// crf::TemporalSchedule, in the stage's order. The mean field is a parameter: the CPU's
// (DenseCrf(kCpu): the whole stage must then give crf::CrfStage's results) or the GPU's emulation
// (EmulatedCrf: what the device computes).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "crf/scene_cut.h"
#include "crf/temporal_schedule.h"
#include "cuda/upsample_plan.h"
#include "deeplab/crf.h"
#include "deeplab/frame.h"
#include "postprocess/interpolate.h"

namespace deeplab::test {

class EmulatedCrfStage {
 public:
  // DenseCrf::infer's contract, host pointers.
  using MeanField = std::function<void(const CrfImage& image, const float* probabilities, int classes,
                                       const CrfParams& params, int iterations, bool warm_start, float* q,
                                       float position_scale)>;

  EmulatedCrfStage(const CrfOptions& options, MeanField mean_field);

  // CudaCrfStage::prepare.
  void prepare(int frame_width, int frame_height, int classes, const ResampleGeometry& to_working);
  // CudaCrfStage::run, `frame` and `logits` in host memory.
  const CrfFrameReport& run(const FrameView& frame, const float* logits, std::uint8_t* class_map);
  void reset() { have_state_ = false; }

  // This frame's intermediate results.
  const std::vector<std::uint8_t>& image() const { return rgb_; }
  const std::vector<float>& probabilities() const { return probabilities_; }
  const crf::LumaThumbnail& thumbnail() const { return thumbnail_; }
  int working_width() const { return width_; }
  int working_height() const { return height_; }

 private:
  CrfOptions options_;
  MeanField mean_field_;
  crf::TemporalSchedule schedule_;
  ResampleGeometry to_working_, to_frame_;
  cuda::UpsamplePlan working_plan_, frame_plan_;
  std::vector<float> rgb_float_, probabilities_, q_;
  std::vector<std::uint8_t> rgb_;
  crf::LumaThumbnail thumbnail_;
  int frame_width_ = -1, frame_height_ = -1, width_ = 0, height_ = 0, classes_ = 0;
  float position_scale_ = 1.0f;
  bool have_state_ = false;
  CrfFrameReport report_;
};

}  // namespace deeplab::test
