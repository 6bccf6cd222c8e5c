#include "gst_test_support.h"

#include <gst/app/gstappsink.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <string>

namespace gsttest {

std::string model_manifest() { return DEEPLAB_GST_TEST_MODEL; }
std::string shared_dir() { return DEEPLAB_SHARED_DIR; }
std::string work_dir() { return DEEPLAB_GST_TEST_WORK_DIR; }

std::string seg(const std::string& extra) {
  return "deeplabseg name=seg model=" + model_manifest() + " threads=" + std::to_string(kThreads) + " " + extra;
}

Image::~Image() {
  if (buffer) gst_buffer_unref(buffer);
}

Image load_image(const std::string& name, int width, int height) {
  const std::string description = "filesrc location=" + shared_dir() + "/media/" + name +
                                  " ! decodebin ! videoconvert ! videoscale ! video/x-raw,format=RGB,width=" +
                                  std::to_string(width) + ",height=" + std::to_string(height) +
                                  " ! appsink name=sink sync=false";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  Image image;
  if (!pipeline || error) {
    ADD_FAILURE() << "cannot build " << description << ": " << (error ? error->message : "?");
    g_clear_error(&error);
    return image;
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 20 * GST_SECOND);
  if (sample) {
    gst_video_info_from_caps(&image.info, gst_sample_get_caps(sample));
    image.buffer = gst_buffer_copy_deep(gst_sample_get_buffer(sample));
    gst_sample_unref(sample);
  } else {
    ADD_FAILURE() << "no frame from " << description;
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return image;
}

// `image` converted to `format` in GStreamer's default layout.
static GstBuffer* convert(const Image& image, GstVideoFormat format, GstVideoInfo* out) {
  gst_video_info_set_format(out, format, GST_VIDEO_INFO_WIDTH(&image.info), GST_VIDEO_INFO_HEIGHT(&image.info));
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, out->size, nullptr);
  GstVideoInfo in_info = image.info;
  GstVideoFrame in_frame, out_frame;
  if (!gst_video_frame_map(&in_frame, &in_info, image.buffer, GST_MAP_READ) ||
      !gst_video_frame_map(&out_frame, out, buffer, GST_MAP_WRITE)) {
    ADD_FAILURE() << "cannot map frames";
    return buffer;
  }
  GstVideoConverter* converter = gst_video_converter_new(&in_info, out, nullptr);
  gst_video_converter_frame(converter, &in_frame, &out_frame);
  gst_video_converter_free(converter);
  gst_video_frame_unmap(&out_frame);
  gst_video_frame_unmap(&in_frame);
  return buffer;
}

GstBuffer* make_frame(const Image& image, GstVideoFormat format, int pad) {
  GstVideoInfo tight;
  GstBuffer* converted = convert(image, format, &tight);
  if (pad == 0) return converted;
  // Copy it plane by plane into rows `pad` bytes longer, the padding filled with junk, described by
  // a GstVideoMeta.
  GstVideoInfo padded = tight;
  gsize offset = 0;
  for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES(&padded); ++p) {
    padded.stride[p] += pad;
    padded.offset[p] = offset;
    int comp[GST_VIDEO_MAX_COMPONENTS];
    gst_video_format_info_component(padded.finfo, p, comp);
    offset += static_cast<gsize>(padded.stride[p]) * GST_VIDEO_INFO_COMP_HEIGHT(&padded, comp[0]);
  }
  padded.size = offset;
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, padded.size, nullptr);
  gst_buffer_memset(buffer, 0, 0xA5, padded.size);
  gst_buffer_add_video_meta_full(buffer, GST_VIDEO_FRAME_FLAG_NONE, format, GST_VIDEO_INFO_WIDTH(&padded),
                                 GST_VIDEO_INFO_HEIGHT(&padded), GST_VIDEO_INFO_N_PLANES(&padded), padded.offset,
                                 padded.stride);
  GstVideoFrame in_frame, out_frame;
  if (!gst_video_frame_map(&in_frame, &tight, converted, GST_MAP_READ) ||
      !gst_video_frame_map(&out_frame, &padded, buffer, GST_MAP_WRITE)) {
    ADD_FAILURE() << "cannot map frames";
  } else {
    EXPECT_TRUE(gst_video_frame_copy(&out_frame, &in_frame));
    EXPECT_EQ(GST_VIDEO_FRAME_PLANE_STRIDE(&out_frame, 0), GST_VIDEO_INFO_PLANE_STRIDE(&tight, 0) + pad);
    gst_video_frame_unmap(&out_frame);
    gst_video_frame_unmap(&in_frame);
  }
  gst_buffer_unref(converted);
  return buffer;
}

