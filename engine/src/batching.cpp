// deeplab::BatchingEngine (deeplab/batching.h): the scheduler that gathers the streams' frames into
// batches, and the process-wide registry of shared engines. The network and the per-stream stages
// are the backend's (backend/batch_backend.h).
//
// Frames gather per network input shape (one with aspect stretch; with aspect keep one per frame
// aspect, planned when a stream first sends a frame of it): a batch never mixes shapes. One mutex
// guards every shape's batch being gathered: `reserved` slots handed out, `ready` of them
// pre-processed. A frame takes a slot of its shape (waiting while that shape's batch runs: its input
// tensor is in use), pre-processes into it without the lock, marks it ready and waits for its own
// `done` flag. Any waiting thread runs a batch once every taken slot is ready and the batch is
// full, holds every stream of its shape, or its timeout (from the first slot taken) has passed; one
// network call runs at a time, and of the batches due the one whose first frame is oldest runs
// first, so a shape's frames wait for their timeout and the batches due before them, never longer.
#include "deeplab/batching.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

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
  bool failed = false;  // its pre-processing failed: the slot is computed and ignored
  std::exception_ptr error;
  double infer_ms = 0;
  int batch_frames = 0;
};

// One network input size's networks and the batch gathering for it. `size`, `info` and `backend`
// are set before the engine lists it; the rest is guarded by the engine's mutex.
struct ShapeBatch {
  InputSize size;
  NetworkInfo info;
  std::unique_ptr<BatchBackend> backend;
  SlotRecord* slots[kMaxBatch] = {};
  int reserved = 0, ready = 0;
  int active_streams = 0;  // streams of this shape that send frames
  bool running = false;
  Clock::time_point first;  // when its first slot was taken
  std::int64_t batches = 0, frames = 0;
};

