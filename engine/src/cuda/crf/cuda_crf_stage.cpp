#include "cuda/crf/cuda_crf_stage.h"

#include <cstring>

#include "crf/crf_backend.h"
#include "crf/crf_stage.h"
#include "cuda/crf/crf_stage.cuh"
#include "deeplab/error.h"

namespace deeplab::cuda {

CudaCrfStage::CudaCrfStage(const CrfOptions& options) : options_(options) { validate_crf_options(options_); }

void CudaCrfStage::prepare(int frame_width, int frame_height, int classes, const ResampleGeometry& to_working,
                           cudaStream_t stream) {
  frame_width_ = frame_height_ = -1;  // until everything below is in place
  have_state_ = false;
  const CrfWorkingSize size = crf_working_size(frame_width, frame_height, options_);
  crf::check_lattice_ranges(size.width, size.height, options_.params, size.position_scale);
  width_ = size.width;
  height_ = size.height;
  position_scale_ = size.position_scale;
  if (to_working.rows.size() != height_ || to_working.cols.size() != width_ || to_working.channels != classes)
    throw Error(ErrorCode::kInternal, "CUDA CRF stage: logits geometry to " + std::to_string(to_working.cols.size()) +
                                          "x" + std::to_string(to_working.rows.size()) + " for a working size of " +
                                          std::to_string(width_) + "x" + std::to_string(height_));
  classes_ = classes;
  const std::size_t pixels = static_cast<std::size_t>(width_) * height_;
  to_rgb_ = std::make_unique<CudaPreprocess>(crf::crf_image_spec(), crf::crf_image_layout(width_, height_));
  to_rgb_->prepare(frame_width, frame_height, stream);
  to_working_.prepare(to_working, stream);
  to_frame_.prepare(crf::crf_to_frame_geometry(width_, height_, classes, frame_width, frame_height), stream);
  rgb_float_.reserve(pixels * 3);
  rgb_.reserve(pixels * 3);
  probabilities_.reserve(pixels * classes);
  q_.reserve(pixels * classes);
  grid_ = thumbnail_grid(width_, height_, crf::LumaThumbnail::kCells);
  luma_.reserve(crf::LumaThumbnail::kCells * crf::LumaThumbnail::kCells);
  host_luma_.reserve(crf::LumaThumbnail::kCells * crf::LumaThumbnail::kCells);
  frame_width_ = frame_width;
  frame_height_ = frame_height;
}

const CrfFrameReport& CudaCrfStage::run(const FrameView& frame, const float* logits, std::uint8_t* classes,
                                        cudaStream_t stream) {
  if (!prepared_for(frame.width, frame.height))
    throw Error(ErrorCode::kInternal, "CUDA CRF stage: not prepared for " + std::to_string(frame.width) + "x" +
                                          std::to_string(frame.height) + " frames");
  // As CrfStream: the state is invalid until this frame's Q is complete.
  const bool same_shape = have_state_;
  have_state_ = false;
  report_ = CrfFrameReport{};
  to_rgb_->run(frame, rgb_float_.data(), stream);
  launch_rgb_bytes(rgb_float_.data(), rgb_.data(), static_cast<std::int64_t>(width_) * height_ * 3, stream);
  const bool temporal = options_.mode == CrfMode::kTemporal;
  if (temporal) {
    launch_luma_thumbnail(rgb_.data(), 3 * width_, grid_, luma_.data(), stream);
    luma_.download(host_luma_.data(), static_cast<std::size_t>(grid_.cells_x) * grid_.cells_y, stream);
    thumbnail_ready_.record(stream);
  }
  // Enqueued before the temporal decision waits for the thumbnail: it runs meanwhile.
  to_working_.run_softmax(logits, probabilities_.data(), stream, SoftmaxLayout::kPixelMajor);
  bool warm_start = false;
  const int iterations = iterations_and_warm_start(same_shape, warm_start, stream);
  const CrfImage image{rgb_.data(), width_, height_, 3 * width_};
  crf_.infer_device(image, probabilities_.data(), classes_, options_.params, iterations, warm_start, q_.data(),
                    position_scale_, stream);
  to_frame_.run(q_.data(), classes, stream);
  report_.iterations = iterations;
  report_.warm_started = warm_start;
  have_state_ = true;
  return report_;
}

// CrfStream::process's choice: full iterations, or (temporal mode) what the schedule decides from
// this frame's thumbnail; a warm start blends the new probabilities into the previous Q first.
int CudaCrfStage::iterations_and_warm_start(bool same_shape, bool& warm_start, cudaStream_t stream) {
  warm_start = false;
  if (options_.mode == CrfMode::kOff) return 0;
  if (options_.mode == CrfMode::kFull) return options_.params.iterations;
  thumbnail_ready_.synchronize();
  thumbnail_.cells_x = grid_.cells_x;
  thumbnail_.cells_y = grid_.cells_y;
  std::memcpy(thumbnail_.luma.data(), host_luma_.data(),
              static_cast<std::size_t>(grid_.cells_x) * grid_.cells_y * sizeof(float));
  const crf::TemporalStep step = schedule_.next(options_, same_shape, thumbnail_);
  report_.scene_cut = step.scene_cut;
  report_.keyframe = step.keyframe;
  warm_start = step.warm_start;
  if (warm_start) launch_warm_start(q_.data(), probabilities_.data(), width_ * height_, classes_, crf::kWarmStartBlend, stream);
  return step.iterations;
}

std::size_t CudaCrfStage::device_bytes() const {
  return crf_.device_bytes() + rgb_float_.bytes() + probabilities_.bytes() + q_.bytes() + luma_.bytes() + rgb_.bytes();
}

}  // namespace deeplab::cuda
