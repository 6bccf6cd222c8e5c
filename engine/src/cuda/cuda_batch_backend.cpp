// The batching engine's CUDA backend (backend/batch_backend.h), the twin of the CPU one
// (cpu/cpu_batch_backend.cpp): a CudaNetwork for each of the engine's batch sizes (the powers of two
// below the batch size and the batch size itself), all planned in one device arena sized for the
// largest and all on one compute stream, so that only one runs at a time.
//
// Streams and events (each BatchStream is served on its own host thread):
//  - preprocess: the stream's frame is staged in its pinned memory, uploaded and pre-processed on
//    the stream's own CUDA stream into its slot of a device staging tensor (batch-size items), and
//    the stream waits for its CUDA stream before it returns: the scheduler counts the slot ready
//    only then, so run() never reads a slot that is still being written.
//  - run: on the compute stream, the staging items are copied into the chosen network's input,
//    the network runs, and the host waits for it (the thread that runs the batch waits for its own
//    frame anyway, infer_ms is then the network's real time, and the staging tensor is free again
//    when the scheduler lets the next batch's frames in).
//  - take_logits: the slot's logits are copied device to device into the stream's own buffer, on
//    the compute stream, and an event of the stream's is recorded after the copy. The next batch's
//    network is enqueued on the same compute stream after that copy, so it cannot overwrite the
//    logits before they are taken.
//  - finish: the stream's CUDA stream waits for that event (no host wait), then upsamples (or runs
//    the stream's own CUDA CRF) from its own logits, downloads, and waits for its own CUDA stream
//    only. It thus overlaps the next batch's network on the compute stream; its logits buffer is
//    written again only by its own next frame's take_logits, after this finish has returned.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "backend/batch_backend.h"
#include "backend/registry.h"
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

using namespace cuda;
using Clock = std::chrono::steady_clock;

// One network size: the network and how one item of its output becomes dense NHWC logits.
struct SizedNetwork {
  int batch = 0;
  std::unique_ptr<CudaNetwork> net;
  CopyParams item_logits;          // one item, the network's layout -> dense NHWC
  std::int64_t output_item = 0;    // floats between two items of the output
};

class CudaBatchBackend : public BatchBackend {
 public:
  explicit CudaBatchBackend(std::vector<PreparedModel> models);
  ~CudaBatchBackend() override { DEEPLAB_CUDA_CHECK_LOG(cudaStreamSynchronize(compute_.get())); }

  std::unique_ptr<BatchStream> open_stream() override;
  void run(int frames) override;
  int batch_size() const override { return setup_.info.batch; }
  std::size_t arena_bytes() const override { return arena_.bytes(); }
  std::string describe() const override;

  // For the streams: slot `slot` of the device staging input; slot `slot` of the last run's logits
  // copied into `dst` (dense NHWC, device) on the compute stream, `copied` recorded after it.
  float* input_item(int slot) { return staging_.data() + slot * item_floats_; }
  void copy_logits(int slot, float* dst, Event& copied);
  std::size_t logits_floats() const { return logits_floats_; }
  const BackendSetup& setup() const { return setup_; }
  const InputTensorLayout& input_layout() const { return input_; }

 private:
  void plan_logits(SizedNetwork& s) const;
  void check_input_items();

  BackendSetup setup_;
  bool nhwc_;
  Stream compute_;  // every network's, declared before them: they wait for it when destroyed
  DeviceBuffer<std::uint8_t> arena_;
  std::vector<SizedNetwork> sized_;  // ascending batch sizes
  const SizedNetwork* current_ = nullptr;
  DeviceBuffer<float> staging_;
  std::int64_t item_floats_ = 0;
  std::size_t logits_floats_ = 0;
  InputTensorLayout input_;
};

CudaBatchBackend::CudaBatchBackend(std::vector<PreparedModel> models)
    : setup_(models.back().setup), nhwc_(setup_.manifest.input.layout == TensorLayout::kNHWC) {
  std::size_t bytes = 0;
  for (const PreparedModel& m : models)
    bytes = std::max(bytes, CudaNetwork::arena_bytes_needed(m.graph, setup_.options.precision));
  arena_.allocate(bytes);
  CudaNetworkOptions options = network_options(setup_.options);
  options.arena = arena_.data();
  options.arena_bytes = arena_.bytes();
  for (PreparedModel& m : models) {
    SizedNetwork s;
    s.batch = m.setup.info.batch;
    s.net = std::make_unique<CudaNetwork>(std::move(m.graph), options, compute_.get());
    plan_logits(s);
    sized_.push_back(std::move(s));
  }
  const CudaNetwork& full = *sized_.back().net;
  input_ = deeplab::input_layout(setup_.info, full.strides(full.input_value()), nhwc_);
  check_input_items();
  staging_.allocate(static_cast<std::size_t>(item_floats_) * batch_size());
  DEEPLAB_CUDA_CHECK(cudaMemsetAsync(staging_.data(), 0, staging_.bytes(), compute_.get()));
  compute_.synchronize();
}

