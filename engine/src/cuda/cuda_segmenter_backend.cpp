// The Segmenter's CUDA pipeline (backend/segmenter_backend.h): pinned staging -> async upload ->
// CudaPreprocess -> CudaNetwork -> CudaPostprocess or the CRF stage -> class map (and
// probabilities) back to the host. Two slots let two frames be in flight: uploads on one stream,
// compute on the network's, downloads on a third, ordered by events (which also time each stage).
#include <chrono>

#include "backend/registry.h"
#include "backend/segmenter_backend.h"
#include "cuda/crf/cuda_crf_stage.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_network.h"
#include "cuda/cuda_postprocess.h"
#include "cuda/cuda_preprocess.h"
#include "cuda/cuda_resources.h"
#include "cuda/host_staging.h"
#include "cuda/net_kernels.cuh"
#include "deeplab/error.h"

namespace deeplab {
namespace {

using Clock = std::chrono::steady_clock;
using namespace cuda;

// One frame in flight: its pinned staging, device frame, class map (and probabilities) on the
// device and in pinned memory, and the events that order and time its stages.
struct Slot {
  PinnedBuffer<std::uint8_t> staging;
  DeviceFrame frame;
  DeviceBuffer<std::uint8_t> classes;
  PinnedBuffer<std::uint8_t> host_classes;
  DeviceBuffer<float> probs;
  PinnedBuffer<float> host_probs;
  std::vector<Event> events;
  int width = 0, height = 0, prob_width = 0, prob_height = 0;
  bool probabilities = false, with_crf = false;
  double staging_ms = 0;
  Clock::time_point submitted;
  CrfFrameReport crf;
};

// Events of a slot: upload stream 0 | upload | 1; compute stream (waits for 1) 2 | pre-processing
// | 3 | network | 4 | class map (argmax or CRF) | 5 | softmax | 6; download stream (waits for 6)
// 7 | class map (and probabilities) to pinned memory | 8.
constexpr int kEvents = 9;
constexpr int kSlots = 2;

class CudaSegmenterBackend : public SegmenterBackend {
 public:
  CudaSegmenterBackend(Graph graph, const BackendSetup& setup)
      : setup_(setup),
        nhwc_(setup.manifest.input.layout == TensorLayout::kNHWC),
        net_(std::move(graph), network_options(setup.options), stream_.get()),
        pre_(setup.manifest.input, input_layout(setup.info, net_.strides(net_.input_value()), nhwc_)) {
    for (Slot& slot : slots_)
      for (int k = 0; k < kEvents; ++k) slot.events.emplace_back(true);
    plan_logits();
  }
  // The buffers below the network are freed before its own destructor waits for the stream.
  ~CudaSegmenterBackend() override {
    for (const Stream* s : {&upload_, &stream_, &download_}) DEEPLAB_CUDA_CHECK_LOG(cudaStreamSynchronize(s->get()));
  }

  // Stages the frame in a free slot and enqueues its upload (upload stream), its compute (the
  // network's stream, after the upload) and its download (download stream, after the compute): the
  // upload of the next frame and the download of the previous one overlap this frame's compute.
  // `result` and `times` are written by collect().
  void submit(const FrameView& frame, const SegmentRequest& request, Segmentation&, StageTimes&) override {
    const auto wall = Clock::now();
    validate_frame(frame);
    if (pending_ == kSlots) throw Error(ErrorCode::kInternal, "CUDA submit() with every slot in flight");
    if (pending_ == 0) head_ = 0;  // frame after frame, segment() keeps to one slot's buffers
    Slot& slot = slots_[(head_ + pending_) % kSlots];
    slot.submitted = wall;
    prepare_frame(frame, slot);
    slot.probabilities = request.probabilities_width > 0 && request.probabilities_height > 0;
    if (slot.probabilities) prepare_probabilities(request.probabilities_width, request.probabilities_height, slot);
    const cudaStream_t stream = stream_.get();
    const float* logits = enqueue_network(frame, slot);
    slot.with_crf = crf_ != nullptr;
    if (crf_) {
      slot.crf = crf_->run(slot.frame.view(), logits, slot.classes.data(), stream);
    } else {
      slot.crf = CrfFrameReport{};
      post_.run(logits, slot.classes.data(), stream);
    }
    slot.events[5].record(stream);
    if (slot.probabilities) prob_post_.run_softmax(logits, slot.probs.data(), stream);
    slot.events[6].record(stream);
    const cudaStream_t down = download_.get();
    DEEPLAB_CUDA_CHECK(cudaStreamWaitEvent(down, slot.events[6].get(), 0));
    slot.events[7].record(down);
    const std::size_t pixels = static_cast<std::size_t>(slot.width) * slot.height;
    slot.classes.download(slot.host_classes.data(), pixels, down);
    if (slot.probabilities)
      slot.probs.download(slot.host_probs.data(),
                          static_cast<std::size_t>(slot.prob_width) * slot.prob_height * channels_, down);
    slot.events[8].record(down);
    ++pending_;
  }

