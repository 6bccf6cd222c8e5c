// deeplab::CrfStream: the temporal CRF. In temporal mode, a frame starts its mean field from the
// previous frame's converged Q and runs options.temporal_iterations passes; the first frame, a
// size or class-count change, reset(), a scene cut and every keyframe_interval-th frame start from
// the network's probabilities and run params.iterations (docs/crf.md, "Temporal reuse").
#include <chrono>
#include <utility>
#include <vector>

#include "crf/crf_backend.h"
#include "crf/scene_cut.h"
#include "crf/temporal_schedule.h"
#include "deeplab/crf.h"

namespace deeplab {

class CrfStream::Impl {
 public:
  Impl(const CrfOptions& options, Device device, int threads)
      : options_(options), backend_(crf::make_crf_backend(device, threads)) {
    validate_crf_options(options_);
  }

  const float* process(const CrfImage& image, const float* probabilities, int num_classes, float position_scale) {
    const auto start = std::chrono::steady_clock::now();
    crf::validate_crf_input(image, probabilities, num_classes, "CrfStream::process");
    const bool same_shape = have_state_ && image.width == width_ && image.height == height_ && num_classes == classes_;
    // Invalid until the CRF returns: an exception must not leave a half-updated Q to warm-start from.
    have_state_ = false;
    q_.resize(static_cast<std::size_t>(image.width) * image.height * num_classes);
    report_ = CrfFrameReport{};
    position_scale_ = position_scale;
    switch (options_.mode) {
      case CrfMode::kOff: run(image, probabilities, num_classes, 0, false); break;
      case CrfMode::kFull: run(image, probabilities, num_classes, options_.params.iterations, false); break;
      case CrfMode::kTemporal: temporal(image, probabilities, num_classes, same_shape); break;
    }
    width_ = image.width;
    height_ = image.height;
    classes_ = num_classes;
    have_state_ = true;
    report_.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return q_.data();
  }

  void reset() { have_state_ = false; }

  CrfOptions options_;
  CrfFrameReport report_;

 private:
  void run(const CrfImage& image, const float* probabilities, int num_classes, int iterations, bool warm) {
    crf::validate_infer_arguments("CrfStream::process", image, probabilities, num_classes, options_.params, iterations,
                                  q_.data(), position_scale_);
    backend_->infer(image, probabilities, num_classes, options_.params, iterations, warm, q_.data(), position_scale_,
                    warm ? crf::kWarmStartBlend : 0.0f);
    report_.iterations = iterations;
    report_.warm_started = warm;
  }

  void temporal(const CrfImage& image, const float* probabilities, int num_classes, bool same_shape) {
    crf::make_luma_thumbnail(image, thumbnail_);
    const crf::TemporalStep step = schedule_.next(options_, same_shape, thumbnail_);
    // q_ still holds the previous frame's converged Q: the backend blends the new probabilities into
    // it as it starts (crf::kWarmStartBlend).
    run(image, probabilities, num_classes, step.iterations, step.warm_start);
    report_.scene_cut = step.scene_cut;
    report_.keyframe = step.keyframe;
  }

  std::unique_ptr<crf::CrfBackend> backend_;
  std::vector<float> q_;
  crf::LumaThumbnail thumbnail_;
  crf::TemporalSchedule schedule_;
  int width_ = 0, height_ = 0, classes_ = 0;
  float position_scale_ = 1.0f;
  bool have_state_ = false;
};

CrfStream::CrfStream(const CrfOptions& options, Device device, int threads)
    : impl_(std::make_unique<Impl>(options, device, threads)) {}
CrfStream::~CrfStream() = default;
CrfStream::CrfStream(CrfStream&&) noexcept = default;
CrfStream& CrfStream::operator=(CrfStream&&) noexcept = default;

const float* CrfStream::process(const CrfImage& image, const float* probabilities, int num_classes) {
  return impl_->process(image, probabilities, num_classes, impl_->options_.scale);
}

const float* CrfStream::process(const CrfImage& image, const float* probabilities, int num_classes,
                                float position_scale) {
  return impl_->process(image, probabilities, num_classes, position_scale);
}
void CrfStream::reset() { impl_->reset(); }
const CrfOptions& CrfStream::options() const { return impl_->options_; }
const CrfFrameReport& CrfStream::last_report() const { return impl_->report_; }

}  // namespace deeplab
