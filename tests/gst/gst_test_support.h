// Helpers for the element tests: the tests' model, test images in any format and row stride, a
// class map read through the public meta API, pipelines run to EOS with their bus messages.
#pragma once

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <mutex>
#include <string>
#include <vector>

#include "gst/deeplab/deeplabmeta.h"

namespace gsttest {

// The tests' own manifest of the shared model (tests/gst/data/deeplabv3-mnv2-voc-test.yaml).
std::string model_manifest();
std::string shared_dir();
std::string work_dir();  // a scratch folder in the build tree
// "deeplabseg model=<tests' manifest> threads=N <extra>"
std::string seg(const std::string& extra = "");
constexpr int kThreads = 2;

// A decoded still from shared/media, scaled to width x height, as an RGB buffer in GStreamer's
// default layout (rows padded to 4 bytes).
struct Image {
  GstVideoInfo info;
  GstBuffer* buffer = nullptr;
  Image() = default;
  Image(const Image&) = delete;
  Image& operator=(const Image&) = delete;
  Image(Image&& o) noexcept : info(o.info), buffer(o.buffer) { o.buffer = nullptr; }
  ~Image();
};
Image load_image(const std::string& name, int width, int height);

// `image` converted to `format`; with pad > 0 every plane's rows are `pad` bytes longer than
// GStreamer's default and a GstVideoMeta describes the layout.
GstBuffer* make_frame(const Image& image, GstVideoFormat format, int pad = 0);
std::string caps_string(GstVideoFormat format, int width, int height, int fps = 30);

// The class map of `buffer`'s meta as tight rows (asserts via gtest that the meta is there).
struct ClassMap {
  int width = 0, height = 0;
  std::vector<guint8> ids;
  guint8 at(int x, int y) const { return ids[static_cast<std::size_t>(y) * width + x]; }
  double fraction(int cls) const;
};
ClassMap class_map_of(GstBuffer* buffer);

// A pipeline run to EOS, an ERROR or the timeout, with what its bus said.
struct RunResult {
  bool eos = false;
  bool state_change_failed = false;
  std::vector<std::string> errors;    // "message | debug"
  std::vector<std::string> warnings;  // "message | debug"
  std::vector<std::string> error_sources;
  int qos_from_seg = 0;  // QoS messages posted by an element named "seg"
};
RunResult run_pipeline(GstElement* pipeline, GstClockTime timeout);
RunResult run_launch(const std::string& description, GstClockTime timeout);

// Collects, while installed, what deeplabseg logs: the CRF iterations of every frame (from the
// engine category's per-frame LOG line) and the number of model loads (deeplabseg's INFO line).
class SegLog {
 public:
  SegLog();
  ~SegLog();
  std::vector<int> iterations() const;
  int loads() const;
  int shared_engine_loads() const;  // the engine's "batching engine for" lines (deeplab/batching.h)

 private:
  static void log(GstDebugCategory* category, GstDebugLevel level, const gchar*, const gchar*, gint, GObject*,
                  GstDebugMessage* message, gpointer data);
  mutable std::mutex mutex_;
  std::vector<int> iterations_;
  int loads_ = 0;
  int shared_engine_loads_ = 0;
};

// Runs "videotestsrc num-buffers=FRAMES pattern=ball ! CHAIN ! fakesink" and expects the resident
// memory at the last frame to exceed that at frame `first` by at most slack_kib.
void expect_flat_memory(const std::string& chain, int first, int frames, long slack_kib);

// Resident set size of this process, KiB (VmRSS in /proc/self/status).
long rss_kib();

}  // namespace gsttest