class BatchingEngine::Impl {
 public:
  Impl(const ModelManifest& manifest, const SegmenterOptions& options, const BatchOptions& batch)
      : manifest_(manifest), options_(options), batch_(batch) {
    validate_batch_options(options, batch);
    device_ = batch_device(options.device);
    check_model_sha256(manifest_);
    std::unique_ptr<ShapeBatch> base = plan_shape({input_width(), input_height()});
    info_ = base->info;
    stride_ = network_output_stride(info_);
    base_ = base.get();
    shapes_[base->size] = std::move(base);
    log_message(LogLevel::kInfo, "batching engine for '" + manifest_.name + "': " + base_->backend->describe() +
                                     ", batch timeout " + std::to_string(batch.timeout_ms) + " ms" +
                                     (keep_aspect() ? ", aspect keep (a network per input shape)" : ""));
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
  bool keep_aspect() const { return options_.aspect == Aspect::kKeep; }
  // The shape every stream starts in: the configured one (stretch), none until its first frame (keep).
  ShapeBatch* first_shape() { return keep_aspect() ? nullptr : base_; }

  // The shape of the network that runs `frame`, planned on first use (the first frame of an aspect
  // pays for it, as with a Segmenter). A shape that cannot be planned fails every frame that needs
  // it with the same Error, without planning it again.
  ShapeBatch& shape_for(const FrameView& frame) {
    if (!keep_aspect()) return *base_;
    const InputSize size = keep_aspect_input_size(base_->size, stride_, frame.width, frame.height);
    if (ShapeBatch* known = find_shape(frame, size)) return *known;
    std::lock_guard<std::mutex> planning(plan_mutex_);  // one plan at a time; batches go on meanwhile
    if (ShapeBatch* known = find_shape(frame, size)) return *known;
    std::unique_ptr<ShapeBatch> shape;
    try {
      shape = plan_shape(size);
    } catch (const Error& e) {
      std::lock_guard<std::mutex> lock(mutex_);
      failed_shapes_.emplace(size, e);
      throw shape_error(frame, size, e);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ShapeBatch& planned = *shape;
    shapes_[size] = std::move(shape);
    return planned;
  }

  // Called by the stream's thread; returns the slot taken in its shape's batch.
  int take_slot(ShapeBatch& shape, SlotRecord& record) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !shape.running && shape.reserved < batch_.batch_size; });
    const int slot = shape.reserved++;
    if (slot == 0) shape.first = Clock::now();
    record.done = false;
    record.failed = false;
    record.error = nullptr;
    shape.slots[slot] = &record;
    return slot;
  }

  // The slot's frame is in the input (or, `failed`, not: its slot is computed and ignored); waits
  // until its batch has run, running any batch that is due where this thread is the one to.
  void wait_for_batch(ShapeBatch& shape, SlotRecord& record, bool failed) {
    std::unique_lock<std::mutex> lock(mutex_);
    record.failed = failed;
    ++shape.ready;
    changed_.notify_all();
    while (!record.done) {
      if (ShapeBatch* due = next_due()) {
        run_batch(*due, lock);
        continue;
      }
      const Clock::time_point deadline = next_deadline();
      if (network_busy_ || deadline == Clock::time_point::max()) {
        changed_.wait(lock);  // told when the network is free or a slot is ready
      } else {
        changed_.wait_until(lock, deadline);
      }
    }
  }

  // A stream's frames move from shape `from` to `to` (null: no shape yet); `active`: it sends frames
  // (counted for batch_due()). A closing stream is made idle first.
  void move_stream(ShapeBatch* from, ShapeBatch* to, bool active) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (active) --active_in(from), ++active_in(to);
    changed_.notify_all();  // a batch waiting for this stream may run now
  }
  void set_active(ShapeBatch* shape, bool active) {
    std::lock_guard<std::mutex> lock(mutex_);
    active_in(shape) += active ? 1 : -1;
    changed_.notify_all();
  }
  void stream_opened(ShapeBatch* shape) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++open_streams_;
    ++active_in(shape);
  }
  void stream_closed() {
    std::lock_guard<std::mutex> lock(mutex_);
    --open_streams_;
  }
  int open_streams() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return open_streams_;
  }
  std::vector<BatchShapeStats> shape_stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<BatchShapeStats> stats;
    for (const auto& entry : shapes_) {
      const ShapeBatch& s = *entry.second;
      stats.push_back(BatchShapeStats{s.size.width, s.size.height, s.batches, s.frames});
    }
    return stats;
  }

  ModelManifest manifest_;
  SegmenterOptions options_;
  BatchOptions batch_;
  NetworkInfo info_;  // the configured input size's network
  Device device_ = Device::kCpu;

 private:
  // The networks for one input size: the first shape's backend from the registry, the others from
  // it (sharing its memory where the backend can).
  std::unique_ptr<ShapeBatch> plan_shape(InputSize size) {
    std::vector<PreparedModel> models =
        prepare_models(manifest_, options_, size.width, size.height, network_batches(batch_.batch_size));
    auto shape = std::make_unique<ShapeBatch>();
    shape->size = size;
    shape->info = models.back().setup.info;
    if (shape->info.batch != batch_.batch_size)
      throw Error(ErrorCode::kUnsupported, manifest_.file + ": the network was planned for batch " +
                                               std::to_string(shape->info.batch) + ", not " +
                                               std::to_string(batch_.batch_size));
    shape->info.node_count = static_cast<int>(models.back().graph.nodes.size());
    if (base_) shape->backend = base_->backend->plan_shape(models);
    if (!shape->backend) shape->backend = make_batch_backend(device_, std::move(models));
    shape->info.arena_bytes = shape->backend->arena_bytes();
    return shape;
  }

  // The planned shape `size`, null if none; throws the Error of a shape that could not be planned.
  ShapeBatch* find_shape(const FrameView& frame, InputSize size) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto failed = failed_shapes_.find(size);
    if (failed != failed_shapes_.end()) throw shape_error(frame, size, failed->second);
    const auto known = shapes_.find(size);
    return known == shapes_.end() ? nullptr : known->second.get();
  }

  static Error shape_error(const FrameView& frame, InputSize size, const Error& why) {
    return Error(why.code(), "aspect keep: a " + std::to_string(frame.width) + "x" + std::to_string(frame.height) +
                                 " frame needs network input " + std::to_string(size.width) + "x" +
                                 std::to_string(size.height) + ": " + why.what());
  }

  int& active_in(ShapeBatch* shape) { return shape ? shape->active_streams : unplaced_streams_; }

  // Full, or every stream that may send a frame of its shape has one in (a stream with no shape
  // yet may send one), or its timeout has passed; and the network is free.
  bool batch_due(const ShapeBatch& s, Clock::time_point now) const {
    if (network_busy_ || s.reserved == 0 || s.ready < s.reserved) return false;
    return s.reserved == batch_.batch_size || s.reserved >= s.active_streams + unplaced_streams_ ||
           now >= s.first + std::chrono::milliseconds(batch_.timeout_ms);
  }

  // Of the batches due, the one whose first frame came first: a shape's frames wait for the
  // batches already due, never for later ones of another shape.
  ShapeBatch* next_due() const {
    const Clock::time_point now = Clock::now();
    ShapeBatch* oldest = nullptr;
    for (const auto& entry : shapes_) {
      ShapeBatch* s = entry.second.get();
      if (batch_due(*s, now) && (!oldest || s->first < oldest->first)) oldest = s;
    }
    return oldest;
  }

  // The earliest timeout of a gathered batch (one with every taken slot ready).
  Clock::time_point next_deadline() const {
    Clock::time_point deadline = Clock::time_point::max();
    for (const auto& entry : shapes_) {
      const ShapeBatch& s = *entry.second;
      if (s.reserved > 0 && s.ready == s.reserved)
        deadline = std::min(deadline, s.first + std::chrono::milliseconds(batch_.timeout_ms));
    }
    return deadline;
  }

  // The network without the lock (the slots stay taken, so nobody writes the input); then every
  // frame of the batch takes its logits and is told.
  void run_batch(ShapeBatch& shape, std::unique_lock<std::mutex>& lock) {
    shape.running = network_busy_ = true;
    const int frames = shape.reserved;
    lock.unlock();
    const auto start = Clock::now();
    std::exception_ptr error;
    try {
      shape.backend->run(frames);
      for (int s = 0; s < frames; ++s)
        if (!shape.slots[s]->failed) shape.slots[s]->stages->take_logits(s);
    } catch (...) {
      error = std::current_exception();  // every frame of this batch is told (rethrown there)
    }
    const double ms = ms_between(start, Clock::now());
    lock.lock();
    for (int s = 0; s < frames; ++s) {
      SlotRecord& record = *shape.slots[s];
      record = SlotRecord{record.stages, true, record.failed, error, ms, frames};
      shape.slots[s] = nullptr;
    }
    shape.reserved = shape.ready = 0;
    ++shape.batches, shape.frames += frames;
    shape.running = network_busy_ = false;
    changed_.notify_all();
  }

  ShapeBatch* base_ = nullptr;  // the configured input size's
  int stride_ = 1;              // the network's output stride (Aspect::kKeep)
  mutable std::mutex mutex_;
  std::mutex plan_mutex_;
  std::condition_variable changed_;
  std::map<InputSize, std::unique_ptr<ShapeBatch>> shapes_;
  std::map<InputSize, Error> failed_shapes_;  // shapes that cannot be planned, and why
  int open_streams_ = 0, unplaced_streams_ = 0;
  bool network_busy_ = false;  // one network call at a time (the shapes share the CPU arena)
};

