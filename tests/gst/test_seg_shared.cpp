// deeplabseg elements sharing one engine (model-instance-id, batch-size, batch-timeout;
// deeplab/batching.h):
//  - the line: four branches of four clips with model-instance-id=cams batch-size=4 run to
//    EOS; the model is loaded once and every branch's masks equal those of four separate elements;
//  - the resident memory of four sharing elements is well below that of four separate ones;
//  - one element's EOS, flushing seek, caps change and removal touch only its own stream;
//  - aspect=keep branches of two aspects share an engine, each with a separate keep element's masks;
//    a caps change of one to another aspect touches only its stream; a stream whose frames fail is
//    reported by its element while the others go on.
#include <gst/app/gstappsink.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include "gst_test_support.h"

using namespace gsttest;

namespace {

// The four clips of the line (one of the three shared clips twice).
const char* const kClips[4] = {"car-detection", "bottle-detection", "one-by-one-person-detection", "car-detection"};

// seg(extra) named segK (seg() names every element "seg").
std::string seg_named(const std::string& extra, int k) {
  return std::regex_replace(seg(extra), std::regex("name=seg "), "name=seg" + std::to_string(k) + " ");
}

// A clip decoded, one frame in two seconds of it (every decoded frame is still decoded, few are
// segmented), then `caps` (empty: as decoded).
std::string clip_source(const std::string& clip, const std::string& caps = "") {
  return "filesrc location=" + shared_dir() + "/media/" + clip +
         ".mp4 ! decodebin ! videorate drop-only=true ! video/x-raw,framerate=1/2 ! videoconvert ! " +
         (caps.empty() ? "" : "videoscale ! " + caps + " ! ");
}

std::vector<std::string> four_clips() {
  std::vector<std::string> sources;
  for (const char* clip : kClips) sources.push_back(clip_source(clip));
  return sources;
}

// Per branch, the class maps (as tight rows) that left its deeplabseg, in order.
struct BranchMaps {
  std::mutex mutex;
  std::vector<std::vector<ClassMap>> maps;
};

GstPadProbeReturn keep_map(GstPad* pad, GstPadProbeInfo* info, gpointer data) {
  auto* maps = static_cast<BranchMaps*>(data);
  const int branch = GPOINTER_TO_INT(g_object_get_data(G_OBJECT(pad), "branch"));
  ClassMap map = class_map_of(GST_PAD_PROBE_INFO_BUFFER(info));
  std::lock_guard<std::mutex> lock(maps->mutex);
  maps->maps[branch].push_back(std::move(map));
  return GST_PAD_PROBE_OK;
}

// Runs one branch per source (`source ! deeplabseg seg_extra ! fakesink`) in one pipeline to EOS
// and returns every branch's maps.
std::vector<std::vector<ClassMap>> run_branches(const std::vector<std::string>& sources, const std::string& seg_extra) {
  std::string line;
  for (std::size_t k = 0; k < sources.size(); ++k)
    line += sources[k] + seg_named(seg_extra, static_cast<int>(k)) + " ! fakesink  ";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(line.c_str(), &error);
  EXPECT_NE(pipeline, nullptr) << (error ? error->message : "");
  if (!pipeline) return {};
  BranchMaps maps;
  maps.maps.resize(sources.size());
  for (std::size_t k = 0; k < sources.size(); ++k) {
    GstElement* seg = gst_bin_get_by_name(GST_BIN(pipeline), ("seg" + std::to_string(k)).c_str());
    GstPad* src = gst_element_get_static_pad(seg, "src");
    g_object_set_data(G_OBJECT(src), "branch", GINT_TO_POINTER(static_cast<int>(k)));
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, keep_map, &maps, nullptr);
    gst_object_unref(src);
    gst_object_unref(seg);
  }
  const RunResult result = run_pipeline(pipeline, 300 * GST_SECOND);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  EXPECT_TRUE(result.eos) << "no EOS" << (result.errors.empty() ? "" : ": " + result.errors[0]);
  return std::move(maps.maps);
}