// One item of the network's logits, in whatever layout the plan gave them, to dense NHWC floats
// (the post-processing's and the CRF's layout); every item of a batch lies strides[0] apart.
void CudaBatchBackend::plan_logits(SizedNetwork& s) const {
  const int out = s.net->output_value();
  std::vector<std::int64_t> shape = s.net->graph().values[out].shape;
  const std::vector<std::int64_t> strides = s.net->strides(out);
  const LogitsAxes a = logits_axes(nhwc_);
  shape[0] = 1;
  std::vector<std::int64_t> dense(4);
  dense[a.c] = 1;
  dense[a.w] = shape[a.c];
  dense[a.h] = dense[a.w] * shape[a.w];
  dense[0] = dense[a.h] * shape[a.h];
  s.item_logits = make_copy_params(shape, strides, dense);
  s.output_item = strides[0];
  if (shape[a.c] != setup_.info.num_classes)
    throw Error(ErrorCode::kInternal, setup_.manifest.file + ": CUDA batch logits of " + shape_string(shape) +
                                          " for " + std::to_string(setup_.info.num_classes) + " classes");
}

// run() copies the staging items into a network's input as one block: every network's input must
// hold its items densely, one after another, in the full network's layout.
void CudaBatchBackend::check_input_items() {
  const CudaNetwork& full = *sized_.back().net;
  const std::vector<std::int64_t> want = full.strides(full.input_value());
  item_floats_ = full.graph().values[full.input_value()].element_count() / batch_size();
  for (const SizedNetwork& s : sized_) {
    std::vector<std::int64_t> strides = s.net->strides(s.net->input_value());
    const bool dense_items = strides[0] == item_floats_;
    strides[0] = want[0];
    if (!dense_items || strides != want)
      throw Error(ErrorCode::kUnsupported, setup_.manifest.file + ": the CUDA network input's layout at batch " +
                                               std::to_string(s.batch) + " does not hold its frames one after another");
  }
  const std::vector<std::int64_t>& logits = sized_.back().net->graph().values[full.output_value()].shape;
  logits_floats_ = static_cast<std::size_t>(full.graph().values[full.output_value()].element_count() / logits[0]);
}

void CudaBatchBackend::run(int frames) {
  // The smallest network that holds the frames (the last holds the full batch).
  const auto fits =
      std::find_if(sized_.begin(), sized_.end(), [&](const SizedNetwork& s) { return s.batch >= frames; });
  const SizedNetwork* chosen = fits != sized_.end() ? &*fits : &sized_.back();
  CudaNetwork& net = *chosen->net;
  const cudaStream_t stream = compute_.get();
  DEEPLAB_CUDA_CHECK(cudaMemcpyAsync(net.input(), staging_.data(), sizeof(float) * item_floats_ * frames,
                                     cudaMemcpyDeviceToDevice, stream));
  net.run();
  current_ = nullptr;  // until the network has run: a failed batch leaves no logits to take
  compute_.synchronize();
  current_ = chosen;
}

void CudaBatchBackend::copy_logits(int slot, float* dst, Event& copied) {
  if (!current_) throw Error(ErrorCode::kInternal, "CUDA take_logits() before a batch has run");
  const float* src = current_->net->output() + slot * current_->output_item;
  launch_copy(current_->item_logits, TensorType::kFloat, src, TensorType::kFloat, dst, compute_.get());
  copied.record(compute_.get());
}

std::string CudaBatchBackend::describe() const {
  std::string sizes;
  for (const SizedNetwork& s : sized_) sizes += (sizes.empty() ? "" : ", ") + std::to_string(s.batch);
  const CudaNetwork& full = *sized_.back().net;
  return std::string("cuda ") + tensor_type_name(full.type()) + ", batch " + std::to_string(batch_size()) +
         " (networks for " + sizes + " frames, one arena of " + std::to_string(arena_.bytes() >> 20) + " MiB), " +
         (full.graph_captured() ? "CUDA graphs" : "direct launches");
}

// One stream's stages on its own CUDA stream: frame staging and upload, pre-processing into its
// slot, its logits copy, its upsampling tables (for its frame size) and its CUDA CRF state.
class CudaBatchStream : public BatchStream {
 public:
  explicit CudaBatchStream(CudaBatchBackend& backend)
      : backend_(backend),
        pre_(backend.setup().manifest.input, backend.input_layout()),
        channels_(backend.setup().info.num_classes) {
    logits_.allocate(backend.logits_floats());
  }
  ~CudaBatchStream() override { DEEPLAB_CUDA_CHECK_LOG(cudaStreamSynchronize(stream_.get())); }

