#include "cpu/cpu_frame_stages.h"

#include <omp.h>

#include <algorithm>

#include "cpu/kernel.h"
#include "deeplab/error.h"

namespace deeplab {

LogitsReader::LogitsReader(const CpuNetwork& net, bool nhwc) {
  const int out = net.output_value();
  const Value& v = net.graph().values[out];
  const LogitsAxes a = logits_axes(nhwc);
  const auto strides = net.strides(out);
  src_strides_ = strides;
  item_shape_ = v.shape;
  item_shape_[0] = 1;
  item_floats_ = static_cast<std::size_t>(v.shape[a.c] * v.shape[a.h] * v.shape[a.w]);
  dense_nhwc_ = strides[a.c] == 1 && strides[a.w] == v.shape[a.c] && strides[a.h] == v.shape[a.c] * v.shape[a.w];
  nhwc_strides_ = {0, 0, 0, 0};
  nhwc_strides_[a.c] = 1;
  nhwc_strides_[a.w] = v.shape[a.c];
  nhwc_strides_[a.h] = v.shape[a.c] * v.shape[a.w];
  nhwc_strides_[0] = static_cast<std::int64_t>(item_floats_);
  if (!dense_nhwc_) copy_.resize(item_floats_);
}

const float* LogitsReader::view(CpuNetwork& net, int item) {
  const int out = net.output_value();
  if (dense_nhwc_) return net.data(out) + item * src_strides_[0];
  copy(net, item, copy_.data());
  return copy_.data();
}

void LogitsReader::copy(CpuNetwork& net, int item, float* dst) const {
  const int out = net.output_value();
  const float* src = net.data(out) + item * src_strides_[0];
  if (dense_nhwc_) {
    std::copy(src, src + item_floats_, dst);
    return;
  }
  copy_strided(dst, nhwc_strides_, src, src_strides_, item_shape_);
}

CpuFrameStages::CpuFrameStages(const BackendSetup& setup, const InputTensorLayout& input, int threads)
    : setup_(setup), threads_(threads), preprocessor_(setup.manifest.input, input) {}

// OpenMP's thread count is a per-thread setting: a batching engine's stream runs on its caller's
// thread, which may never have set it, and the scratch buffers are sized for threads_.
void CpuFrameStages::preprocess(const FrameView& frame, float* input_item, StageTimes& times) {
  omp_set_num_threads(threads_);
  const auto start = CpuClock::now();
  preprocessor_.run(frame, input_item);
  times.preprocess_ms = ms_since(start);
}

void CpuFrameStages::finish(const FrameView& frame, const float* logits, const SegmentRequest& request,
                            Segmentation& out, StageTimes& times) {
  omp_set_num_threads(threads_);
  const auto post_start = CpuClock::now();
  prepare_output(frame.width, frame.height, out);
  if (crf_) {
    run_crf(frame, logits, out, times);
  } else {
    upsample_argmax(class_geometry_, logits, out.class_map.data(), scratch_.data());
    out.crf = CrfFrameReport{};
    times.crf_ms = 0;
  }
  const auto probabilities_start = CpuClock::now();
  if (request.probabilities_width > 0 && request.probabilities_height > 0) {
    prepare_probabilities(request.probabilities_width, request.probabilities_height, out);
    upsample_softmax(prob_geometry_, logits, out.probabilities.data(), scratch_.data());
  } else {
    out.probabilities_width = out.probabilities_height = 0;
  }
  times.postprocess_ms = crf_ ? ms_since(probabilities_start) : ms_since(post_start);
}

void CpuFrameStages::set_crf(const CrfOptions& options) {
  validate_crf_options(options);
  crf_.reset();
  if (options.mode != CrfMode::kOff) crf_ = std::make_unique<crf::CrfStage>(options, threads_);
}

void CpuFrameStages::reset_crf() {
  if (crf_) crf_->reset();
}

// The class-map geometry for this frame size (kept until the size changes) and `out` sized for it.
void CpuFrameStages::prepare_output(int width, int height, Segmentation& out) {
  if (width != class_width_ || height != class_height_) {
    class_width_ = class_height_ = -1;  // until the geometry is in place
    class_geometry_ = setup_.geometry.to(width, height);
    scratch_.resize(std::max(scratch_.size(), resample_scratch_floats(class_geometry_, threads_)));
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

void CpuFrameStages::prepare_probabilities(int width, int height, Segmentation& out) {
  if (width != prob_width_ || height != prob_height_) {
    prob_width_ = prob_height_ = -1;
    prob_geometry_ = setup_.geometry.to(width, height);
    scratch_.resize(std::max(scratch_.size(), resample_scratch_floats(prob_geometry_, threads_)));
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
void CpuFrameStages::run_crf(const FrameView& frame, const float* logits, Segmentation& out, StageTimes& times) {
  const auto crf_start = CpuClock::now();
  if (!crf_->prepared_for(frame.width, frame.height)) {
    const CrfWorkingSize size = crf_working_size(frame.width, frame.height, crf_->options());
    crf_->prepare(frame.width, frame.height, setup_.info.num_classes, setup_.geometry.to(size.width, size.height));
  }
  out.crf = crf_->run(frame, logits, out.class_map.data());
  times.crf_ms = ms_since(crf_start);
}

}  // namespace deeplab