// The largest resident size of `gst-launch-1.0 -q LINE` (a process of its own), KiB, from the
// kernel's rusage of the child (wait4): no /usr/bin/time, which a fresh Debian lacks.
long launch_max_rss_kib(const std::string& line) {
  const std::string command = "exec gst-launch-1.0 -q " + line + " >/dev/null 2>&1";
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  if (wait4(pid, &status, 0, &usage) != pid) return -1;
  // A failed run (its pipeline refused) would report a small size and fool the comparison.
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "gst-launch-1.0 failed: " << line;
  return usage.ru_maxrss;  // KiB on Linux
}

// The class map of `frame` pushed through harness `h` (empty when nothing came out).
ClassMap map_of(GstHarness* h, GstBuffer* frame) {
  GstBuffer* out = gst_harness_push_and_pull(h, frame);
  EXPECT_NE(out, nullptr);
  ClassMap map = out ? class_map_of(out) : ClassMap{};
  if (out) gst_buffer_unref(out);
  return map;
}

}  // namespace

// The "done when": four sharing branches of four clips, batch-size 4, to EOS; one model
// load; each branch's masks (sizes and pixels) equal those of four separate elements.
TEST(DeeplabSegShared, FourClipsFourSharingBranchesToEosWithEachBranchsOwnMasks) {
  SegLog log;
  const auto shared = run_branches(four_clips(), "model-instance-id=cams batch-size=4");
  EXPECT_EQ(log.shared_engine_loads(), 1) << "four elements, one model load";
  const auto separate = run_branches(four_clips(), "");
  ASSERT_EQ(shared.size(), 4u);
  ASSERT_EQ(separate.size(), 4u);
  for (int k = 0; k < 4; ++k) {
    SCOPED_TRACE(std::string("branch ") + std::to_string(k) + " (" + kClips[k] + ")");
    ASSERT_GE(shared[k].size(), 10u);
    ASSERT_EQ(shared[k].size(), separate[k].size());
    const int width = k == 1 ? 640 : 768, height = k == 1 ? 360 : 432;
    for (std::size_t f = 0; f < shared[k].size(); ++f) {
      ASSERT_EQ(shared[k][f].width, width) << "frame " << f;
      ASSERT_EQ(shared[k][f].height, height) << "frame " << f;
      ASSERT_TRUE(shared[k][f].ids == separate[k][f].ids) << "frame " << f << ": masks differ";
    }
  }
}

// The VOC model whose graph follows the input size (aspect keep), from the source tree's models/;
// its file is found through DEEPLAB_MODEL_CACHE like the test model's.
static std::string keep_model() {
  const std::string data = model_manifest().substr(0, model_manifest().rfind('/'));  // tests/gst/data
  return data + "/../../../models/deeplabv3-mnv2-voc-513.yaml";
}

// aspect=keep on a shared engine: a 16:9 clip (768x432: network 257x145) and a clip scaled to 4:3
// (480x360: network 257x193) in two branches of one engine (batch 2) run to EOS; every mask equals
// that of a separate keep element (the engine plans a network per shape and batches per shape).
TEST(DeeplabSegShared, KeepAspectBranchesOfTwoAspectsShareAnEngineWithEachBranchsOwnMasks) {
  if (g_file_test((shared_dir() + "/models/deeplabv3_mnv2_pascal_quant.tflite").c_str(), G_FILE_TEST_EXISTS) == FALSE)
    GTEST_SKIP() << "the shared TFLite VOC model is absent";
  const std::vector<std::string> sources = {clip_source("car-detection"),
                                            clip_source("bottle-detection", "video/x-raw,width=480,height=360")};
  const std::string keep = "model=" + keep_model() + " input-size=257x257 aspect=keep ";
  SegLog log;
  const auto shared = run_branches(sources, keep + "model-instance-id=keep batch-size=2");
  EXPECT_EQ(log.shared_engine_loads(), 1) << "two elements, one engine";
  const auto separate = run_branches(sources, keep);
  ASSERT_EQ(shared.size(), 2u);
  ASSERT_EQ(separate.size(), 2u);
  for (int k = 0; k < 2; ++k) {
    SCOPED_TRACE("branch " + std::to_string(k));
    ASSERT_GE(shared[k].size(), 5u);
    ASSERT_EQ(shared[k].size(), separate[k].size());
    for (std::size_t f = 0; f < shared[k].size(); ++f) {
      ASSERT_EQ(shared[k][f].width, k == 0 ? 768 : 480) << "frame " << f;
      ASSERT_EQ(shared[k][f].height, k == 0 ? 432 : 360) << "frame " << f;
      ASSERT_TRUE(shared[k][f].ids == separate[k][f].ids) << "frame " << f << ": masks differ";
    }
  }
}

