// Whole pipelines: the real clip through decodebin into an appsink that reads the meta through the
// public header, checked against an independent foreground estimate; memory over 2000 frames; live
// latency and QoS; the gst-launch lines the elements document.
#include <gst/app/gstappsink.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include "gst_test_support.h"

using namespace gsttest;

namespace {

// One frame of the clip: the class map, and the frame's Y, U, V planes (4:2:0) for the foreground.
struct ClipFrame {
  ClassMap map;
  std::vector<guint8> y, u, v;
  int width = 0, height = 0;
};

std::vector<ClipFrame> read_clip(const std::string& description, int max_frames) {
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  EXPECT_NE(pipeline, nullptr) << (error ? error->message : "");
  std::vector<ClipFrame> frames;
  if (!pipeline) return frames;
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  while (static_cast<int>(frames.size()) < max_frames) {
    GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 120 * GST_SECOND);
    if (!sample) break;
    GstVideoInfo info;
    gst_video_info_from_caps(&info, gst_sample_get_caps(sample));
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    ClipFrame f;
    // The public API, as an application would use it.
    GstDeeplabSegMeta* meta = gst_buffer_get_deeplab_seg_meta(buffer);
    EXPECT_NE(meta, nullptr);
    if (meta) {
      guint n = 0;
      const gchar* const* names = gst_deeplab_seg_meta_get_class_names(meta, &n);
      EXPECT_EQ(n, 21u);
      EXPECT_STREQ(names[15], "person");
    }
    f.map = class_map_of(buffer);
    f.width = GST_VIDEO_INFO_WIDTH(&info);
    f.height = GST_VIDEO_INFO_HEIGHT(&info);
    GstVideoFrame frame;
    if (gst_video_frame_map(&frame, &info, buffer, GST_MAP_READ)) {
      for (int c = 0; c < 3; ++c) {
        std::vector<guint8>& plane = c == 0 ? f.y : c == 1 ? f.u : f.v;
        const int w = GST_VIDEO_FRAME_COMP_WIDTH(&frame, c), h = GST_VIDEO_FRAME_COMP_HEIGHT(&frame, c);
        plane.resize(static_cast<std::size_t>(w) * h);
        for (int row = 0; row < h; ++row)
          std::copy_n(static_cast<const guint8*>(GST_VIDEO_FRAME_COMP_DATA(&frame, c)) +
                          row * GST_VIDEO_FRAME_COMP_STRIDE(&frame, c),
                      w, plane.begin() + static_cast<std::ptrdiff_t>(row) * w);
      }
      gst_video_frame_unmap(&frame);
    }
    gst_sample_unref(sample);
    frames.push_back(std::move(f));
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return frames;
}

// The clip (people walking into an empty room, static camera) at 2 frames per second for 75 s,
// I420 straight from the decoder into deeplabseg. Independent check: the foreground (pixels that
// differ from the first frame, which shows the empty room) must hold most of the person pixels.
TEST(DeeplabPipelines, PersonClipThroughAppsink) {
  const std::string clip = shared_dir() + "/media/one-by-one-person-detection.mp4";
  const std::vector<ClipFrame> frames = read_clip(
      "filesrc location=" + clip + " ! decodebin ! videorate drop-only=true ! video/x-raw,format=I420,framerate=2/1 ! " +
          seg() + " ! appsink name=sink sync=false max-buffers=4",
      150);
  ASSERT_GE(frames.size(), 140u);
  const ClipFrame& empty_room = frames.front();
  ASSERT_EQ(empty_room.map.width, 768);
  ASSERT_EQ(empty_room.map.height, 432);

  int with_person = 0;
  double precision_sum = 0, recall_sum = 0;
  for (std::size_t k = 0; k < frames.size(); ++k) {
    const ClipFrame& f = frames[k];
    ASSERT_EQ(f.map.width, f.width);
    ASSERT_EQ(f.map.height, f.height);
    const double person = f.map.fraction(15);
    if (k < 10) {  // the first 5 s: nobody in the room yet
      EXPECT_LT(person, 0.005) << "frame " << k << " shows a person in the empty room";
      continue;
    }
    if (person < 0.05) continue;
    ++with_person;
    long person_px = 0, person_fg = 0, fg_px = 0, top_band = 0;
    double sum_y = 0;
    const int w = f.width, h = f.height, cw = (w + 1) / 2;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const std::size_t i = static_cast<std::size_t>(y) * w + x, ci = static_cast<std::size_t>(y / 2) * cw + x / 2;
        const int d = std::max({std::abs(f.y[i] - empty_room.y[i]), 2 * std::abs(f.u[ci] - empty_room.u[ci]),
                                2 * std::abs(f.v[ci] - empty_room.v[ci])});
        const bool fg = d > 40;
        const bool is_person = f.map.at(x, y) == 15;
        fg_px += fg;
        person_px += is_person;
        person_fg += is_person && fg;
        if (is_person) {
          sum_y += y;
          top_band += y < h / 10;
        }
      }
    const double precision = static_cast<double>(person_fg) / person_px;
    const double recall = fg_px ? static_cast<double>(person_fg) / fg_px : 0;
    const double centre_y = sum_y / person_px / h;
    std::printf("frame %3zu: person %4.1f%%, foreground %4.1f%%, person in foreground %.2f, foreground that is "
                "person %.2f, centre y %.2f\n",
                k, 100 * person, 100.0 * fg_px / (w * h), precision, recall, centre_y);
    EXPECT_GE(precision, 0.5) << "frame " << k << ": person pixels outside the moving foreground";
    EXPECT_LT(static_cast<double>(top_band) / person_px, 0.2) << "frame " << k << ": person pixels in the top band";
    EXPECT_GT(centre_y, 0.2);
    EXPECT_LT(centre_y, 0.9);
    precision_sum += precision;
    recall_sum += recall;
  }
  std::printf("%d frames with a person area >= 5%%; mean precision %.2f, recall %.2f\n", with_person,
              precision_sum / std::max(with_person, 1), recall_sum / std::max(with_person, 1));
  EXPECT_GE(with_person, 40);
  EXPECT_GE(precision_sum / with_person, 0.7);
  EXPECT_GE(recall_sum / with_person, 0.4);
}

