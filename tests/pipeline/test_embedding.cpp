// The embedding API: deeplab::Pipeline from a YAML string, frames and class maps through the callback
// without copies, errors from the callback, stop() from another thread; and the example program.
#include <gst/app/gstappsink.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "deeplab/pipeline.h"
#include "gst/deeplab/deeplabmeta.h"
#include "pipeline_test_support.h"

namespace {

struct Seen {
  std::uint64_t frames = 0;
  std::uint64_t class_map_in_meta = 0;   // class map pointer == the meta's own
  std::uint64_t planes_equal_ids = 0;    // show: ids frames whose pixels are the class map
  std::uint64_t bottle_frames = 0;       // frames with > 5 % bottle pixels
  int width = 0, height = 0, map_width = 0, map_height = 0;
  std::string format, class_5;
  std::uint64_t last_index = 0;
};

bool rows_equal(const deeplab::OutputFrame& f) {
  const auto& m = f.class_map;
  for (int y = 0; y < m.height; ++y)
    if (std::memcmp(f.planes[0] + static_cast<std::size_t>(y) * f.strides[0], m.ids + static_cast<std::size_t>(y) * m.stride,
                    m.width) != 0)
      return false;
  return true;
}

}  // namespace

TEST(Embedding, FramesAndClassMapsWithoutCopies) {
  const std::string yaml = "source: {type: file, path: '" + ptest::clip("bottle-detection.mp4") +
                           "', max-frames: 6}\n"
                           "segmentation: {threads: 2}\n"
                           "outputs:\n"
                           "  - {type: appsink, name: rgb, format: RGB, drop: false}\n"
                           "  - {type: appsink, name: ids, show: ids, drop: false}\n";
  deeplab::Pipeline pipeline = deeplab::Pipeline::from_string(yaml);
  std::mutex mutex;
  std::map<std::string, Seen> seen;
  pipeline.on_frame([&](const deeplab::OutputFrame& f) {
    std::lock_guard<std::mutex> lock(mutex);
    Seen& s = seen[std::string(f.output)];
    ASSERT_TRUE(f.class_map);
    GstDeeplabSegMeta* meta = gst_buffer_get_deeplab_seg_meta(gst_sample_get_buffer(f.sample));
    s.class_map_in_meta += meta && meta->class_map == f.class_map.ids;
    s.planes_equal_ids += f.format == "GRAY8" && rows_equal(f);
    long bottle = 0;
    for (int y = 0; y < f.class_map.height; ++y)
      for (int x = 0; x < f.class_map.width; ++x) bottle += f.class_map.at(x, y) == 5;
    s.bottle_frames += bottle > f.class_map.width * f.class_map.height / 20;
    s.width = f.width, s.height = f.height, s.format = std::string(f.format);
    s.map_width = f.class_map.width, s.map_height = f.class_map.height;
    s.class_5 = f.class_map.names[5];
    s.last_index = f.index;
    ++s.frames;
  });
  const deeplab::RunStats stats = pipeline.run();
  EXPECT_EQ(stats.frames, 6u);
  ASSERT_EQ(seen.size(), 2u);
  for (const char* name : {"rgb", "ids"}) {
    SCOPED_TRACE(name);
    const Seen& s = seen[name];
    EXPECT_EQ(s.frames, 6u);
    EXPECT_EQ(s.last_index, 5u);
    EXPECT_EQ(s.class_map_in_meta, 6u);  // a view of the meta, not a copy
    EXPECT_EQ(s.width, 640);
    EXPECT_EQ(s.height, 360);
    EXPECT_EQ(s.map_width, 640);  // native resolution
    EXPECT_EQ(s.map_height, 360);
    EXPECT_EQ(s.class_5, "bottle");
    EXPECT_EQ(s.bottle_frames, 6u) << "the bottles on the table (about 13 % of each frame) not found";
  }
  EXPECT_EQ(seen["rgb"].format, "RGB");
  EXPECT_EQ(seen["ids"].format, "GRAY8");
  EXPECT_EQ(seen["ids"].planes_equal_ids, 6u);  // deeplabmask mode=ids output == the meta's class map
  ASSERT_EQ(stats.outputs.size(), 2u);
  EXPECT_EQ(stats.outputs[0].frames, 6u);
  EXPECT_EQ(stats.outputs[1].frames, 6u);
}