// Four elements on test frames in a process of their own: what the deeplabseg elements add to the
// resident memory, sharing (batch 1 and batch 4) or not. Printed. Sharing without batching keeps one
// network and one arena instead of four: far less. Batching four frames needs activations for four
// (and the CPU backend keeps networks for 1 and 2 frames besides, for partial batches): about what
// four separate elements take, not more.
TEST(DeeplabSegShared, FourSharingElementsUseFarLessMemoryThanFourSeparate) {
  auto line = [](const char* extra) {  // extra == nullptr: identity instead of deeplabseg
    std::string text;
    for (int k = 0; k < 4; ++k)
      text += "videotestsrc num-buffers=5 pattern=ball ! video/x-raw,width=640,height=360 ! " +
              (extra ? seg_named(extra, k) : std::string("identity")) + " ! fakesink ";
    return text;
  };
  const long none = launch_max_rss_kib(line(nullptr));
  const long separate = launch_max_rss_kib(line("")) - none;
  const long shared1 = launch_max_rss_kib(line("model-instance-id=m batch-size=1")) - none;
  const long shared4 = launch_max_rss_kib(line("model-instance-id=m batch-size=4")) - none;
  std::printf("[shared] resident memory added by four deeplabseg: separate %ld KiB, shared batch 1 %ld KiB, shared "
              "batch 4 %ld KiB\n",
              separate, shared1, shared4);
  ASSERT_GT(none, 0) << "no resident size for gst-launch-1.0";
  ASSERT_GT(shared1, 10 * 1024) << "the pipelines did not run (a network takes more than 10 MiB)";
  EXPECT_LT(shared1, separate * 6 / 10) << "one network and arena instead of four";
  EXPECT_LT(shared4, separate * 12 / 10) << "networks for 1, 2 and 4 frames on one arena for four";
}

// Two harnessed elements share an engine (batch 2, timeout 50 ms). One element's EOS, flushing
// seek, caps change and removal leave the other's masks as a separate element's.
TEST(DeeplabSegShared, EosSeekCapsChangeAndRemovalOfOneTouchOnlyItsStream) {
  const std::string extra = "model-instance-id=pair batch-size=2 batch-timeout=50";
  GstHarness* solo = gst_harness_new_parse(seg().c_str());
  GstHarness* a = gst_harness_new_parse(seg(extra).c_str());
  GstHarness* b = gst_harness_new_parse(seg(extra).c_str());
  for (GstHarness* h : {solo, a, b}) gst_harness_set_src_caps_str(h, caps_string(GST_VIDEO_FORMAT_RGB, 320, 240).c_str());
  const Image person = load_image("person.jpg", 320, 240), dog = load_image("dog.jpg", 160, 120);
  const ClassMap expected = map_of(solo, make_frame(person, GST_VIDEO_FORMAT_RGB));
  ASSERT_GT(expected.fraction(15), 0.01) << "the still should show a person";
  EXPECT_EQ(map_of(a, make_frame(person, GST_VIDEO_FORMAT_RGB)).ids, expected.ids) << "a alone, after the timeout";
  EXPECT_EQ(map_of(b, make_frame(person, GST_VIDEO_FORMAT_RGB)).ids, expected.ids);

  gst_harness_push_event(a, gst_event_new_eos());  // a sends no more: b's batches stop waiting for it
  EXPECT_EQ(map_of(b, make_frame(person, GST_VIDEO_FORMAT_RGB)).ids, expected.ids) << "after a's EOS";

  gst_harness_push_event(b, gst_event_new_flush_start());  // b seeks
  gst_harness_push_event(b, gst_event_new_flush_stop(TRUE));
  EXPECT_EQ(map_of(b, make_frame(person, GST_VIDEO_FORMAT_RGB)).ids, expected.ids) << "after b's flushing seek";

  gst_harness_push_event(a, gst_event_new_flush_start());  // a seeks back after its EOS, and its caps change
  gst_harness_push_event(a, gst_event_new_flush_stop(TRUE));
  gst_harness_set_src_caps_str(a, caps_string(GST_VIDEO_FORMAT_RGB, 160, 120).c_str());
  const ClassMap small = map_of(a, make_frame(dog, GST_VIDEO_FORMAT_RGB));
  EXPECT_EQ(small.width, 160);
  EXPECT_EQ(small.height, 120);
  EXPECT_EQ(map_of(b, make_frame(person, GST_VIDEO_FORMAT_RGB)).ids, expected.ids) << "after a's caps change";

  gst_harness_teardown(a);  // a leaves the pipeline
  EXPECT_EQ(map_of(b, make_frame(person, GST_VIDEO_FORMAT_RGB)).ids, expected.ids) << "after a's removal";
  gst_harness_teardown(b);
  gst_harness_teardown(solo);
}

