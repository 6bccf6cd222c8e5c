#include "crf_stage_emulation.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "crf/crf_stage.h"
#include "cuda/crf/crf_stage_steps.h"
#include "kernel_emulation.h"

namespace deeplab::test {

using namespace deeplab::cuda;

EmulatedCrfStage::EmulatedCrfStage(const CrfOptions& options, MeanField mean_field)
    : options_(options), mean_field_(std::move(mean_field)) {
  validate_crf_options(options_);
}

void EmulatedCrfStage::prepare(int frame_width, int frame_height, int classes, const ResampleGeometry& to_working) {
  const CrfWorkingSize size = crf_working_size(frame_width, frame_height, options_);
  width_ = size.width;
  height_ = size.height;
  position_scale_ = size.position_scale;
  classes_ = classes;
  to_working_ = to_working;
  to_frame_ = crf::crf_to_frame_geometry(width_, height_, classes, frame_width, frame_height);
  // CudaPostprocess's plans (default shared-memory budget: staged or direct as on the device).
  working_plan_ = make_upsample_plan(to_working_.cols, classes);
  frame_plan_ = make_upsample_plan(to_frame_.cols, classes);
  const std::size_t pixels = static_cast<std::size_t>(width_) * height_;
  rgb_float_.assign(pixels * 3, 0.0f);
  rgb_.assign(pixels * 3, 0);
  q_.assign(pixels * classes, 0.0f);
  frame_width_ = frame_width;
  frame_height_ = frame_height;
  have_state_ = false;
}

const CrfFrameReport& EmulatedCrfStage::run(const FrameView& frame, const float* logits, std::uint8_t* class_map) {
  const bool same_shape = have_state_;
  have_state_ = false;
  report_ = CrfFrameReport{};
  // The image: the pre-processing kernel with identity normalisation, then rgb_bytes_kernel.
  emulate_preprocess(frame, crf::crf_image_spec(), crf::crf_image_layout(width_, height_), rgb_float_.data());
  for (std::size_t k = 0; k < rgb_.size(); ++k) rgb_[k] = rgb_byte(rgb_float_[k]);
  const CrfImage image{rgb_.data(), width_, height_, 3 * width_};
  // The probabilities: the upsample-softmax kernel, pixel-major.
  probabilities_ = emulate_softmax(host_view(to_working_, working_plan_, logits), working_plan_, working_plan_.staged,
                                   SoftmaxLayout::kPixelMajor);
  int iterations = options_.mode == CrfMode::kOff ? 0 : options_.params.iterations;
  bool warm_start = false;
  if (options_.mode == CrfMode::kTemporal) {
    const ThumbnailGrid grid = thumbnail_grid(width_, height_, crf::LumaThumbnail::kCells);
    thumbnail_.cells_x = grid.cells_x;
    thumbnail_.cells_y = grid.cells_y;
    for (int c = 0; c < grid.cells_x * grid.cells_y; ++c) thumbnail_.luma[c] = luma_cell(rgb_.data(), 3 * width_, grid, c);
    const crf::TemporalStep step = schedule_.next(options_, same_shape, thumbnail_);
    report_.scene_cut = step.scene_cut;
    report_.keyframe = step.keyframe;
    warm_start = step.warm_start;
    iterations = step.iterations;
    if (warm_start)
      for (int i = 0; i < width_ * height_; ++i)
        warm_start_pixel(q_.data(), probabilities_.data(), classes_, crf::kWarmStartBlend, i);
  }
  mean_field_(image, probabilities_.data(), classes_, options_.params, iterations, warm_start, q_.data(),
              position_scale_);
  const std::vector<std::uint8_t> classes = emulate_argmax(host_view(to_frame_, frame_plan_, q_.data()), frame_plan_,
                                                           frame_plan_.staged);
  std::copy(classes.begin(), classes.end(), class_map);
  report_.iterations = iterations;
  report_.warm_started = warm_start;
  have_state_ = true;
  return report_;
}

}  // namespace deeplab::test