TEST(Embedding, CallbackExceptionStopsTheRun) {
  deeplab::Pipeline pipeline = deeplab::Pipeline::from_string(
      "source: {type: test, num-buffers: 50, width: 64, height: 48}\nsegmentation: {threads: 2}\n"
      "outputs: [{type: appsink, name: app, drop: false}]\n");
  int calls = 0;
  pipeline.on_frame([&](const deeplab::OutputFrame&) {
    if (++calls == 3) throw std::runtime_error("boom");
  });
  try {
    pipeline.run();
    FAIL() << "run() returned";
  } catch (const deeplab::Error& e) {
    EXPECT_STREQ(e.what(), "outputs.0 (appsink 'app'): frame callback failed: boom");
  }
  EXPECT_EQ(calls, 3);
}

TEST(Embedding, StopFromAnotherThreadFinalisesTheFile) {
  const std::string dir = ptest::scratch_dir();
  deeplab::Pipeline pipeline = deeplab::Pipeline::from_string(
      "source: {type: test, is-live: true, pattern: ball, width: 160, height: 120, framerate: 15}\n"
      "segmentation: {threads: 2}\noutputs:\n  - {type: file, path: " + dir + "/o.mp4}\n"
      "  - {type: appsink, name: app}\n");
  EXPECT_TRUE(pipeline.is_live());
  std::atomic<int> frames{0};
  pipeline.on_frame([&](const deeplab::OutputFrame&) { ++frames; });
  std::thread stopper([&] {
    while (frames.load() < 10) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    pipeline.stop();
  });
  const deeplab::RunStats stats = pipeline.run();
  stopper.join();
  EXPECT_TRUE(stats.stopped);
  EXPECT_GE(stats.outputs[0].frames, 10u);
  EXPECT_EQ(ptest::count_frames(dir + "/o.mp4"), static_cast<std::int64_t>(stats.outputs[0].frames));
  EXPECT_GT(stats.latency_mean_ms, 0.0);
  EXPECT_LE(stats.latency_p95_ms, stats.latency_max_ms);
}

TEST(Embedding, RuntimeErrorsNameTheThing) {
  deeplab::Pipeline pipeline = deeplab::Pipeline::from_string(
      "source: {type: file, path: /nonexistent/clip.mp4}\noutputs: [{type: appsink}]\n");
  try {
    pipeline.run();
    FAIL() << "run() returned";
  } catch (const deeplab::Error& e) {
    EXPECT_EQ(e.code(), deeplab::ErrorCode::kNotFound);
    EXPECT_STREQ(e.what(), "source file '/nonexistent/clip.mp4' not found");
  }
  // An input that exists but is no video: GStreamer's error, attributed to the source.
  const std::string dir = ptest::scratch_dir();
  const std::string text = ptest::write_file(dir + "/notes.mp4", "not a video\n");
  deeplab::Pipeline bad = deeplab::Pipeline::from_string("source: {type: file, path: " + text + "}\noutputs: [{type: appsink}]\n");
  try {
    bad.run();
    FAIL() << "run() returned";
  } catch (const deeplab::Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("source file '" + text + "': ", 0), 0u) << e.what();
  }
}

TEST(Embedding, ExampleProgram) {
  const ptest::ProcessResult clip = ptest::run_process(
      {DEEPLAB_EXAMPLE_PIPELINE_FRAMES, ptest::clip("bottle-detection.mp4"), "--set", "source.max-frames=3"});
  ASSERT_EQ(clip.exit_code, 0) << clip.err;
  for (int k = 0; k < 3; ++k)
    EXPECT_NE(clip.out.find("frame " + std::to_string(k) + " 640x360 RGB: background "), std::string::npos) << clip.out;
  EXPECT_EQ(clip.out.find("frame 3 "), std::string::npos);
  EXPECT_NE(clip.out.find(" bottle "), std::string::npos) << clip.out;
  EXPECT_NE(clip.out.find("3 frames, "), std::string::npos) << clip.out;
  // A still photo is a file source too (decodebin, one frame); it has people in it.
  const ptest::ProcessResult still = ptest::run_process({DEEPLAB_EXAMPLE_PIPELINE_FRAMES, ptest::clip("person.jpg")});
  ASSERT_EQ(still.exit_code, 0) << still.err;
  EXPECT_NE(still.out.find("frame 0 640x424 RGB: "), std::string::npos) << still.out;
  EXPECT_NE(still.out.find("| person centre ("), std::string::npos) << still.out;
  EXPECT_NE(still.out.find("1 frames, "), std::string::npos) << still.out;
}