  void preprocess(const FrameView& frame, int slot, StageTimes& times) override {
    const auto start = Clock::now();
    const FrameView pinned = stage_frame(frame, staging_);
    frame_.upload(pinned, stream_.get());
    pre_.run(frame_.view(), backend_.input_item(slot), stream_.get());
    stream_.synchronize();  // the slot is written before the scheduler counts it ready (see above)
    times.upload_ms = 0;
    times.preprocess_ms = ms_since(start);
  }
  void take_logits(int slot) override { backend_.copy_logits(slot, logits_.data(), logits_taken_); }
  void finish(const FrameView& frame, const SegmentRequest& request, Segmentation& out, StageTimes& times) override;
  void set_crf(const CrfOptions& options) override {
    stream_.synchronize();  // no work of this stream may still use the stage being replaced
    crf_.reset();
    if (options.mode != CrfMode::kOff) crf_ = std::make_unique<CudaCrfStage>(options);
  }
  void reset_crf() override {
    if (crf_) crf_->reset();
  }

 private:
  void prepare(int width, int height, const SegmentRequest& request);
  void download(bool probabilities, Segmentation& out);

  CudaBatchBackend& backend_;
  Stream stream_;
  PinnedBuffer<std::uint8_t> staging_;
  DeviceFrame frame_;  // this stream's last frame on the device (the CRF reads it in finish)
  CudaPreprocess pre_;
  DeviceBuffer<float> logits_;  // this stream's slot of the last batch, dense NHWC
  Event logits_taken_;
  CudaPostprocess post_, prob_post_;
  std::unique_ptr<CudaCrfStage> crf_;
  DeviceBuffer<std::uint8_t> classes_;
  PinnedBuffer<std::uint8_t> host_classes_;
  DeviceBuffer<float> probs_;
  PinnedBuffer<float> host_probs_;
  int channels_ = 0, width_ = -1, height_ = -1, prob_width_ = -1, prob_height_ = -1;
};

// Tables and buffers for this frame size and the probabilities asked for; rewritten on this
// stream's CUDA stream, whose previous frame's work is done (finish waits for it).
void CudaBatchStream::prepare(int width, int height, const SegmentRequest& request) {
  const LogitsGeometry& geometry = backend_.setup().geometry;
  if (width != width_ || height != height_) {
    width_ = height_ = -1;  // until the new tables are in place
    post_.prepare(geometry.to(width, height), stream_.get());
    width_ = width;
    height_ = height;
  }
  if (crf_ && !crf_->prepared_for(width, height)) {
    const CrfWorkingSize size = crf_working_size(width, height, crf_->options());
    crf_->prepare(width, height, channels_, geometry.to(size.width, size.height), stream_.get());
  }
  const std::size_t pixels = static_cast<std::size_t>(width) * height;
  classes_.reserve(pixels);
  host_classes_.reserve(pixels);
  const int pw = request.probabilities_width, ph = request.probabilities_height;
  if (pw <= 0 || ph <= 0) return;
  if (pw != prob_width_ || ph != prob_height_) {
    prob_width_ = prob_height_ = -1;
    prob_post_.prepare(geometry.to(pw, ph), stream_.get());
    prob_width_ = pw;
    prob_height_ = ph;
  }
  probs_.reserve(static_cast<std::size_t>(pw) * ph * channels_);
  host_probs_.reserve(static_cast<std::size_t>(pw) * ph * channels_);
}

void CudaBatchStream::finish(const FrameView& frame, const SegmentRequest& request, Segmentation& out,
                             StageTimes& times) {
  const auto start = Clock::now();
  const cudaStream_t stream = stream_.get();
  const bool probabilities = request.probabilities_width > 0 && request.probabilities_height > 0;
  prepare(frame.width, frame.height, request);
  DEEPLAB_CUDA_CHECK(cudaStreamWaitEvent(stream, logits_taken_.get(), 0));
  out.crf = CrfFrameReport{};
  if (crf_)
    out.crf = crf_->run(frame_.view(), logits_.data(), classes_.data(), stream);
  else
    post_.run(logits_.data(), classes_.data(), stream);
  if (probabilities) prob_post_.run_softmax(logits_.data(), probs_.data(), stream);
  download(probabilities, out);
  times.postprocess_ms = ms_since(start);
  times.crf_ms = crf_ ? times.postprocess_ms : 0.0;  // one wait covers both: the CRF's share is not split out
  if (crf_) out.crf.ms = times.crf_ms;
}

void CudaBatchStream::download(bool probabilities, Segmentation& out) {
  const cudaStream_t stream = stream_.get();
  const std::size_t pixels = static_cast<std::size_t>(width_) * height_;
  classes_.download(host_classes_.data(), pixels, stream);
  if (probabilities)
    probs_.download(host_probs_.data(), static_cast<std::size_t>(prob_width_) * prob_height_ * channels_, stream);
  stream_.synchronize();
  write_result(HostResult{host_classes_.data(), width_, height_, probabilities ? host_probs_.data() : nullptr,
                          prob_width_, prob_height_, channels_},
               out);
}

std::unique_ptr<BatchStream> CudaBatchBackend::open_stream() { return std::make_unique<CudaBatchStream>(*this); }

}  // namespace

std::unique_ptr<BatchBackend> make_cuda_batch_backend(std::vector<PreparedModel> models) {
  return std::make_unique<CudaBatchBackend>(std::move(models));
}

}  // namespace deeplab