std::string caps_string(GstVideoFormat format, int width, int height, int fps) {
  return std::string("video/x-raw,format=") + gst_video_format_to_string(format) + ",width=" + std::to_string(width) +
         ",height=" + std::to_string(height) + ",framerate=" + std::to_string(fps) + "/1";
}

double ClassMap::fraction(int cls) const {
  if (ids.empty()) return 0;
  std::size_t n = 0;
  for (guint8 c : ids) n += c == cls;
  return static_cast<double>(n) / ids.size();
}

ClassMap class_map_of(GstBuffer* buffer) {
  ClassMap map;
  GstDeeplabSegMeta* meta = buffer ? gst_buffer_get_deeplab_seg_meta(buffer) : nullptr;
  EXPECT_NE(meta, nullptr) << "the buffer has no GstDeeplabSegMeta";
  if (!meta) return map;
  const guint8* data = nullptr;
  guint width = 0, height = 0, stride = 0;
  EXPECT_TRUE(gst_deeplab_seg_meta_get_class_map(meta, &data, &width, &height, &stride));
  EXPECT_GE(stride, width);
  map.width = static_cast<int>(width);
  map.height = static_cast<int>(height);
  map.ids.resize(static_cast<std::size_t>(width) * height);
  for (guint y = 0; y < height; ++y) std::memcpy(map.ids.data() + y * width, data + y * stride, width);
  return map;
}

RunResult run_pipeline(GstElement* pipeline, GstClockTime timeout) {
  RunResult result;
  GstBus* bus = gst_element_get_bus(pipeline);
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) result.state_change_failed = true;
  const GstClockTime deadline = gst_util_get_timestamp() + timeout;
  for (;;) {
    const GstClockTime now = gst_util_get_timestamp();
    if (now >= deadline) break;
    GstMessage* message = gst_bus_timed_pop(bus, deadline - now);
    if (!message) break;
    bool done = false;
    switch (GST_MESSAGE_TYPE(message)) {
      case GST_MESSAGE_EOS:
        result.eos = true;
        done = true;
        break;
      case GST_MESSAGE_ERROR:
      case GST_MESSAGE_WARNING: {
        GError* error = nullptr;
        gchar* debug = nullptr;
        const bool is_error = GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR;
        if (is_error) gst_message_parse_error(message, &error, &debug);
        else gst_message_parse_warning(message, &error, &debug);
        const std::string text = std::string(error->message) + " | " + (debug ? debug : "");
        (is_error ? result.errors : result.warnings).push_back(text);
        if (is_error) result.error_sources.push_back(GST_OBJECT_NAME(GST_MESSAGE_SRC(message)));
        g_clear_error(&error);
        g_free(debug);
        done = is_error;
        break;
      }
      case GST_MESSAGE_QOS:
        if (std::strcmp(GST_OBJECT_NAME(GST_MESSAGE_SRC(message)), "seg") == 0) ++result.qos_from_seg;
        break;
      default: break;
    }
    gst_message_unref(message);
    if (done) break;
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  return result;
}

RunResult run_launch(const std::string& description, GstClockTime timeout) {
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (!pipeline || error) {
    ADD_FAILURE() << "cannot build '" << description << "': " << (error ? error->message : "?");
    g_clear_error(&error);
    if (pipeline) gst_object_unref(pipeline);
    return {};
  }
  RunResult result = run_pipeline(pipeline, timeout);
  gst_object_unref(pipeline);
  return result;
}

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

