// deeplab::BatchingEngine — many streams, one loaded network, frames batched across streams.
//
//   deeplab::BatchOptions batch;                 // batch_size 4, timeout_ms 10
//   batch.batch_size = 4;
//   auto engine = deeplab::shared_engine("cams", manifest, options, batch);   // or make_shared<BatchingEngine>
//   std::unique_ptr<deeplab::EngineStream> cam0 = engine->open_stream();      // one per camera/thread
//   const deeplab::Segmentation& result = cam0->segment(frame);               // blocks, see below
//
// Each stream has its own pre-processing (any frame size and format), its own upsampling to its
// frame's size, its own results and its own dense-CRF temporal state; the network and its buffers
// are shared. segment() pre-processes the frame into a slot of the next batch and waits until the
// batch has run: the batch runs when it holds batch_size frames, when every open stream has a
// frame in it (idle streams not counted), or timeout_ms after its first frame came, whichever is first, so a stalled or
// finished stream never holds the others for longer than timeout_ms. The thread of one waiting
// stream runs the network; every stream then upsamples (and runs its CRF) on its own thread while
// the next batch gathers. A bad frame is refused to its own stream only; a failed network call is
// reported to every stream of that batch.
//
// Aspect::kKeep: each stream's network input follows its frame's aspect by the Segmenter's rule
// (the configured size's long side kept, the other side rounded to the output stride). The engine
// plans the networks of an input shape when a stream first sends a frame of it (a model tied to its
// own input size fails that stream's frame with the Segmenter's Error, the others go on) and keeps
// them while it lives; frames are batched per shape (a batch never mixes shapes, the streams of a
// shape count for "every open stream"), one network call runs at a time, and of the batches due the
// one whose first frame is oldest runs first: a stream alone in its shape waits at most its timeout
// and the batches due before it. A stream whose frames change shape (caps change) starts its
// temporal CRF afresh, as a Segmenter does when it re-plans.
//
// Streams are used each from one thread at a time (like a Segmenter); different streams from
// different threads at once. Closing (destroying) a stream while others run is safe. The CPU and
// the CUDA backend run batches (device cuda without a GPU: Error kDevice; the CUDA one has not run
// on a GPU yet, docs/gpu.md). Both backends plan networks for the powers of two below the batch
// size too; the CPU backend shares one import and one arena between every network of every shape
// (Aspect::kKeep plans a network set per input shape), so a partial batch runs on at most twice its
// frames. Steady state allocates nothing per frame.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "deeplab/segmenter.h"

namespace deeplab {

inline constexpr int kMaxBatch = 64;
inline constexpr int kMaxBatchTimeoutMs = 10000;

struct BatchOptions {
  int batch_size = 1;   // frames per network call, 1..kMaxBatch
  int timeout_ms = 10;  // the longest a batch waits to fill after its first frame, 0..kMaxBatchTimeoutMs
};

// What the engine ran for one network input shape (BatchingEngine::shape_stats()).
struct BatchShapeStats {
  int input_width = 0, input_height = 0;
  std::int64_t batches = 0;  // network calls
  std::int64_t frames = 0;   // frames in them (a batch holds frames of this shape only)
};

class EngineStream {
 public:
  ~EngineStream();  // closes the stream; the others go on
  EngineStream(const EngineStream&) = delete;
  EngineStream& operator=(const EngineStream&) = delete;

  // Segments one frame in the next batch; the reference stays valid until this stream's next call.
  const Segmentation& segment(const FrameView& frame, const SegmentRequest& request = {});
  // This stream's next frame starts the temporal CRF from scratch (seek, flush).
  void reset_stream();
  // This stream sends no frame for now (end of stream, paused): batches stop waiting for it. Its
  // next segment() counts it in again.
  void idle();
  // This stream's CRF options (validated; the model's crf: block applies as in the Segmenter).
  void set_crf_options(const CrfOptions& crf);

  // infer_ms: the batch's network call; total_ms includes the wait for the batch to gather.
  const StageTimes& last_times() const;
  int last_batch_frames() const;  // frames in the last network call this stream's frame was in
  // The network of this stream's last frame's shape (before its first frame: the engine's).
  const NetworkInfo& network() const;
  const ModelManifest& manifest() const;
  Device device() const;

  class Impl;
  explicit EngineStream(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

class BatchingEngine {
 public:
  // Loads the model once for options.input_width x input_height (0: the manifest's) and
  // batch.batch_size frames (Aspect::kKeep: the other shapes later, each from one more import). options.crf is each new stream's CRF. Throws Error naming what is wrong.
  BatchingEngine(const ModelManifest& manifest, const SegmenterOptions& options, const BatchOptions& batch);
  ~BatchingEngine();  // streams still open keep the network alive until they close
  BatchingEngine(const BatchingEngine&) = delete;
  BatchingEngine& operator=(const BatchingEngine&) = delete;

  std::unique_ptr<EngineStream> open_stream();
  int open_streams() const;
  // Per input shape planned (one with aspect stretch), in size order: batches and frames run.
  std::vector<BatchShapeStats> shape_stats() const;
  const NetworkInfo& network() const;  // the configured input size's network
  const ModelManifest& manifest() const;
  const SegmenterOptions& options() const;
  const BatchOptions& batch_options() const;
  Device device() const;

  class Impl;
  explicit BatchingEngine(std::shared_ptr<Impl> impl);  // another handle on the same engine

 private:
  std::shared_ptr<Impl> impl_;
};

// The process-wide engine named `id` (GStreamer's model-instance-id): made on the first call, the
// same one while any caller holds it, freed when the last holder (engine pointer or stream) lets go.
// A later call must name the same model file and the same network options and batch options
// (the CRF options may differ: they are per stream); otherwise Error(kInvalidArgument) naming the
// id and the difference.
std::shared_ptr<BatchingEngine> shared_engine(const std::string& id, const ModelManifest& manifest,
                                              const SegmenterOptions& options, const BatchOptions& batch);

}  // namespace deeplab
