#include "seg_engine.h"

namespace deeplab_gst {

SegEngine::SegEngine(const deeplab::ModelManifest& manifest, const deeplab::SegmenterOptions& options)
    : segmenter_(std::make_unique<deeplab::Segmenter>(manifest, options)) {}

SegEngine::SegEngine(const std::string& id, const deeplab::ModelManifest& manifest,
                     const deeplab::SegmenterOptions& options, const deeplab::BatchOptions& batch)
    : engine_(deeplab::shared_engine(id, manifest, options, batch)), stream_(engine_->open_stream()) {}

const deeplab::Segmentation& SegEngine::segment(const deeplab::FrameView& frame,
                                                const deeplab::SegmentRequest& request) {
  return stream_ ? stream_->segment(frame, request) : segmenter_->segment(frame, request);
}

void SegEngine::reset_stream() {
  if (stream_) stream_->reset_stream();
  else segmenter_->reset_stream();
}

void SegEngine::idle() {
  if (stream_) stream_->idle();
}

void SegEngine::set_crf_options(const deeplab::CrfOptions& crf) {
  if (stream_) stream_->set_crf_options(crf);
  else segmenter_->set_crf_options(crf);
}

const deeplab::StageTimes& SegEngine::last_times() const {
  return stream_ ? stream_->last_times() : segmenter_->last_times();
}

const deeplab::NetworkInfo& SegEngine::network() const { return stream_ ? stream_->network() : segmenter_->network(); }

deeplab::Device SegEngine::device() const { return stream_ ? stream_->device() : segmenter_->device(); }

}  // namespace deeplab_gst
