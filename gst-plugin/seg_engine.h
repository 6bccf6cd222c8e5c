// What a deeplabseg element segments with: a Segmenter of its own (no model-instance-id), or a
// stream of the process-wide BatchingEngine named by its model-instance-id (deeplab/batching.h),
// whose network and buffers the elements naming that id share. One interface for the element, so
// that its frame path does not care which.
#pragma once

#include <memory>
#include <string>

#include "deeplab/batching.h"
#include "deeplab/segmenter.h"

namespace deeplab_gst {

class SegEngine {
 public:
  // An engine of the element's own.
  SegEngine(const deeplab::ModelManifest& manifest, const deeplab::SegmenterOptions& options);
  // A stream of the shared engine `id` (made by the first element naming it).
  SegEngine(const std::string& id, const deeplab::ModelManifest& manifest, const deeplab::SegmenterOptions& options,
            const deeplab::BatchOptions& batch);

  const deeplab::Segmentation& segment(const deeplab::FrameView& frame, const deeplab::SegmentRequest& request);
  void reset_stream();
  // End of stream: a shared engine's batches stop waiting for this element (deeplab/batching.h).
  void idle();
  void set_crf_options(const deeplab::CrfOptions& crf);
  const deeplab::StageTimes& last_times() const;
  const deeplab::NetworkInfo& network() const;
  deeplab::Device device() const;
  bool shared() const { return stream_ != nullptr; }

 private:
  std::unique_ptr<deeplab::Segmenter> segmenter_;
  std::shared_ptr<deeplab::BatchingEngine> engine_;
  std::unique_ptr<deeplab::EngineStream> stream_;
};

}  // namespace deeplab_gst
