// deeplabseg's dense CRF: the crf* properties (defaults and ranges as documented, bad values refused
// with a warning), the CRF on the real clip with the overlay (a meta on every frame, warm starts as
// configured), off vs full on a real still (different, mostly equal), changes while playing (no
// reload), resets of the temporal state at flushes, segments and caps changes, and state cycling and
// memory with the CRF on.
#include <gst/app/gstappsink.h>
#include <gst/check/gstharness.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <string>
#include <vector>

#include "gst_test_support.h"

using namespace gsttest;

namespace {

double agreement(const ClassMap& a, const ClassMap& b) {
  if (a.ids.size() != b.ids.size() || a.ids.empty()) return 0;
  std::size_t same = 0;
  for (std::size_t k = 0; k < a.ids.size(); ++k) same += a.ids[k] == b.ids[k];
  return static_cast<double>(same) / a.ids.size();
}

// Pushes `buffer` (transfer full) and returns the class map of the output (caps already set).
ClassMap push_and_map(GstHarness* h, GstBuffer* buffer) {
  GstBuffer* out = gst_harness_push_and_pull(h, buffer);
  EXPECT_NE(out, nullptr);
  if (!out) return {};
  ClassMap map = class_map_of(out);
  gst_buffer_unref(out);
  return map;
}

// Captures GLib warnings of one log domain (GObject's "value out of range").
class WarningCatcher {
 public:
  explicit WarningCatcher(const char* domain) : domain_(domain) {
    id_ = g_log_set_handler(domain, static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL),
                            &WarningCatcher::handle, this);
  }
  ~WarningCatcher() { g_log_remove_handler(domain_, id_); }
  const std::vector<std::string>& messages() const { return messages_; }

 private:
  static void handle(const gchar*, GLogLevelFlags, const gchar* message, gpointer self) {
    static_cast<WarningCatcher*>(self)->messages_.emplace_back(message);
  }
  const char* domain_;
  guint id_ = 0;
  std::vector<std::string> messages_;
};

struct NumericProperty {
  const char* name;
  double min, max, def;
};

// The documented ranges and defaults (docs/elements.md, and the engine's CrfOptions defaults).
const NumericProperty kNumeric[] = {
    {"crf-iterations", 1, 1000, 10},
    {"crf-temporal-iterations", 1, 1000, 2},
    {"crf-keyframe-interval", 0, G_MAXINT, 30},
    {"crf-scale", 0.01, 1.0, 1.0},
    {"crf-max-pixels", 0, 1 << 30, 1920 * 1080},
    {"crf-bilateral-weight", 0, 1000, 4},
    {"crf-bilateral-xy-std", 0.01, 10000, 67},
    {"crf-bilateral-rgb-std", 0.01, 1000, 3},
    {"crf-gaussian-weight", 0, 1000, 3},
    {"crf-gaussian-xy-std", 0.01, 10000, 1},
    {"crf-unary-temperature", 0.01, 4, 1},
    {"crf-scene-cut-threshold", 0, 1, 0.15},
};

