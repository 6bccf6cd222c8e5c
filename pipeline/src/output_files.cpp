#include "output_files.h"

#include <gst/gst.h>

#include <system_error>

namespace deeplab::pipeline {
namespace fs = std::filesystem;

FileStamp file_stamp(const std::string& path) {
  std::error_code ec;
  FileStamp stamp;
  if (!fs::is_regular_file(path, ec)) return stamp;
  stamp.exists = true;
  stamp.time = fs::last_write_time(path, ec);
  stamp.size = fs::file_size(path, ec);
  return stamp;
}

namespace {

// A demuxer's video buffers, counted when they lie inside its segment: a player shows no frame
// outside it (an MP4's edit list ends the segment).
struct SegmentCount {
  GstSegment segment;
  std::uint64_t frames = 0;
};

GstPadProbeReturn count_in_segment(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* c = static_cast<SegmentCount*>(data);
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) == GST_EVENT_SEGMENT) gst_event_copy_segment(event, &c->segment);
    return GST_PAD_PROBE_OK;
  }
  const GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
  if (c->segment.format == GST_FORMAT_TIME && GST_BUFFER_PTS_IS_VALID(buffer)) {
    const GstClockTime start = GST_BUFFER_PTS(buffer);
    const GstClockTime stop = GST_BUFFER_DURATION_IS_VALID(buffer) ? start + GST_BUFFER_DURATION(buffer) : GST_CLOCK_TIME_NONE;
    if (!gst_segment_clip(&c->segment, GST_FORMAT_TIME, start, stop, nullptr, nullptr)) return GST_PAD_PROBE_OK;
  }
  ++c->frames;
  return GST_PAD_PROBE_OK;
}

// The video frames a finished MP4 or MKV file plays, counted by demuxing it (no decoding): what the
// muxer wrote, as players see it. An MP4's edit list can leave out a sample the muxer got (the last
// frame after a gap in the timestamps, as a decoder draining B-frames at an interrupt or at a cut in
// the input makes), so the encoder's count can be one too many. -1 if the file cannot be read to its end.
}  // namespace

std::int64_t count_written_frames(const std::string& path, const std::string& container) {
  GstElement* pipeline = gst_pipeline_new("count");
  GstElement* src = gst_element_factory_make("filesrc", nullptr);
  GstElement* demux = gst_element_factory_make(container == "mkv" ? "matroskademux" : "qtdemux", nullptr);
  GstElement* sink = gst_element_factory_make("fakesink", nullptr);
  if (!src || !demux || !sink) {
    for (GstElement* e : {src, demux, sink})
      if (e) gst_object_unref(e);
    gst_object_unref(pipeline);
    return -1;
  }
  g_object_set(src, "location", path.c_str(), nullptr);
  g_object_set(sink, "sync", FALSE, nullptr);
  gst_bin_add_many(GST_BIN(pipeline), src, demux, sink, nullptr);
  gst_element_link(src, demux);
  auto link_video = +[](GstElement*, GstPad* pad, gpointer sink) {
    if (std::string(GST_PAD_NAME(pad)).rfind("video_", 0) != 0) return;
    GstPad* sink_pad = gst_element_get_static_pad(GST_ELEMENT(sink), "sink");
    if (!gst_pad_is_linked(sink_pad)) gst_pad_link(pad, sink_pad);
    gst_object_unref(sink_pad);
  };
  g_signal_connect(demux, "pad-added", G_CALLBACK(link_video), sink);
  SegmentCount count;
  gst_segment_init(&count.segment, GST_FORMAT_UNDEFINED);
  GstPad* sink_pad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(sink_pad, static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                    count_in_segment, &count, nullptr);
  gst_object_unref(sink_pad);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* message =
      gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const bool complete = message && GST_MESSAGE_TYPE(message) == GST_MESSAGE_EOS;
  if (message) gst_message_unref(message);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return complete ? static_cast<std::int64_t>(count.frames) : -1;
}

}  // namespace deeplab::pipeline
