// deeplabseg's lifecycle in real pipelines: errors a user can cause come out as bus ERRORs that
// name the culprit (never a crash); state cycling keeps the model loaded.
#include <glib/gstdio.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "gst_test_support.h"

using namespace gsttest;

namespace {

const std::string kSource = "videotestsrc num-buffers=3 ! video/x-raw,width=64,height=48,format=RGB ! ";

// Runs `seg_element ! fakesink` on a short test stream; expects an ERROR from it naming `culprit`.
void expect_error_naming(const std::string& seg_element, const std::string& culprit) {
  SCOPED_TRACE(seg_element);
  const RunResult r = run_launch(kSource + seg_element + " ! fakesink", 60 * GST_SECOND);
  ASSERT_FALSE(r.eos) << "the pipeline should not have run";
  ASSERT_FALSE(r.errors.empty()) << "no ERROR message on the bus";
  EXPECT_EQ(r.error_sources.front(), "seg");
  EXPECT_NE(r.errors.front().find(culprit), std::string::npos)
      << "error '" << r.errors.front() << "' does not name '" << culprit << "'";
}

TEST(DeeplabSegErrors, MissingModelFileIsNamed) {
  expect_error_naming("deeplabseg name=seg model=/nonexistent/dir/no-such-model.onnx",
                      "/nonexistent/dir/no-such-model.onnx");
}

TEST(DeeplabSegErrors, UnknownModelNameIsNamed) {
  expect_error_naming("deeplabseg name=seg model=no-such-manifest-name", "no-such-manifest-name");
}

TEST(DeeplabSegErrors, CorruptModelFileIsNamed) {
  const std::string path = work_dir() + "/corrupt-model.onnx";
  {
    std::ofstream out(path, std::ios::binary);
    out << "this is not an ONNX protobuf \x01\x02\x03\xff\xfe";
  }
  expect_error_naming("deeplabseg name=seg model=" + path, path);
}

TEST(DeeplabSegErrors, ManifestPointingAtAMissingFileIsNamed) {
  const std::string path = work_dir() + "/missing-weights.yaml";
  {
    std::ofstream out(path);
    out << "name: missing-weights\nfile: no-such-weights.onnx\n"
        << "input: {layout: NCHW, color: RGB, scale: 1, mean: [0, 0, 0], std: [1, 1, 1]}\n";
  }
  expect_error_naming("deeplabseg name=seg model=" + path, "no-such-weights.onnx");
}

TEST(DeeplabSegErrors, UnusableDeviceIsNamed) {
  const RunResult r = run_launch(kSource + seg("device=cuda") + " ! fakesink", 60 * GST_SECOND);
  if (r.eos && r.errors.empty()) GTEST_SKIP() << "device=cuda works on this machine";
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors.front().find("cuda"), std::string::npos) << r.errors.front();
}

TEST(DeeplabSegErrors, UnknownClassIsNamed) {
  expect_error_naming(seg("classes=person,persn"), "persn");
}

TEST(DeeplabSegErrors, BadInputSizeIsNamed) {
  expect_error_naming(seg("input-size=257by257"), "257by257");
  // A fixed-shape model cannot take another size: the engine says so, naming the model file.
  expect_error_naming(seg("input-size=129x129"), "deeplab_v3_1_default_1.onnx");
}

// After an error the same element recovers once the property is fixed (no stale state).
TEST(DeeplabSegErrors, RecoversAfterTheModelIsFixed) {
  GError* error = nullptr;
  GstElement* pipeline =
      gst_parse_launch((kSource + "deeplabseg name=seg model=/nonexistent.onnx threads=2 ! fakesink").c_str(), &error);
  ASSERT_NE(pipeline, nullptr);
  const RunResult bad = run_pipeline(pipeline, 60 * GST_SECOND);
  EXPECT_FALSE(bad.errors.empty());
  GstElement* seg_element = gst_bin_get_by_name(GST_BIN(pipeline), "seg");
  g_object_set(seg_element, "model", model_manifest().c_str(), nullptr);
  gst_object_unref(seg_element);
  const RunResult good = run_pipeline(pipeline, 60 * GST_SECOND);  // back in NULL: run it again
  EXPECT_TRUE(good.eos);
  EXPECT_TRUE(good.errors.empty()) << good.errors.front();
  gst_object_unref(pipeline);
}

// NULL <-> PLAYING 100 times: every cycle reaches PLAYING with frames flowing, and the model is
// loaded once, at the first start. A changed model-related property makes the next start reload.
TEST(DeeplabSegLifecycle, StateCycling100TimesLoadsTheModelOnce) {
  SegLog counter;  // counts the "loading model" lines
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(
      ("videotestsrc ! video/x-raw,width=32,height=24,format=I420 ! " + seg() + " ! fakesink name=sink").c_str(), &error);
  ASSERT_NE(pipeline, nullptr);
  for (int cycle = 0; cycle < 100; ++cycle) {
    ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE) << "cycle " << cycle;
    GstState state = GST_STATE_NULL;
    ASSERT_EQ(gst_element_get_state(pipeline, &state, nullptr, 60 * GST_SECOND), GST_STATE_CHANGE_SUCCESS)
        << "cycle " << cycle;
    ASSERT_EQ(state, GST_STATE_PLAYING);
    ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_FAILURE);
  }
  EXPECT_EQ(counter.loads(), 1);

  GstElement* seg_element = gst_bin_get_by_name(GST_BIN(pipeline), "seg");
  g_object_set(seg_element, "threads", 1u, nullptr);
  gst_object_unref(seg_element);
  ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(gst_element_get_state(pipeline, nullptr, nullptr, 60 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  EXPECT_EQ(counter.loads(), 2);

  // The bus saw no error in all of this.
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  EXPECT_EQ(message, nullptr);
  if (message) gst_message_unref(message);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
}

// The default model (models/deeplabv3-mnv2-voc.yaml) resolves when its manifest is in the tree.
TEST(DeeplabSegLifecycle, DefaultModelLoads) {
  if (!g_file_test(DEEPLAB_SOURCE_DIR "/models/deeplabv3-mnv2-voc.yaml", G_FILE_TEST_EXISTS))
    GTEST_SKIP() << "models/deeplabv3-mnv2-voc.yaml is not in the tree";
  const RunResult r = run_launch(kSource + "deeplabseg name=seg threads=2 ! fakesink", 60 * GST_SECOND);
  EXPECT_TRUE(r.eos);
  EXPECT_TRUE(r.errors.empty()) << r.errors.front();
}

}  // namespace
