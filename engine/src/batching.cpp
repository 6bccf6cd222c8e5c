// deeplab::BatchingEngine (deeplab/batching.h): the scheduler that gathers the streams' frames into
// batches, and the process-wide registry of shared engines. The network and the per-stream stages
// are the backend's (backend/batch_backend.h).
//
// One mutex guards the batch being gathered: `reserved_` slots handed out, `ready_` of them
// pre-processed. A frame takes a slot (waiting while a batch runs: the input tensor is in use),
// pre-processes into it without the lock, marks it ready and waits for its own `done` flag. Any
// waiting thread runs the batch once every taken slot is ready and the batch is full, holds every
// open stream, or its timeout (from the first slot taken) has passed.
#include "deeplab/batching.h"

#include <chrono>
#include <condition_variable>
#include <exception>
#include <map>
#include <utility>
#include <vector>
#include <mutex>

#include "backend/batch_backend.h"
#include "backend/registry.h"
#include "network_loader.h"
#include "deeplab/log.h"

namespace deeplab {

namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

void validate_batch_options(const SegmenterOptions& options, const BatchOptions& batch) {
  if (batch.batch_size < 1 || batch.batch_size > kMaxBatch)
    throw Error(ErrorCode::kInvalidArgument, "batch size must be in 1.." + std::to_string(kMaxBatch) + ", got " +
                                                 std::to_string(batch.batch_size));
  if (batch.timeout_ms < 0 || batch.timeout_ms > kMaxBatchTimeoutMs)
    throw Error(ErrorCode::kInvalidArgument, "batch timeout must be in 0.." + std::to_string(kMaxBatchTimeoutMs) +
                                                 " ms, got " + std::to_string(batch.timeout_ms));
  if (options.aspect == Aspect::kKeep)
    throw Error(ErrorCode::kUnsupported, "the batching engine runs one input size for all its streams: aspect keep "
                                         "is not supported with a shared engine (use aspect stretch)");
}

// device cuda: the CUDA batch backend, refused like the Segmenter's (Error kDevice saying why) where
// there is no usable GPU or no CUDA network backend in this build, before the model is loaded.
// Anything else runs on the CPU (auto included: the shared engine does not fall back at load).
Device batch_device(Device requested) {
  if (requested != Device::kCuda) return Device::kCpu;
  std::string why;
  if (!cuda_device_available(&why) || !cuda_backend_built(&why))
    throw Error(ErrorCode::kDevice, "--device cuda (batching engine): " + why);
  return Device::kCuda;
}

// The batch sizes the backend plans networks for: the powers of two below the batch size and the
// batch size itself, so that a partial batch runs on at most twice its frames.
std::vector<int> network_batches(int batch_size) {
  std::vector<int> sizes;
  for (int size = 1; size < batch_size; size *= 2) sizes.push_back(size);
  sizes.push_back(batch_size);
  return sizes;
}

}  // namespace

// What a stream's frame waits on; written by the thread that runs its batch, under the mutex.
struct SlotRecord {
  BatchStream* stages = nullptr;
  bool done = false;
  std::exception_ptr error;
  double infer_ms = 0;
  int batch_frames = 0;
};

class BatchingEngine::Impl {
 public:
  Impl(const ModelManifest& manifest, const SegmenterOptions& options, const BatchOptions& batch)
      : manifest_(manifest), options_(options), batch_(batch) {
    validate_batch_options(options, batch);
    device_ = batch_device(options.device);
    check_model_sha256(manifest_);
    std::vector<PreparedModel> models =
        prepare_models(manifest_, options_, input_width(), input_height(), network_batches(batch.batch_size));
    info_ = models.back().setup.info;
    if (info_.batch != batch.batch_size)
      throw Error(ErrorCode::kUnsupported, manifest_.file + ": the network was planned for batch " +
                                               std::to_string(info_.batch) + ", not " + std::to_string(batch.batch_size));
    info_.node_count = static_cast<int>(models.back().graph.nodes.size());
    backend_ = make_batch_backend(device_, std::move(models));
    info_.arena_bytes = backend_->arena_bytes();
    log_message(LogLevel::kInfo, "batching engine for '" + manifest_.name + "': " + backend_->describe() +
                                     ", batch timeout " + std::to_string(batch.timeout_ms) + " ms");
    options_.crf = resolve_crf_options(options.crf, manifest_.crf);
    validate_crf_options(options_.crf);
  }

  // The input size asked for, else the manifest's: the batch is set in the input shape with it.
  int input_width() const { return options_.input_width > 0 ? options_.input_width : manifest_.input.width; }
  int input_height() const {
    const int height = options_.input_height > 0 ? options_.input_height : manifest_.input.height;
    if (input_width() <= 0 || height <= 0)
      throw Error(ErrorCode::kInvalidArgument, manifest_.name + ": the batching engine needs an input size (the "
                                                                "manifest has none; give input_width/input_height)");
    return height;
  }