TEST(DeeplabSegCrf, PropertiesHaveTheDocumentedDefaultsAndRanges) {
  GstElement* element = gst_element_factory_make("deeplabseg", nullptr);
  ASSERT_NE(element, nullptr);
  GObjectClass* klass = G_OBJECT_GET_CLASS(element);

  GParamSpec* crf = g_object_class_find_property(klass, "crf");
  ASSERT_NE(crf, nullptr);
  ASSERT_TRUE(G_IS_PARAM_SPEC_ENUM(crf));
  GEnumClass* modes = G_PARAM_SPEC_ENUM(crf)->enum_class;
  ASSERT_EQ(modes->n_values, 3u);
  EXPECT_STREQ(g_enum_get_value(modes, G_PARAM_SPEC_ENUM(crf)->default_value)->value_nick, "off");
  for (const char* nick : {"off", "full", "temporal"}) EXPECT_NE(g_enum_get_value_by_nick(modes, nick), nullptr) << nick;

  for (const NumericProperty& want : kNumeric) {
    SCOPED_TRACE(want.name);
    GParamSpec* pspec = g_object_class_find_property(klass, want.name);
    ASSERT_NE(pspec, nullptr);
    EXPECT_TRUE(pspec->flags & GST_PARAM_MUTABLE_PLAYING) << "CRF settings can change while playing";
    EXPECT_GT(std::string(g_param_spec_get_blurb(pspec)).size(), 20u) << "gst-inspect is the manual";
    GValue value = G_VALUE_INIT;
    g_value_init(&value, pspec->value_type);
    g_object_get_property(G_OBJECT(element), want.name, &value);
    if (G_IS_PARAM_SPEC_UINT(pspec)) {
      EXPECT_EQ(G_PARAM_SPEC_UINT(pspec)->minimum, want.min);
      EXPECT_EQ(G_PARAM_SPEC_UINT(pspec)->maximum, want.max);
      EXPECT_EQ(G_PARAM_SPEC_UINT(pspec)->default_value, want.def);
      EXPECT_EQ(g_value_get_uint(&value), want.def);
    } else if (G_IS_PARAM_SPEC_INT64(pspec)) {
      EXPECT_EQ(G_PARAM_SPEC_INT64(pspec)->minimum, want.min);
      EXPECT_EQ(G_PARAM_SPEC_INT64(pspec)->maximum, want.max);
      EXPECT_EQ(G_PARAM_SPEC_INT64(pspec)->default_value, want.def);
      EXPECT_EQ(g_value_get_int64(&value), want.def);
    } else {
      ASSERT_TRUE(G_IS_PARAM_SPEC_DOUBLE(pspec));
      EXPECT_DOUBLE_EQ(G_PARAM_SPEC_DOUBLE(pspec)->minimum, want.min);
      EXPECT_DOUBLE_EQ(G_PARAM_SPEC_DOUBLE(pspec)->maximum, want.max);
      EXPECT_DOUBLE_EQ(G_PARAM_SPEC_DOUBLE(pspec)->default_value, want.def);
      EXPECT_NEAR(g_value_get_double(&value), want.def, 1e-6);  // kept as the engine's float
    }
    g_value_unset(&value);
  }

  // Values set are read back; a value out of range is refused with a warning naming the property.
  g_object_set(element, "crf", 2 /* temporal */, "crf-iterations", 7u, "crf-scale", 0.5, nullptr);
  gint mode = 0;
  guint iterations = 0;
  gdouble scale = 0;
  g_object_get(element, "crf", &mode, "crf-iterations", &iterations, "crf-scale", &scale, nullptr);
  EXPECT_EQ(mode, 2);
  EXPECT_EQ(iterations, 7u);
  EXPECT_DOUBLE_EQ(scale, 0.5);
  {
    WarningCatcher warnings("GLib-GObject");
    gst_util_set_object_arg(G_OBJECT(element), "crf-scale", "1.5");
    gst_util_set_object_arg(G_OBJECT(element), "crf-iterations", "0");
    ASSERT_EQ(warnings.messages().size(), 2u);
    EXPECT_NE(warnings.messages()[0].find("crf-scale"), std::string::npos) << warnings.messages()[0];
    EXPECT_NE(warnings.messages()[1].find("crf-iterations"), std::string::npos) << warnings.messages()[1];
  }
  g_object_get(element, "crf-iterations", &iterations, "crf-scale", &scale, nullptr);
  EXPECT_EQ(iterations, 7u);
  EXPECT_DOUBLE_EQ(scale, 0.5);
  gst_object_unref(element);
}

// The pipeline on the real clip (decodebin ! videoconvert ! deeplabseg crf=temporal !
// deeplaboverlay), 36 frames: every frame carries a meta at the frame's size; the first frame and
// the keyframe run crf-iterations, the others crf-temporal-iterations.
TEST(DeeplabSegCrf, TemporalOnTheRealClipWithTheOverlay) {
  SegLog log;
  const std::string clip = shared_dir() + "/media/one-by-one-person-detection.mp4";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(
      ("filesrc location=" + clip + " ! decodebin ! videoconvert ! " +
       seg("crf=temporal crf-iterations=5 crf-keyframe-interval=30") +
       " ! deeplaboverlay ! appsink name=sink sync=false max-buffers=4")
          .c_str(),
      &error);
  ASSERT_NE(pipeline, nullptr) << (error ? error->message : "");
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  const int kFrames = 36;
  int frames = 0;
  for (; frames < kFrames; ++frames) {
    GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 120 * GST_SECOND);
    ASSERT_NE(sample, nullptr) << "frame " << frames;
    GstDeeplabSegMeta* meta = gst_buffer_get_deeplab_seg_meta(gst_sample_get_buffer(sample));
    ASSERT_NE(meta, nullptr) << "frame " << frames;
    EXPECT_EQ(meta->width, 768u);
    EXPECT_EQ(meta->height, 432u);
    gst_sample_unref(sample);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);

  const std::vector<int> iterations = log.iterations();
  ASSERT_GE(iterations.size(), static_cast<std::size_t>(kFrames));
  int full = 0;
  for (std::size_t k = 0; k < static_cast<std::size_t>(kFrames); ++k) {
    SCOPED_TRACE("frame " + std::to_string(k));
    ASSERT_TRUE(iterations[k] == 5 || iterations[k] == 2) << iterations[k];
    full += iterations[k] == 5;
  }
  EXPECT_EQ(iterations[0], 5) << "the stream's first frame runs full iterations";
  EXPECT_EQ(iterations[1], 2) << "the next one starts from the first's result";
  EXPECT_EQ(iterations[30], 5) << "keyframe";
  EXPECT_LE(full, 4) << "a static camera: few scene cuts, if any";
}