SegLog::SegLog() {
  gst_debug_set_active(TRUE);
  gst_debug_set_threshold_for_name("deeplab", GST_LEVEL_LOG);
  gst_debug_set_threshold_for_name("deeplabseg", GST_LEVEL_INFO);
  gst_debug_remove_log_function(gst_debug_log_default);
  gst_debug_add_log_function(&SegLog::log, this, nullptr);
}

SegLog::~SegLog() {
  gst_debug_remove_log_function(&SegLog::log);
  gst_debug_add_log_function(gst_debug_log_default, nullptr, nullptr);
  gst_debug_set_threshold_for_name("deeplab", GST_LEVEL_NONE);
  gst_debug_set_threshold_for_name("deeplabseg", GST_LEVEL_NONE);
}

std::vector<int> SegLog::iterations() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return iterations_;
}

int SegLog::loads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return loads_;
}

int SegLog::shared_engine_loads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return shared_engine_loads_;
}

void SegLog::log(GstDebugCategory* category, GstDebugLevel level, const gchar*, const gchar*, gint, GObject*,
                 GstDebugMessage* message, gpointer data) {
  auto* self = static_cast<SegLog*>(data);
  const std::string name = gst_debug_category_get_name(category);
  const std::string text = gst_debug_message_get(message);
  static const std::regex frame_line("^frame [0-9]+x[0-9]+: .* crf [0-9.]+ ms \\(([0-9]+) iterations\\)");
  std::smatch m;
  std::lock_guard<std::mutex> lock(self->mutex_);
  if (level == GST_LEVEL_LOG && name == "deeplab" && std::regex_search(text, m, frame_line))
    self->iterations_.push_back(std::stoi(m[1]));
  if (level == GST_LEVEL_INFO && name == "deeplabseg" && text.rfind("loading model", 0) == 0) ++self->loads_;
  if (level == GST_LEVEL_INFO && name == "deeplab" && text.rfind("batching engine for", 0) == 0)
    ++self->shared_engine_loads_;
}

namespace {

// Counts the frames at the sink and samples the RSS at two of them.
struct RssProbe {
  int count = 0, first = 0, last = 0;
  long rss_first = 0, rss_last = 0;
};

GstPadProbeReturn count_and_measure(GstPad*, GstPadProbeInfo*, gpointer data) {
  auto* probe = static_cast<RssProbe*>(data);
  ++probe->count;
  if (probe->count == probe->first) probe->rss_first = rss_kib();
  if (probe->count == probe->last) probe->rss_last = rss_kib();
  return GST_PAD_PROBE_OK;
}

}  // namespace

void expect_flat_memory(const std::string& chain, int first, int frames, long slack_kib) {
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(
      ("videotestsrc num-buffers=" + std::to_string(frames) + " pattern=ball ! " + chain + " ! fakesink name=sink").c_str(),
      &error);
  ASSERT_NE(pipeline, nullptr) << (error ? error->message : "");
  ASSERT_TRUE(GST_IS_BIN(pipeline)) << "not a pipeline: " << chain;
  RssProbe probe;
  probe.first = first;
  probe.last = frames;
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  GstPad* pad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_and_measure, &probe, nullptr);
  gst_object_unref(pad);
  gst_object_unref(sink);
  const RunResult r = run_pipeline(pipeline, 600 * GST_SECOND);
  gst_object_unref(pipeline);
  ASSERT_TRUE(r.eos);
  ASSERT_EQ(probe.count, frames);
  std::printf("%s: RSS at frame %d: %ld KiB, at frame %d: %ld KiB (%+ld KiB)\n", chain.c_str(), first, probe.rss_first,
              frames, probe.rss_last, probe.rss_last - probe.rss_first);
  EXPECT_LE(probe.rss_last - probe.rss_first, slack_kib);
}

}  // namespace gsttest