  // Called by the stream's thread; returns the slot taken.
  int take_slot(SlotRecord& record) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !running_ && reserved_ < batch_.batch_size; });
    const int slot = reserved_++;
    if (slot == 0) first_ = Clock::now();
    record.done = false;
    record.error = nullptr;
    slots_[slot] = &record;
    return slot;
  }

  // The slot's frame is in the input (or, `failed`, not: its slot is computed and ignored); waits
  // until its batch has run, running it where this thread is the one to.
  void wait_for_batch(int slot, SlotRecord& record, bool failed) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (failed) slots_[slot] = nullptr;
    ++ready_;
    changed_.notify_all();
    while (!record.done && !failed) {
      if (batch_due()) {
        run_batch(lock);
      } else if (running_ || ready_ < reserved_) {
        changed_.wait(lock);
      } else {
        changed_.wait_until(lock, first_ + std::chrono::milliseconds(batch_.timeout_ms));
      }
    }
  }

  void stream_opened() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++open_streams_;
    ++active_streams_;
  }
  // `active`: the stream sends frames (counted for batch_due()); a closing stream is made idle first.
  void set_active(bool active) {
    std::lock_guard<std::mutex> lock(mutex_);
    active_streams_ += active ? 1 : -1;
    changed_.notify_all();  // a batch waiting for this stream may run now
  }
  void stream_closed() {
    std::lock_guard<std::mutex> lock(mutex_);
    --open_streams_;
  }
  int open_streams() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return open_streams_;
  }

  ModelManifest manifest_;
  SegmenterOptions options_;
  BatchOptions batch_;
  NetworkInfo info_;
  Device device_ = Device::kCpu;
  std::unique_ptr<BatchBackend> backend_;

 private:
  bool batch_due() const {
    if (running_ || reserved_ == 0 || ready_ < reserved_) return false;
    return reserved_ == batch_.batch_size || reserved_ >= active_streams_ ||
           Clock::now() >= first_ + std::chrono::milliseconds(batch_.timeout_ms);
  }

  // The network without the lock (the slots stay taken, so nobody writes the input); then every
  // frame of the batch takes its logits and is told.
  void run_batch(std::unique_lock<std::mutex>& lock) {
    running_ = true;
    const int frames = reserved_;
    lock.unlock();
    const auto start = Clock::now();
    std::exception_ptr error;
    try {
      backend_->run(frames);
      for (int s = 0; s < frames; ++s)
        if (slots_[s]) slots_[s]->stages->take_logits(s);
    } catch (...) {
      error = std::current_exception();  // every frame of this batch is told (rethrown there)
    }
    const double ms = ms_between(start, Clock::now());
    lock.lock();
    for (int s = 0; s < frames; ++s) {
      if (!slots_[s]) continue;
      *slots_[s] = SlotRecord{slots_[s]->stages, true, error, ms, frames};
      slots_[s] = nullptr;
    }
    reserved_ = ready_ = 0;
    running_ = false;
    changed_.notify_all();
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  SlotRecord* slots_[kMaxBatch] = {};
  int reserved_ = 0, ready_ = 0, open_streams_ = 0, active_streams_ = 0;
  bool running_ = false;
  Clock::time_point first_;
};

class EngineStream::Impl {
 public:
  explicit Impl(std::shared_ptr<BatchingEngine::Impl> engine)
      : engine_(std::move(engine)), stages_(engine_->backend_->open_stream()) {
    record_.stages = stages_.get();
    set_crf_options(engine_->options_.crf);
    result_.num_classes = engine_->info_.num_classes;
    engine_->stream_opened();
  }
  ~Impl() {
    idle();
    engine_->stream_closed();
  }

  void idle() {
    if (idle_) return;
    idle_ = true;
    engine_->set_active(false);
  }

  const Segmentation& segment(const FrameView& frame, const SegmentRequest& request) {
    validate_frame(frame);  // a bad frame is this stream's error, before it takes a slot
    if (idle_) {
      idle_ = false;
      engine_->set_active(true);
    }
    const auto start = Clock::now();
    const int slot = engine_->take_slot(record_);
    try {
      stages_->preprocess(frame, slot, times_);
    } catch (...) {
      engine_->wait_for_batch(slot, record_, true);
      throw;
    }
    engine_->wait_for_batch(slot, record_, false);
    if (record_.error) std::rethrow_exception(record_.error);
    times_.infer_ms = record_.infer_ms;
    stages_->finish(frame, request, result_, times_);
    times_.total_ms = ms_between(start, Clock::now());
    return result_;
  }

  void set_crf_options(const CrfOptions& requested) {
    const CrfOptions crf = resolve_crf_options(requested, engine_->manifest_.crf);
    validate_crf_options(crf);
    stages_->set_crf(crf);
    result_.crf = CrfFrameReport{};
  }