// A real still through the harness: crf=full changes the class map a little (at object boundaries),
// not wholesale; off again gives the network's map exactly. No reload for any of it.
TEST(DeeplabSegCrf, FullVsOffDifferentButMostlyEqualAndChangeableWhilePlaying) {
  SegLog log;
  GstHarness* h = gst_harness_new_parse(seg().c_str());
  GstElement* element = gst_harness_find_element(h, "deeplabseg");
  gst_harness_set_src_caps_str(h, caps_string(GST_VIDEO_FORMAT_RGB, 320, 240).c_str());
  Image image = load_image("person.jpg", 320, 240);
  const ClassMap off = push_and_map(h, make_frame(image, GST_VIDEO_FORMAT_RGB));
  ASSERT_GT(off.fraction(15), 0.01) << "the still should show a person";

  g_object_set(element, "crf", 1 /* full */, nullptr);
  const ClassMap full = push_and_map(h, make_frame(image, GST_VIDEO_FORMAT_RGB));
  const double same = agreement(off, full);
  std::printf("crf=full vs off on person.jpg 320x240: %.2f%% of the pixels agree; person %.1f%% -> %.1f%%\n",
              100 * same, 100 * off.fraction(15), 100 * full.fraction(15));
  EXPECT_LT(same, 0.999) << "the CRF should change some pixels";
  EXPECT_GT(same, 0.85) << "the CRF should refine the map, not replace it";
  EXPECT_GT(full.fraction(15), 0.5 * off.fraction(15));

  // Full mode is stateless: the same frame again gives the same map.
  EXPECT_EQ(push_and_map(h, make_frame(image, GST_VIDEO_FORMAT_RGB)).ids, full.ids);
  // Fewer iterations change the result; the setting takes effect on the next frame.
  g_object_set(element, "crf-iterations", 1u, "crf-bilateral-weight", 0.0, nullptr);
  const ClassMap light = push_and_map(h, make_frame(image, GST_VIDEO_FORMAT_RGB));
  EXPECT_NE(light.ids, full.ids);
  g_object_set(element, "crf", 0 /* off */, nullptr);
  EXPECT_EQ(push_and_map(h, make_frame(image, GST_VIDEO_FORMAT_RGB)).ids, off.ids);

  const std::vector<int> iterations = log.iterations();
  ASSERT_EQ(iterations.size(), 5u);
  EXPECT_EQ(iterations, (std::vector<int>{0, 10, 10, 1, 0}));
  EXPECT_EQ(log.loads(), 1) << "CRF settings must not reload the model";
  gst_object_unref(element);
  gst_harness_teardown(h);
}

// The temporal state is dropped at FLUSH_STOP (a seek), a new SEGMENT and a caps change (here of
// the format only: a new size resets the engine's CRF by itself): the next frame runs full
// iterations again.
TEST(DeeplabSegCrf, TemporalStateResetsAtFlushSegmentAndCaps) {
  SegLog log;
  GstHarness* h = gst_harness_new_parse(seg("crf=temporal crf-iterations=4 crf-temporal-iterations=1").c_str());
  gst_harness_set_src_caps_str(h, caps_string(GST_VIDEO_FORMAT_RGB, 96, 64).c_str());
  Image small = load_image("dog.jpg", 96, 64);
  auto push = [&](const Image& image, GstVideoFormat format = GST_VIDEO_FORMAT_RGB) {
    gst_buffer_unref(gst_harness_push_and_pull(h, make_frame(image, format)));
  };
  push(small);  // 4: first frame
  push(small);  // 1: warm start
  push(small);  // 1
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_flush_start()));
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_segment(&segment)));
  push(small);  // 4: after the flush
  push(small);  // 1
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_segment(&segment)));
  push(small);  // 4: a new segment
  push(small);  // 1
  // New caps of the same size (a caps event alone: gst_harness_set_src_caps() would add a segment).
  GstCaps* bgr = gst_caps_from_string(caps_string(GST_VIDEO_FORMAT_BGR, 96, 64).c_str());
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_caps(bgr)));
  gst_caps_unref(bgr);
  push(small, GST_VIDEO_FORMAT_BGR);  // 4: new caps
  push(small, GST_VIDEO_FORMAT_BGR);  // 1
  EXPECT_EQ(log.iterations(), (std::vector<int>{4, 1, 1, 4, 1, 4, 1, 4, 1}));
  gst_harness_teardown(h);
}