TEST(DeeplabPipelines, MemoryFlatOver2000Frames) {
  // Through deeplabseg ! deeplaboverlay.
  expect_flat_memory("video/x-raw,width=64,height=48,format=I420 ! " + seg() + " ! deeplaboverlay legend=true", 200,
                     2000, 1024);  // a leaked 64x48 class map per frame would be 5.4 MiB
}

TEST(DeeplabPipelines, MemoryFlatWithProbabilities) {
  // A leak would be 5.3 MiB of probabilities per frame.
  expect_flat_memory("video/x-raw,width=64,height=48,format=I420 ! " + seg("emit-probabilities=true") +
                         " ! deeplaboverlay legend=true",
                     50, 200, 4096);
}

// A live source faster than the model: the LATENCY query includes deeplabseg's processing time,
// late frames are dropped and QoS messages posted.
TEST(DeeplabPipelines, LiveSourceGetsLatencyAndQos) {
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(
      ("videotestsrc is-live=true num-buffers=300 ! video/x-raw,width=64,height=48,framerate=200/1 ! " + seg() +
       " ! fakesink name=sink sync=true qos=true")
          .c_str(),
      &error);
  ASSERT_NE(pipeline, nullptr);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  ASSERT_NE(gst_element_get_state(pipeline, nullptr, nullptr, 60 * GST_SECOND), GST_STATE_CHANGE_FAILURE);
  GstQuery* query = gst_query_new_latency();
  ASSERT_TRUE(gst_element_query(pipeline, query));
  gboolean live = FALSE;
  GstClockTime min = 0, max = 0;
  gst_query_parse_latency(query, &live, &min, &max);
  gst_query_unref(query);
  std::printf("pipeline latency: live %d, min %.1f ms, max %.1f ms\n", live, min / 1e6,
              GST_CLOCK_TIME_IS_VALID(max) ? max / 1e6 : -1.0);
  EXPECT_TRUE(live);
  // videotestsrc alone reports one frame (5 ms); the model takes longer than nothing.
  EXPECT_GT(min, GST_SECOND / 200 + GST_MSECOND);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  const RunResult r = run_pipeline(pipeline, 120 * GST_SECOND);
  gst_object_unref(pipeline);
  EXPECT_TRUE(r.eos);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_GT(r.qos_from_seg, 0) << "a 200 fps live stream should make deeplabseg drop late frames";
}

// Every element's description carries a gst-launch-1.0 line; each runs (on the shared clip, a few
// frames, to a fake or temporary sink).
TEST(DeeplabPipelines, DocumentedLaunchLinesRun) {
  const std::string clip = shared_dir() + "/media/one-by-one-person-detection.mp4";
  for (const char* name : {"deeplabseg", "deeplaboverlay", "deeplabmask"}) {
    SCOPED_TRACE(name);
    GstElementFactory* factory = gst_element_factory_find(name);
    ASSERT_NE(factory, nullptr);
    const std::string description = gst_element_factory_get_metadata(factory, GST_ELEMENT_METADATA_DESCRIPTION);
    gst_object_unref(factory);
    const auto at = description.find("gst-launch-1.0 ");
    ASSERT_NE(at, std::string::npos) << "no gst-launch-1.0 line in: " << description;
    std::string line = description.substr(at + 15);
    line = line.substr(0, line.find('\n'));
    line = std::regex_replace(line, std::regex("location=video\\.mp4"), "location=" + clip);
    line = std::regex_replace(line, std::regex("decodebin !"), "decodebin ! identity eos-after=3 !");
    line = std::regex_replace(line, std::regex("deeplabseg"), seg());
    line = std::regex_replace(line, std::regex("autovideosink"), "fakesink");
    line = std::regex_replace(line, std::regex("location=([a-z]+)"), "location=" + work_dir() + "/doc-$1");
    std::printf("%s\n", line.c_str());
    const RunResult r = run_launch(line, 120 * GST_SECOND);
    EXPECT_TRUE(r.eos) << line;
    EXPECT_TRUE(r.errors.empty()) << r.errors.front();
  }
}

}  // namespace