  std::shared_ptr<BatchingEngine::Impl> engine_;
  std::unique_ptr<BatchStream> stages_;
  SlotRecord record_;
  bool idle_ = false;
  Segmentation result_;
  StageTimes times_;
};

// ---- EngineStream ----
EngineStream::EngineStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EngineStream::~EngineStream() = default;
const Segmentation& EngineStream::segment(const FrameView& frame, const SegmentRequest& request) {
  return impl_->segment(frame, request);
}
void EngineStream::reset_stream() { impl_->stages_->reset_crf(); }
void EngineStream::idle() { impl_->idle(); }
void EngineStream::set_crf_options(const CrfOptions& crf) { impl_->set_crf_options(crf); }
const StageTimes& EngineStream::last_times() const { return impl_->times_; }
int EngineStream::last_batch_frames() const { return impl_->record_.batch_frames; }
const NetworkInfo& EngineStream::network() const { return impl_->engine_->info_; }
const ModelManifest& EngineStream::manifest() const { return impl_->engine_->manifest_; }
Device EngineStream::device() const { return impl_->engine_->device_; }

// ---- BatchingEngine ----
BatchingEngine::BatchingEngine(const ModelManifest& manifest, const SegmenterOptions& options,
                               const BatchOptions& batch)
    : impl_(std::make_shared<Impl>(manifest, options, batch)) {}
BatchingEngine::BatchingEngine(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
BatchingEngine::~BatchingEngine() = default;
std::unique_ptr<EngineStream> BatchingEngine::open_stream() {
  return std::make_unique<EngineStream>(std::make_unique<EngineStream::Impl>(impl_));
}
int BatchingEngine::open_streams() const { return impl_->open_streams(); }
const NetworkInfo& BatchingEngine::network() const { return impl_->info_; }
const ModelManifest& BatchingEngine::manifest() const { return impl_->manifest_; }
const SegmenterOptions& BatchingEngine::options() const { return impl_->options_; }
const BatchOptions& BatchingEngine::batch_options() const { return impl_->batch_; }
Device BatchingEngine::device() const { return impl_->device_; }

// ---- the registry ----
namespace {

// What makes two engines different, in words; empty when `engine` serves the request.
std::string engine_difference(const BatchingEngine::Impl& engine, const ModelManifest& manifest,
                              const SegmenterOptions& o, const BatchOptions& batch) {
  const SegmenterOptions& e = engine.options_;
  if (engine.manifest_.file != manifest.file) return "model " + engine.manifest_.file + " vs " + manifest.file;
  if (engine.batch_.batch_size != batch.batch_size)
    return "batch-size " + std::to_string(engine.batch_.batch_size) + " vs " + std::to_string(batch.batch_size);
  if (engine.batch_.timeout_ms != batch.timeout_ms)
    return "batch-timeout " + std::to_string(engine.batch_.timeout_ms) + " vs " + std::to_string(batch.timeout_ms);
  if (e.input_width != o.input_width || e.input_height != o.input_height)
    return "input size " + std::to_string(e.input_width) + "x" + std::to_string(e.input_height) + " vs " +
           std::to_string(o.input_width) + "x" + std::to_string(o.input_height);
  if (e.device != o.device || e.precision != o.precision) return "device or precision";
  if (e.threads != o.threads) return "threads " + std::to_string(e.threads) + " vs " + std::to_string(o.threads);
  if (e.keep_final_resize != o.keep_final_resize || e.aspect != o.aspect) return "aspect or final resize";
  return "";
}

std::mutex g_registry_mutex;
std::map<std::string, std::weak_ptr<BatchingEngine::Impl>>& registry() {
  static auto* engines = new std::map<std::string, std::weak_ptr<BatchingEngine::Impl>>;  // never destroyed:
  return *engines;  // streams may close after static destruction began
}

}  // namespace

std::shared_ptr<BatchingEngine> shared_engine(const std::string& id, const ModelManifest& manifest,
                                              const SegmenterOptions& options, const BatchOptions& batch) {
  if (id.empty()) throw Error(ErrorCode::kInvalidArgument, "shared_engine: the model-instance-id is empty");
  std::lock_guard<std::mutex> lock(g_registry_mutex);  // held while loading: a second caller waits for the first
  std::weak_ptr<BatchingEngine::Impl>& slot = registry()[id];
  if (std::shared_ptr<BatchingEngine::Impl> engine = slot.lock()) {
    const std::string difference = engine_difference(*engine, manifest, options, batch);
    if (!difference.empty())
      throw Error(ErrorCode::kInvalidArgument, "model-instance-id '" + id +
                                                   "' is already loaded with other settings (" + difference +
                                                   "); elements sharing an id must agree");
    return std::make_shared<BatchingEngine>(engine);
  }
  auto engine = std::make_shared<BatchingEngine::Impl>(manifest, options, batch);
  slot = engine;
  return std::make_shared<BatchingEngine>(engine);
}

}  // namespace deeplab