// NULL <-> PLAYING with the temporal CRF on: no error, every cycle reaches PLAYING with frames, and
// the CRF state of the last cycle does not leak into the next (its first frame runs full iterations).
TEST(DeeplabSegCrf, StateCyclingWithTheCrfOn) {
  SegLog log;
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(("videotestsrc num-buffers=4 pattern=ball ! video/x-raw,width=64,height=48 ! " +
                                           seg("crf=temporal crf-iterations=3 crf-temporal-iterations=1") +
                                           " ! deeplaboverlay ! fakesink")
                                              .c_str(),
                                          &error);
  ASSERT_NE(pipeline, nullptr);
  for (int cycle = 0; cycle < 20; ++cycle) {
    const RunResult r = run_pipeline(pipeline, 60 * GST_SECOND);  // to EOS, then back to NULL
    ASSERT_TRUE(r.eos) << "cycle " << cycle;
    ASSERT_TRUE(r.errors.empty()) << "cycle " << cycle << ": " << r.errors.front();
  }
  gst_object_unref(pipeline);
  const std::vector<int> iterations = log.iterations();
  ASSERT_EQ(iterations.size(), 80u);
  for (std::size_t k = 0; k < iterations.size(); ++k)
    EXPECT_EQ(iterations[k], k % 4 == 0 ? 3 : 1) << "frame " << k % 4 << " of cycle " << k / 4;
  EXPECT_EQ(log.loads(), 1);
}

// Resident memory is flat over a long stream with the temporal CRF (the CRF's buffers are sized
// once per frame size), keyframes every 10 frames included.
TEST(DeeplabSegCrf, MemoryFlatWithTheTemporalCrf) {
  // A leaked 64x48x21 Q per frame would be 125 MiB.
  expect_flat_memory("video/x-raw,width=64,height=48 ! " + seg("crf=temporal crf-keyframe-interval=10"), 100, 600,
                     1024);
}

}  // namespace

// crf-params: a tuned file's parameters replace the model's (its iterations: 3 on every full frame);
// an explicitly set property beats the file; a broken file is an error naming the file and key.
TEST(DeeplabSegCrf, ParameterFileAndItsErrors) {
  const std::string dir = std::string(g_get_tmp_dir()) + "/deeplab-crf-params-" + std::to_string(getpid());
  g_mkdir_with_parents(dir.c_str(), 0700);
  const std::string good = dir + "/good.yaml", bad = dir + "/bad.yaml";
  g_file_set_contents(good.c_str(), "crf:\n  iterations: 3\n  unary_temperature: 2\n", -1, nullptr);
  g_file_set_contents(bad.c_str(), "crf:\n  iterations: 3\n  unary_temprature: 2\n", -1, nullptr);
  const std::string source = "videotestsrc num-buffers=2 pattern=ball ! video/x-raw,width=64,height=48 ! ";
  {
    SegLog log;
    const RunResult r = run_launch(source + seg("crf=full crf-params=" + good) + " ! fakesink", 60 * GST_SECOND);
    ASSERT_TRUE(r.eos && r.errors.empty()) << (r.errors.empty() ? "no EOS" : r.errors.front());
    EXPECT_EQ(log.iterations(), (std::vector<int>{3, 3}));
  }
  {
    SegLog log;
    const RunResult r =
        run_launch(source + seg("crf=full crf-iterations=2 crf-params=" + good) + " ! fakesink", 60 * GST_SECOND);
    ASSERT_TRUE(r.eos && r.errors.empty()) << (r.errors.empty() ? "no EOS" : r.errors.front());
    EXPECT_EQ(log.iterations(), (std::vector<int>{2, 2}));
  }
  const RunResult r = run_launch(source + seg("crf=full crf-params=" + bad) + " ! fakesink", 60 * GST_SECOND);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors.front().find("bad.yaml:3:3: crf key 'unary_temprature': unknown"), std::string::npos)
      << r.errors.front();
  g_remove(good.c_str());
  g_remove(bad.c_str());
  g_rmdir(dir.c_str());
}