  // Waits for the oldest frame in flight and writes its class map (probabilities, CRF report) into
  // `result`. The frame leaves the pipeline even when its work failed (the error is thrown).
  void collect(Segmentation& result, StageTimes& times) override {
    if (pending_ == 0) throw Error(ErrorCode::kInternal, "CUDA collect() with no frame in flight");
    Slot& slot = slots_[head_];
    head_ = (head_ + 1) % kSlots;
    --pending_;
    slot.events[8].synchronize();
    const auto unstaging = Clock::now();
    write_result(HostResult{slot.host_classes.data(), slot.width, slot.height,
                            slot.probabilities ? slot.host_probs.data() : nullptr, slot.prob_width, slot.prob_height,
                            channels_},
                 result);
    const std::vector<Event>& e = slot.events;
    times.upload_ms = slot.staging_ms + Event::elapsed_ms(e[0], e[1]);
    times.preprocess_ms = Event::elapsed_ms(e[2], e[3]);
    times.infer_ms = Event::elapsed_ms(e[3], e[4]);
    // With the CRF, postprocess_ms is the probabilities' softmax only (as on the CPU).
    times.crf_ms = slot.with_crf ? Event::elapsed_ms(e[4], e[5]) : 0.0;
    times.postprocess_ms = Event::elapsed_ms(slot.with_crf ? e[5] : e[4], e[6]);
    times.download_ms = Event::elapsed_ms(e[7], e[8]) + ms_since(unstaging);
    times.total_ms = ms_since(slot.submitted);
    result.crf = slot.crf;
    if (slot.with_crf) result.crf.ms = times.crf_ms;
  }

  // The dense CRF on the device, right after the network (cuda/crf/cuda_crf_stage.h).
  void set_crf(const CrfOptions& options) override {
    validate_crf_options(options);
    stream_.synchronize();  // no frame's work may still use the stage being replaced
    crf_.reset();
    if (options.mode != CrfMode::kOff) crf_ = std::make_unique<CudaCrfStage>(options);
  }

  void reset_crf() override {
    if (crf_) crf_->reset();
  }

  const Graph& graph() const override { return net_.graph(); }
  std::vector<std::int64_t> strides(int value) const override { return net_.strides(value); }
  std::size_t arena_bytes() const override { return net_.arena_bytes(); }
  std::string describe() const override {
    return std::string("cuda ") + tensor_type_name(net_.type()) + ", " +
           (net_.graph_captured() ? "CUDA graph" : "direct launches") + ", " + std::to_string(net_.convolutions()) +
           " convs / " + std::to_string(net_.algorithm_searches()) + " keys searched here, arena " +
           std::to_string(net_.arena_bytes() >> 20) + " MiB, workspace " + std::to_string(net_.workspace_bytes() >> 20) +
           " MiB, parameters " + std::to_string(net_.parameter_bytes() >> 20) + " MiB";
  }

 private:
  // Stages the frame in the slot's pinned memory, uploads it on the upload stream and enqueues
  // pre-processing and the network on the compute stream once it is there (events 0..4); returns
  // the NHWC logits on the device (nothing has synchronised yet).
  const float* enqueue_network(const FrameView& frame, Slot& slot) {
    const cudaStream_t stream = stream_.get(), up = upload_.get();
    const auto staging = Clock::now();
    const FrameView pinned = stage_frame(frame, slot.staging);
    slot.staging_ms = ms_since(staging);
    slot.events[0].record(up);
    slot.frame.upload(pinned, up);
    slot.events[1].record(up);
    DEEPLAB_CUDA_CHECK(cudaStreamWaitEvent(stream, slot.events[1].get(), 0));
    slot.events[2].record(stream);
    pre_.run(slot.frame.view(), net_.input(), stream);
    slot.events[3].record(stream);
    net_.run();
    slot.events[4].record(stream);
    return logits_nhwc(stream);
  }