// aspect=keep, two harnessed elements sharing an engine (batch 2, timeout 50 ms) on the VOC model at
// 257: a's caps change from 4:3 to 16:9 (another network shape, planned then) and back; a's masks
// stay a separate keep element's at each aspect, and b's (4:3 throughout) stay its own; a third
// element joining later at 16:9 gets its own masks too.
TEST(DeeplabSegShared, KeepCapsChangeOfOneToAnotherAspectTouchesOnlyItsStream) {
  if (g_file_test((shared_dir() + "/models/deeplabv3_mnv2_pascal_quant.tflite").c_str(), G_FILE_TEST_EXISTS) == FALSE)
    GTEST_SKIP() << "the shared TFLite VOC model is absent";
  const std::string keep = "model=" + keep_model() + " input-size=257x257 aspect=keep ";
  GstHarness* solo = gst_harness_new_parse(seg(keep).c_str());
  GstHarness* a = gst_harness_new_parse(seg(keep + "model-instance-id=keepcaps batch-size=2 batch-timeout=50").c_str());
  GstHarness* b = gst_harness_new_parse(seg(keep + "model-instance-id=keepcaps batch-size=2 batch-timeout=50").c_str());
  const Image person43 = load_image("person.jpg", 320, 240), person169 = load_image("person.jpg", 320, 180);
  const std::string caps43 = caps_string(GST_VIDEO_FORMAT_RGB, 320, 240);
  const std::string caps169 = caps_string(GST_VIDEO_FORMAT_RGB, 320, 180);
  gst_harness_set_src_caps_str(b, caps43.c_str());
  gst_harness_set_src_caps_str(solo, caps43.c_str());
  const ClassMap b_expected = map_of(solo, make_frame(person43, GST_VIDEO_FORMAT_RGB));
  for (const Image* image : {&person43, &person169, &person43}) {
    const std::string& caps = image == &person169 ? caps169 : caps43;
    gst_harness_set_src_caps_str(solo, caps.c_str());
    gst_harness_set_src_caps_str(a, caps.c_str());
    const ClassMap expected = map_of(solo, make_frame(*image, GST_VIDEO_FORMAT_RGB));
    ASSERT_GT(expected.fraction(15), 0.01) << "the still should show a person";
    const ClassMap got = map_of(a, make_frame(*image, GST_VIDEO_FORMAT_RGB));
    EXPECT_EQ(got.height, image == &person169 ? 180 : 240);
    EXPECT_EQ(got.ids, expected.ids) << "a at " << caps;
    EXPECT_EQ(map_of(b, make_frame(person43, GST_VIDEO_FORMAT_RGB)).ids, b_expected.ids) << "b while a is at " << caps;
  }
  // c joins while a and b are open, at 16:9 (a shape planned already): a separate element's masks.
  GstHarness* c = gst_harness_new_parse(seg(keep + "model-instance-id=keepcaps batch-size=2 batch-timeout=50").c_str());
  gst_harness_set_src_caps_str(c, caps169.c_str());
  gst_harness_set_src_caps_str(solo, caps169.c_str());
  EXPECT_EQ(map_of(c, make_frame(person169, GST_VIDEO_FORMAT_RGB)).ids,
            map_of(solo, make_frame(person169, GST_VIDEO_FORMAT_RGB)).ids) << "c, joined later";
  EXPECT_EQ(map_of(b, make_frame(person43, GST_VIDEO_FORMAT_RGB)).ids, b_expected.ids) << "b after c joined";
  for (GstHarness* h : {a, b, c, solo}) gst_harness_teardown(h);
}

