// The Segmenter's CPU pipeline (backend/segmenter_backend.h): Preprocessor -> CpuNetwork (oneDNN)
// -> upsample+argmax of the logits to the frame (or the dense CRF stage) and, when asked, the
// softmax at the requested size. Synchronous: submit() does the whole frame, collect() has nothing
// left to do. Allocates only when the frame (or probability) size changes.
#include <omp.h>

#include <chrono>
#include <utility>

#include "backend/registry.h"
#include "backend/segmenter_backend.h"
#include "cpu/cpu_network.h"
#include "cpu/kernel.h"
#include "crf/crf_stage.h"
#include "deeplab/error.h"

namespace deeplab {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

class CpuSegmenterBackend : public SegmenterBackend {
 public:
  CpuSegmenterBackend(Graph graph, const BackendSetup& setup)
      : setup_(setup), net_(std::move(graph), setup.options.threads) {
    net_.set_profile(setup.options.profile);
    const bool nhwc = setup.manifest.input.layout == TensorLayout::kNHWC;
    preprocessor_ = std::make_unique<Preprocessor>(setup.manifest.input,
                                                   input_layout(setup.info, net_.strides(net_.input_value()), nhwc));
    plan_logits(nhwc);
  }

  void submit(const FrameView& frame, const SegmentRequest& request, Segmentation& out, StageTimes& times) override {
    const auto start = Clock::now();
    preprocessor_->run(frame, net_.data(net_.input_value()));
    times.preprocess_ms = ms_since(start);
    const auto infer_start = Clock::now();
    net_.run();
    times.infer_ms = ms_since(infer_start);
    const float* logits = logits_nhwc();
    const auto post_start = Clock::now();
    prepare_output(frame.width, frame.height, out);
    if (crf_) {
      run_crf(frame, logits, out, times);
    } else {
      upsample_argmax(class_geometry_, logits, out.class_map.data(), scratch_.data());
      out.crf = CrfFrameReport{};
      times.crf_ms = 0;
    }
    const auto probabilities_start = Clock::now();
    if (request.probabilities_width > 0 && request.probabilities_height > 0) {
      prepare_probabilities(request.probabilities_width, request.probabilities_height, out);
      upsample_softmax(prob_geometry_, logits, out.probabilities.data(), scratch_.data());
    } else {
      out.probabilities_width = out.probabilities_height = 0;
    }
    times.postprocess_ms = crf_ ? ms_since(probabilities_start) : ms_since(post_start);
    times.total_ms = ms_since(start);
  }

  void collect(Segmentation&, StageTimes&) override {}  // submit() did it all

  void set_crf(const CrfOptions& options) override {
    validate_crf_options(options);
    crf_.reset();
    if (options.mode != CrfMode::kOff) crf_ = std::make_unique<crf::CrfStage>(options, net_.threads());
  }

  void reset_crf() override {
    if (crf_) crf_->reset();
  }

  const Graph& graph() const override { return net_.graph(); }
  std::vector<std::int64_t> strides(int value) const override { return net_.strides(value); }
  std::size_t arena_bytes() const override { return net_.arena_bytes(); }
  std::string describe() const override { return "cpu, " + std::to_string(net_.threads()) + " threads"; }

 private:
  // The post-processing reads dense NHWC logits; other layouts are copied into that first.
  void plan_logits(bool nhwc) {
    const int out = net_.output_value();
    const Value& v = net_.graph().values[out];
    const LogitsAxes a = logits_axes(nhwc);
    const auto strides = net_.strides(out);
    logits_are_nhwc_ = strides[a.c] == 1 && strides[a.w] == v.shape[a.c];
    if (logits_are_nhwc_) return;
    nhwc_copy_.resize(static_cast<std::size_t>(v.element_count()));
    nhwc_strides_ = {0, 0, 0, 0};
    nhwc_strides_[a.c] = 1;
    nhwc_strides_[a.w] = v.shape[a.c];
    nhwc_strides_[a.h] = v.shape[a.c] * v.shape[a.w];
    nhwc_strides_[0] = nhwc_strides_[a.h] * v.shape[a.h];
  }

  const float* logits_nhwc() {
    const int out = net_.output_value();
    if (logits_are_nhwc_) return net_.data(out);
    copy_strided(nhwc_copy_.data(), nhwc_strides_, net_.data(out), net_.strides(out), net_.graph().values[out].shape);
    return nhwc_copy_.data();
  }

  // The class-map geometry for this frame size (kept until the size changes) and `out` sized for it.
  void prepare_output(int width, int height, Segmentation& out) {
    if (width != class_width_ || height != class_height_) {
      class_width_ = class_height_ = -1;  // until the geometry is in place
      class_geometry_ = setup_.geometry.to(width, height);
      scratch_.resize(std::max(scratch_.size(), resample_scratch_floats(class_geometry_, net_.threads())));
      class_width_ = width;
      class_height_ = height;
    }
    const std::size_t pixels = static_cast<std::size_t>(width) * height;
    if (out.width != width || out.height != height || out.class_map.size() != pixels) {
      out.width = width;
      out.height = height;
      out.class_map.assign(pixels, 0);
    }
    out.num_classes = setup_.info.num_classes;
  }

  void prepare_probabilities(int width, int height, Segmentation& out) {
    if (width != prob_width_ || height != prob_height_) {
      prob_width_ = prob_height_ = -1;
      prob_geometry_ = setup_.geometry.to(width, height);
      scratch_.resize(std::max(scratch_.size(), resample_scratch_floats(prob_geometry_, net_.threads())));
      prob_width_ = width;
      prob_height_ = height;
    }
    const std::size_t floats = static_cast<std::size_t>(width) * height * setup_.info.num_classes;
    if (out.probabilities.size() != floats) out.probabilities.assign(floats, 0.0f);
    out.probabilities_width = width;
    out.probabilities_height = height;
  }

  // The class map from the CRF (crf/crf_stage.h); the logits go to its working size with the same
  // geometry as to the frame.
  void run_crf(const FrameView& frame, const float* logits, Segmentation& out, StageTimes& times) {
    const auto crf_start = Clock::now();
    if (!crf_->prepared_for(frame.width, frame.height)) {
      const CrfWorkingSize size = crf_working_size(frame.width, frame.height, crf_->options());
      crf_->prepare(frame.width, frame.height, setup_.info.num_classes, setup_.geometry.to(size.width, size.height));
    }
    out.crf = crf_->run(frame, logits, out.class_map.data());
    times.crf_ms = ms_since(crf_start);
  }

  BackendSetup setup_;
  CpuNetwork net_;
  std::unique_ptr<Preprocessor> preprocessor_;
  std::unique_ptr<crf::CrfStage> crf_;
  bool logits_are_nhwc_ = true;
  std::vector<float> nhwc_copy_;
  std::vector<std::int64_t> nhwc_strides_;
  ResampleGeometry class_geometry_, prob_geometry_;
  int class_width_ = -1, class_height_ = -1, prob_width_ = -1, prob_height_ = -1;
  std::vector<float> scratch_;
};

std::unique_ptr<SegmenterBackend> make_cpu_segmenter_backend(Graph graph, const BackendSetup& setup) {
  return std::make_unique<CpuSegmenterBackend>(std::move(graph), setup);
}

}  // namespace

// Always usable: no probe.
BackendEntry cpu_backend_entry() {
  BackendEntry entry;
  entry.device = Device::kCpu;
  entry.name = "cpu";
  entry.make_segmenter = make_cpu_segmenter_backend;
  entry.make_crf = crf::make_cpu_crf_backend;
  return entry;
}

}  // namespace deeplab