  // The post-processing reads dense NHWC float logits; other layouts are copied into that first.
  // (describe_network() has checked their shape and class count.)
  void plan_logits() {
    const int out = net_.output_value();
    const Value& v = net_.graph().values[out];
    const LogitsAxes a = logits_axes(nhwc_);
    channels_ = setup_.info.num_classes;
    const auto strides = net_.strides(out);
    std::vector<std::int64_t> dense(4);
    dense[a.c] = 1;
    dense[a.w] = channels_;
    dense[a.h] = dense[a.w] * v.shape[a.w];
    dense[0] = dense[a.h] * v.shape[a.h];
    if (strides == dense) return;
    logits_copy_ = make_copy_params(v.shape, strides, dense);
    logits_.allocate(static_cast<std::size_t>(v.element_count()));
  }

  void check_geometry(const ResampleGeometry& geo) const {
    const Value& v = net_.graph().values[net_.output_value()];
    const LogitsAxes a = logits_axes(nhwc_);
    if (geo.channels != channels_ || geo.in_h != v.shape[a.h] || geo.in_w != v.shape[a.w])
      throw Error(ErrorCode::kInternal, "CUDA post-processing geometry for " + std::to_string(geo.in_h) + "x" +
                                            std::to_string(geo.in_w) + "x" + std::to_string(geo.channels) +
                                            " logits, the network yields " + shape_string(v.shape));
  }

  const float* logits_nhwc(cudaStream_t stream) {
    if (logits_.empty()) return net_.output();
    launch_copy(logits_copy_, TensorType::kFloat, net_.output(), TensorType::kFloat, logits_.data(), stream);
    return logits_.data();
  }

  // Tables for this frame size (kept until the size changes: rewriting them is ordered on the compute
  // stream after the frames in flight) and the slot's buffers (grown only for a larger frame).
  void prepare_frame(const FrameView& frame, Slot& slot) {
    const std::size_t pixels = static_cast<std::size_t>(frame.width) * frame.height;
    const bool crf_size_changes = crf_ && !crf_->prepared_for(frame.width, frame.height);
    // Tables may be reallocated: the frame in flight must be done with the old ones.
    if ((frame.width != frame_width_ || frame.height != frame_height_ || crf_size_changes) && pending_ > 0)
      stream_.synchronize();
    if (frame.width != frame_width_ || frame.height != frame_height_) {
      frame_width_ = frame_height_ = -1;  // until the new tables are in place
      const ResampleGeometry geo = setup_.geometry.to(frame.width, frame.height);
      check_geometry(geo);
      post_.prepare(geo, stream_.get());
      frame_width_ = frame.width;
      frame_height_ = frame.height;
    }
    if (crf_size_changes) {
      const CrfWorkingSize size = crf_working_size(frame.width, frame.height, crf_->options());
      const ResampleGeometry to_working = setup_.geometry.to(size.width, size.height);
      check_geometry(to_working);
      crf_->prepare(frame.width, frame.height, channels_, to_working, stream_.get());
    }
    slot.classes.reserve(pixels);
    slot.host_classes.reserve(pixels);
    slot.width = frame.width;
    slot.height = frame.height;
  }

  void prepare_probabilities(int width, int height, Slot& slot) {
    const std::size_t floats = static_cast<std::size_t>(width) * height * channels_;
    if (width != prob_width_ || height != prob_height_) {
      if (pending_ > 0) stream_.synchronize();
      prob_width_ = prob_height_ = -1;
      const ResampleGeometry geo = setup_.geometry.to(width, height);
      check_geometry(geo);
      prob_post_.prepare(geo, stream_.get());
      prob_width_ = width;
      prob_height_ = height;
    }
    slot.probs.reserve(floats);
    slot.host_probs.reserve(floats);
    slot.prob_width = width;
    slot.prob_height = height;
  }

  BackendSetup setup_;
  bool nhwc_;  // the model's input (and logits) are logically NHWC (TF exports), else NCHW
  Stream stream_;  // compute: pre-processing, the network, post-processing / CRF (the network's)
  Stream upload_, download_;
  CudaNetwork net_;
  CudaPreprocess pre_;
  CudaPostprocess post_, prob_post_;
  DeviceBuffer<float> logits_;
  CopyParams logits_copy_;
  int channels_ = 0;
  int frame_width_ = -1, frame_height_ = -1, prob_width_ = -1, prob_height_ = -1;
  Slot slots_[kSlots];
  int head_ = 0, pending_ = 0;  // the oldest frame in flight, and how many are
  std::unique_ptr<CudaCrfStage> crf_;
};

}  // namespace

std::unique_ptr<SegmenterBackend> make_cuda_segmenter_backend(Graph graph, const BackendSetup& setup) {
  return std::make_unique<CudaSegmenterBackend>(std::move(graph), setup);
}

}  // namespace deeplab