// A stream whose frames fail is reported by its element only: with aspect=keep, the test model
// (its pooling window fixed to 257x257 input) cannot run a 4:3 frame, so a's push fails with an
// ERROR from a naming the node, while b (square frames) sharing the engine goes on, before and after.
TEST(DeeplabSegShared, AFailingStreamIsReportedByItsElementWithoutStoppingTheOthers) {
  const std::string extra = "aspect=keep model-instance-id=failing batch-size=2 batch-timeout=50";
  GstHarness* a = gst_harness_new_parse(seg(extra).c_str());
  GstHarness* b = gst_harness_new_parse(seg(extra).c_str());
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(a->element, bus);
  gst_harness_set_src_caps_str(a, caps_string(GST_VIDEO_FORMAT_RGB, 320, 240).c_str());
  gst_harness_set_src_caps_str(b, caps_string(GST_VIDEO_FORMAT_RGB, 240, 240).c_str());
  const Image wide = load_image("person.jpg", 320, 240), square = load_image("person.jpg", 240, 240);
  const ClassMap expected = map_of(b, make_frame(square, GST_VIDEO_FORMAT_RGB));
  ASSERT_GT(expected.fraction(15), 0.01) << "the still should show a person";
  for (int attempt = 0; attempt < 2; ++attempt) {
    EXPECT_EQ(gst_harness_push(a, make_frame(wide, GST_VIDEO_FORMAT_RGB)), GST_FLOW_ERROR);
    GstMessage* error = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    ASSERT_NE(error, nullptr) << "a posted no ERROR";
    GError* gerror = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(error, &gerror, &debug);
    const std::string text = std::string(gerror->message) + " " + (debug ? debug : "");
    EXPECT_NE(text.find("AveragePool node"), std::string::npos) << text;
    EXPECT_NE(text.find("aspect keep"), std::string::npos) << text;
    g_clear_error(&gerror);
    g_free(debug);
    gst_message_unref(error);
    EXPECT_EQ(map_of(b, make_frame(square, GST_VIDEO_FORMAT_RGB)).ids, expected.ids) << "b after a's failure";
  }
  gst_element_set_bus(a->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(a);
  gst_harness_teardown(b);
}

// Elements naming one id with different settings: the second one's start fails, naming the id.
TEST(DeeplabSegShared, DifferentSettingsForOneIdAreAnError) {
  GstHarness* a = gst_harness_new_parse(seg("model-instance-id=clash batch-size=2").c_str());
  gst_harness_set_src_caps_str(a, caps_string(GST_VIDEO_FORMAT_RGB, 64, 48).c_str());
  const RunResult result =
      run_launch("videotestsrc num-buffers=1 ! video/x-raw,width=64,height=48 ! " +
                     seg("model-instance-id=clash batch-size=3") + " ! fakesink",
                 60 * GST_SECOND);
  ASSERT_FALSE(result.errors.empty());
  EXPECT_NE(result.errors[0].find("clash"), std::string::npos) << result.errors[0];
  EXPECT_NE(result.errors[0].find("batch-size 2 vs 3"), std::string::npos) << result.errors[0];
  gst_harness_teardown(a);
}

// The LATENCY answer of a batching element allows for the batch timeout (a frame may wait that
// long for its batch); an element of its own adds no such wait.
TEST(DeeplabSegShared, LatencyIncludesTheBatchTimeout) {
  GstHarness* shared = gst_harness_new_parse(seg("model-instance-id=latency batch-size=4 batch-timeout=250").c_str());
  gst_harness_set_src_caps_str(shared, caps_string(GST_VIDEO_FORMAT_RGB, 64, 48).c_str());
  const Image image = load_image("dog.jpg", 64, 48);
  GstBuffer* out = gst_harness_push_and_pull(shared, make_frame(image, GST_VIDEO_FORMAT_RGB));
  ASSERT_NE(out, nullptr);
  gst_buffer_unref(out);
  EXPECT_GE(gst_harness_query_latency(shared), 250 * GST_MSECOND);
  gst_harness_teardown(shared);
}
