#include "appsink_output.h"

#include <gst/app/gstappsink.h>

#include <exception>

namespace deeplab::pipeline {

AppsinkOutput::~AppsinkOutput() {
  if (caps_) gst_caps_unref(caps_);
}

void AppsinkOutput::attach(GstElement* appsink) {
  GstAppSinkCallbacks callbacks = {};
  callbacks.new_sample = [](GstAppSink* sink, gpointer self) { return on_new_sample(GST_ELEMENT(sink), self); };
  gst_app_sink_set_callbacks(GST_APP_SINK(appsink), &callbacks, this, nullptr);
}

GstFlowReturn AppsinkOutput::on_new_sample(GstElement* appsink, gpointer self) {
  GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(appsink));
  if (!sample) return GST_FLOW_FLUSHING;
  const GstFlowReturn result = static_cast<AppsinkOutput*>(self)->deliver(appsink, sample);
  gst_sample_unref(sample);
  return result;
}

// The caps object changes only on renegotiation: the video info is parsed once per caps, not per frame.
bool AppsinkOutput::update_info(GstSample* sample) {
  GstCaps* caps = gst_sample_get_caps(sample);
  if (caps != caps_) {
    gst_caps_replace(&caps_, caps);
    info_valid_ = caps && gst_video_info_from_caps(&info_, caps);
  }
  return info_valid_;
}

void view_class_map(const GstDeeplabSegMeta* meta, ClassMapView& view) {
  const guint8* ids = nullptr;
  guint width = 0, height = 0, stride = 0, n = 0;
  if (!meta || !gst_deeplab_seg_meta_get_class_map(meta, &ids, &width, &height, &stride)) return;
  view.ids = ids;
  view.width = static_cast<int>(width);
  view.height = static_cast<int>(height);
  view.stride = static_cast<int>(stride);
  view.names = gst_deeplab_seg_meta_get_class_names(meta, &n);
  view.num_classes = static_cast<int>(n);
  view.palette = meta->classes ? meta->classes->palette : nullptr;
  view.model_width = static_cast<int>(meta->model_width);
  view.model_height = static_cast<int>(meta->model_height);
  view.probabilities = meta->probabilities;
  view.prob_width = static_cast<int>(meta->prob_width);
  view.prob_height = static_cast<int>(meta->prob_height);
}

GstFlowReturn AppsinkOutput::deliver(GstElement* appsink, GstSample* sample) {
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  if (!buffer) return GST_FLOW_OK;
  OutputFrame view;
  view.output = name_;
  view.index = delivered_.load();
  view.pts = GST_BUFFER_PTS(buffer);
  view.sample = sample;
  GstVideoFrame frame;
  const bool mapped = update_info(sample) && gst_video_frame_map(&frame, &info_, buffer, GST_MAP_READ);
  if (mapped) {
    view.format = gst_video_format_to_string(GST_VIDEO_FRAME_FORMAT(&frame));
    view.width = GST_VIDEO_FRAME_WIDTH(&frame);
    view.height = GST_VIDEO_FRAME_HEIGHT(&frame);
    view.n_planes = static_cast<int>(GST_VIDEO_FRAME_N_PLANES(&frame));
    for (int p = 0; p < view.n_planes && p < 4; ++p) {
      view.planes[p] = static_cast<const std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, p));
      view.strides[p] = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, p);
    }
  }
  view_class_map(gst_buffer_get_deeplab_seg_meta(buffer), view.class_map);
  GstFlowReturn result = GST_FLOW_OK;
  try {
    callback_(view);
  } catch (const std::exception& e) {
    // Reported on the bus as this sink's error: the runner stops and names the output.
    GError* error = g_error_new(GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED, "frame callback failed: %s", e.what());
    gst_element_post_message(appsink, gst_message_new_error(GST_OBJECT(appsink), error, nullptr));
    g_error_free(error);
    result = GST_FLOW_ERROR;
  } catch (...) {
    GError* error = g_error_new(GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED, "frame callback failed (not a std::exception)");
    gst_element_post_message(appsink, gst_message_new_error(GST_OBJECT(appsink), error, nullptr));
    g_error_free(error);
    result = GST_FLOW_ERROR;
  }
  if (mapped) gst_video_frame_unmap(&frame);
  delivered_.fetch_add(1);
  return result;
}

}  // namespace deeplab::pipeline
