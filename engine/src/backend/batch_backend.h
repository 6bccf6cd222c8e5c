// The seam under deeplab::BatchingEngine (deeplab/batching.h): one network loaded for a batch of
// frames, and per stream what runs around it. The engine's scheduler (batching.cpp) hands each
// waiting frame a slot, lets its stream pre-process into it on the stream's own thread, runs the
// network once for the batch, has every stream take its slot's logits, and lets each stream finish
// its frame (upsampling, CRF) on its own thread while the next batch gathers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/segmenter_backend.h"

namespace deeplab {

// One stream's pre- and post-processing: its own sampling tables, output geometry, logits copy and
// CRF temporal state. Allocates only when its frame size changes.
class BatchStream {
 public:
  virtual ~BatchStream() = default;
  // Into slot `slot` of the network input (the scheduler owns the slot until the batch has run).
  virtual void preprocess(const FrameView& frame, int slot, StageTimes& times) = 0;
  // Right after the batch's network call, on the thread that ran it: slot `slot`'s logits into
  // this stream's own buffer, so that the next batch may overwrite the network's.
  virtual void take_logits(int slot) = 0;
  virtual void finish(const FrameView& frame, const SegmentRequest& request, Segmentation& out, StageTimes& times) = 0;
  virtual void set_crf(const CrfOptions& options) = 0;
  virtual void reset_crf() = 0;
};

class BatchBackend {
 public:
  virtual ~BatchBackend() = default;
  virtual std::unique_ptr<BatchStream> open_stream() = 0;
  // The network over slots [0, frames): the backend may compute more slots (a network planned for
  // a larger batch) and ignore them.
  virtual void run(int frames) = 0;
  virtual int batch_size() const = 0;
  virtual std::size_t arena_bytes() const = 0;
  virtual std::string describe() const = 0;
  // Another input shape's networks (Aspect::kKeep: one set per frame aspect), from `models` prepared
  // for that shape as for make_batch_backend(). The engine runs one network call at a time, so a
  // backend may let them share its memory (the CPU backend: its activation arena); it then takes
  // `models`. Null (the default): nothing to share, the engine calls make_batch_backend() itself.
  virtual std::unique_ptr<BatchBackend> plan_shape(std::vector<PreparedModel>& models) {
    (void)models;
    return nullptr;
  }
};

// The batch backend of `device` from the registry, from the model prepared for several batch sizes
// (ascending; the last is the engine's batch size); Error(kUnsupported) naming the device where
// its backend runs one frame per network call only.
std::unique_ptr<BatchBackend> make_batch_backend(Device device, std::vector<PreparedModel> models);

}  // namespace deeplab
