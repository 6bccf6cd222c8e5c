// Frames from an `appsink` output to the frame callback: the sample's video frame mapped read-only and
// the class map of its GstDeeplabSegMeta, both without copies.
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "deeplab/pipeline.h"
#include "gst/deeplab/deeplabmeta.h"

namespace deeplab::pipeline {

class AppsinkOutput {
 public:
  AppsinkOutput(std::string name, const FrameCallback& callback) : name_(std::move(name)), callback_(callback) {}
  ~AppsinkOutput();
  AppsinkOutput(const AppsinkOutput&) = delete;
  AppsinkOutput& operator=(const AppsinkOutput&) = delete;

  // Installs the new-sample callback on `appsink`; this object must outlive the pipeline's run.
  void attach(GstElement* appsink);
  std::uint64_t delivered() const { return delivered_.load(); }

 private:
  static GstFlowReturn on_new_sample(GstElement* appsink, gpointer self);
  GstFlowReturn deliver(GstElement* appsink, GstSample* sample);
  bool update_info(GstSample* sample);

  std::string name_;
  const FrameCallback& callback_;
  GstCaps* caps_ = nullptr;  // the caps `info_` was read from (a new caps object = renegotiation)
  GstVideoInfo info_{};
  bool info_valid_ = false;
  std::atomic<std::uint64_t> delivered_{0};
};

// Fills `view` from `meta` (nullptr: leaves it empty). Pointers into the meta, no copies.
void view_class_map(const GstDeeplabSegMeta* meta, ClassMapView& view);

}  // namespace deeplab::pipeline