class EngineStream::Impl {
 public:
  explicit Impl(std::shared_ptr<BatchingEngine::Impl> engine)
      : engine_(std::move(engine)), shape_(engine_->first_shape()) {
    if (shape_) stages_ = shape_->backend->open_stream();
    record_.stages = stages_.get();
    set_crf_options(engine_->options_.crf);
    result_.num_classes = engine_->info_.num_classes;
    engine_->stream_opened(shape_);
  }
  ~Impl() {
    idle();
    engine_->stream_closed();
  }

  void idle() {
    if (idle_) return;
    idle_ = true;
    engine_->set_active(shape_, false);
  }

  const Segmentation& segment(const FrameView& frame, const SegmentRequest& request) {
    validate_frame(frame);  // a bad frame is this stream's error, before it takes a slot
    follow_shape(frame);
    if (idle_) {
      idle_ = false;
      engine_->set_active(shape_, true);
    }
    const auto start = Clock::now();
    const int slot = engine_->take_slot(*shape_, record_);
    try {
      stages_->preprocess(frame, slot, times_);
    } catch (...) {
      engine_->wait_for_batch(*shape_, record_, true);
      throw;
    }
    engine_->wait_for_batch(*shape_, record_, false);
    if (record_.error) std::rethrow_exception(record_.error);
    times_.infer_ms = record_.infer_ms;
    stages_->finish(frame, request, result_, times_);
    times_.total_ms = ms_between(start, Clock::now());
    return result_;
  }

  void set_crf_options(const CrfOptions& requested) {
    const CrfOptions crf = resolve_crf_options(requested, engine_->manifest_.crf);
    validate_crf_options(crf);
    if (stages_) stages_->set_crf(crf);
    crf_ = crf;
    result_.crf = CrfFrameReport{};
  }

  void reset_stream() {
    if (stages_) stages_->reset_crf();
  }

  const NetworkInfo& network() const { return shape_ ? shape_->info : engine_->info_; }

  std::shared_ptr<BatchingEngine::Impl> engine_;
  SlotRecord record_;
  StageTimes times_;

 private:
  // Aspect::kKeep: a frame of another shape moves the stream to that shape's batches, with stages
  // of that shape's network (the temporal CRF starts afresh, as a Segmenter's does on a re-plan).
  void follow_shape(const FrameView& frame) {
    ShapeBatch& shape = engine_->shape_for(frame);
    if (&shape == shape_) return;
    std::unique_ptr<BatchStream> stages = shape.backend->open_stream();
    stages->set_crf(crf_);
    engine_->move_stream(shape_, &shape, !idle_);
    shape_ = &shape;
    stages_ = std::move(stages);
    record_.stages = stages_.get();
    result_.crf = CrfFrameReport{};
  }

  ShapeBatch* shape_;  // the shape of this stream's frames (null: none yet)
  std::unique_ptr<BatchStream> stages_;
  CrfOptions crf_;
  bool idle_ = false;
  Segmentation result_;
};

// ---- EngineStream ----
EngineStream::EngineStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EngineStream::~EngineStream() = default;
const Segmentation& EngineStream::segment(const FrameView& frame, const SegmentRequest& request) {
  return impl_->segment(frame, request);
}
void EngineStream::reset_stream() { impl_->reset_stream(); }
void EngineStream::idle() { impl_->idle(); }
void EngineStream::set_crf_options(const CrfOptions& crf) { impl_->set_crf_options(crf); }
const StageTimes& EngineStream::last_times() const { return impl_->times_; }
int EngineStream::last_batch_frames() const { return impl_->record_.batch_frames; }
const NetworkInfo& EngineStream::network() const { return impl_->network(); }
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
std::vector<BatchShapeStats> BatchingEngine::shape_stats() const { return impl_->shape_stats(); }
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
