// deeplabmask and deeplaboverlay against the meta deeplabseg attached: mask pixels are the meta's
// ids / palette colours at the frame's size; the overlay changes exactly the pixels of drawn classes.
#include <gst/app/gstappsink.h>
#include <gst/check/gstharness.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gst_test_support.h"

using namespace gsttest;

namespace {

const GstVideoFormat kFormats[] = {GST_VIDEO_FORMAT_RGB,  GST_VIDEO_FORMAT_BGR,  GST_VIDEO_FORMAT_RGBA,
                                   GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_BGRx,
                                   GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_I420};

std::string format_name(const ::testing::TestParamInfo<GstVideoFormat>& info) {
  return gst_video_format_to_string(info.param);
}

GstCaps* output_caps(GstHarness* h) { return gst_pad_get_current_caps(h->sinkpad); }

// ---- deeplabmask ---------------------------------------------------------------------------------

class MaskEveryFormat : public ::testing::TestWithParam<GstVideoFormat> {};

TEST_P(MaskEveryFormat, IdsAndColoursMatchTheMeta) {
  const GstVideoFormat format = GetParam();
  const int width = 161, height = 97;  // odd sizes: GRAY8/RGB rows get padded to 4 bytes
  Image image = load_image("person.jpg", width, height);
  for (const char* mode : {"ids", "color"}) {
    SCOPED_TRACE(mode);
    const bool ids = std::string(mode) == "ids";
    GstHarness* h = gst_harness_new_parse((seg() + " ! deeplabmask mode=" + mode).c_str());
    gst_harness_set_src_caps_str(h, caps_string(format, width, height, 25).c_str());
    GstBuffer* in = make_frame(image, format);
    GST_BUFFER_PTS(in) = 40 * GST_MSECOND;
    GstBuffer* out = gst_harness_push_and_pull(h, in);
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(GST_BUFFER_PTS(out), 40 * GST_MSECOND);

    GstCaps* caps = output_caps(h);
    GstVideoInfo info;
    ASSERT_TRUE(gst_video_info_from_caps(&info, caps));
    gst_caps_unref(caps);
    EXPECT_EQ(GST_VIDEO_INFO_FORMAT(&info), ids ? GST_VIDEO_FORMAT_GRAY8 : GST_VIDEO_FORMAT_RGB);
    EXPECT_EQ(GST_VIDEO_INFO_WIDTH(&info), width);
    EXPECT_EQ(GST_VIDEO_INFO_HEIGHT(&info), height);
    EXPECT_EQ(GST_VIDEO_INFO_FPS_N(&info), 25);

    const ClassMap map = class_map_of(out);  // the meta stays on the mask frame
    ASSERT_EQ(map.width, width);
    GstDeeplabSegMeta* meta = gst_buffer_get_deeplab_seg_meta(out);
    ASSERT_NE(meta, nullptr);
    EXPECT_GT(map.fraction(15), 0.01);
    GstVideoFrame frame;
    ASSERT_TRUE(gst_video_frame_map(&frame, &info, out, GST_MAP_READ));
    const guint8* data = static_cast<const guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
    const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) {
        const guint8 c = map.at(x, y);
        if (ids) {
          ASSERT_EQ(data[y * stride + x], c) << x << "," << y;
        } else {
          for (int k = 0; k < 3; ++k) ASSERT_EQ(data[y * stride + 3 * x + k], meta->classes->palette[3 * c + k]);
        }
      }
    gst_video_frame_unmap(&frame);
    gst_buffer_unref(out);
    gst_harness_teardown(h);
  }
}

INSTANTIATE_TEST_SUITE_P(DeeplabMask, MaskEveryFormat, ::testing::ValuesIn(kFormats), format_name);

// resolution=model: the output is the network's input size (257x257 for the tests' model) that
// deeplabseg records in the meta, the frame's map resampled nearest-neighbour (pixel centres).
TEST(DeeplabMask, ModelResolutionGivesTheMapAtTheNetworkInputSize) {
  for (const char* mode : {"ids", "color"}) {
    SCOPED_TRACE(mode);
    const bool ids = std::string(mode) == "ids";
    const std::string description =
        "videotestsrc num-buffers=3 pattern=ball ! video/x-raw,format=RGB,width=160,height=120,framerate=25/1 ! " +
        seg() + " ! deeplabmask resolution=model mode=" + mode + " ! appsink name=sink sync=false";
    GError* error = nullptr;
    GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
    ASSERT_TRUE(pipeline && !error) << (error ? error->message : "?");
    GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    ASSERT_EQ(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_ASYNC);
    int frames = 0;
    while (GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 60 * GST_SECOND)) {
      ++frames;
      GstVideoInfo info;
      ASSERT_TRUE(gst_video_info_from_caps(&info, gst_sample_get_caps(sample)));
      EXPECT_EQ(GST_VIDEO_INFO_FORMAT(&info), ids ? GST_VIDEO_FORMAT_GRAY8 : GST_VIDEO_FORMAT_RGB);
      EXPECT_EQ(GST_VIDEO_INFO_WIDTH(&info), 257);
      EXPECT_EQ(GST_VIDEO_INFO_HEIGHT(&info), 257);
      EXPECT_EQ(GST_VIDEO_INFO_FPS_N(&info), 25);
      GstBuffer* out = gst_sample_get_buffer(sample);
      ASSERT_GE(gst_buffer_get_size(out), GST_VIDEO_INFO_SIZE(&info));

      GstDeeplabSegMeta* meta = gst_buffer_get_deeplab_seg_meta(out);  // the frame's map, kept
      ASSERT_NE(meta, nullptr);
      guint mw = 0, mh = 0;
      ASSERT_TRUE(gst_deeplab_seg_meta_get_model_size(meta, &mw, &mh));
      EXPECT_EQ(mw, 257u);
      EXPECT_EQ(mh, 257u);
      const ClassMap map = class_map_of(out);
      ASSERT_EQ(map.width, 160);
      ASSERT_EQ(map.height, 120);

      GstVideoFrame frame;
      ASSERT_TRUE(gst_video_frame_map(&frame, &info, out, GST_MAP_READ));
      const guint8* data = static_cast<const guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
      const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
      std::vector<int> counts(meta->classes->num_classes, 0);
      for (int y = 0; y < 257; ++y)
        for (int x = 0; x < 257; ++x) {
          const guint8 c = map.at((2 * x + 1) * map.width / (2 * 257), (2 * y + 1) * map.height / (2 * 257));
          ASSERT_LT(c, meta->classes->num_classes);
          ++counts[c];
          if (ids) {
            ASSERT_EQ(data[y * stride + x], c) << x << "," << y;
          } else {
            for (int k = 0; k < 3; ++k)
              ASSERT_EQ(data[y * stride + 3 * x + k], meta->classes->palette[3 * c + k]) << x << "," << y;
          }
        }
      gst_video_frame_unmap(&frame);
      for (guint c = 0; c < meta->classes->num_classes; ++c)
        EXPECT_NEAR(counts[c] / (257.0 * 257.0), map.fraction(static_cast<int>(c)), 0.03) << "class " << c;
      gst_sample_unref(sample);
    }
    EXPECT_EQ(frames, 3);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(sink);
    gst_object_unref(pipeline);
  }
}

// resolution=model through a harness: a frame of another size keeps the model size; the property
// reads back; resolution=frame (the default) keeps the frame's size.
TEST(DeeplabMask, ModelResolutionIndependentOfTheFrameSize) {
  Image image = load_image("person.jpg", 193, 101);
  GstHarness* h = gst_harness_new_parse((seg() + " ! deeplabmask resolution=model").c_str());
  gst_harness_set_src_caps_str(h, caps_string(GST_VIDEO_FORMAT_RGB, 193, 101, 30).c_str());
  GstBuffer* out = gst_harness_push_and_pull(h, make_frame(image, GST_VIDEO_FORMAT_RGB));
  ASSERT_NE(out, nullptr);
  GstCaps* caps = output_caps(h);
  GstVideoInfo info;
  ASSERT_TRUE(gst_video_info_from_caps(&info, caps));
  gst_caps_unref(caps);
  EXPECT_EQ(GST_VIDEO_INFO_WIDTH(&info), 257);
  EXPECT_EQ(GST_VIDEO_INFO_HEIGHT(&info), 257);
  EXPECT_EQ(GST_VIDEO_INFO_FPS_N(&info), 30);
  EXPECT_GE(gst_buffer_get_size(out), GST_VIDEO_INFO_SIZE(&info));
  const ClassMap map = class_map_of(out);
  EXPECT_GT(map.fraction(15), 0.01);
  GstMapInfo m;
  ASSERT_TRUE(gst_buffer_map(out, &m, GST_MAP_READ));
  int person = 0;
  for (int y = 0; y < 257; ++y)
    for (int x = 0; x < 257; ++x) person += m.data[y * GST_VIDEO_INFO_PLANE_STRIDE(&info, 0) + x] == 15;
  gst_buffer_unmap(out, &m);
  EXPECT_NEAR(person / (257.0 * 257.0), map.fraction(15), 0.03);
  gst_buffer_unref(out);
  // A second frame: same caps, same size.
  out = gst_harness_push_and_pull(h, make_frame(image, GST_VIDEO_FORMAT_RGB));
  ASSERT_NE(out, nullptr);
  EXPECT_GE(gst_buffer_get_size(out), GST_VIDEO_INFO_SIZE(&info));
  gst_buffer_unref(out);
  GstElement* mask = gst_harness_find_element(h, "deeplabmask");
  gint resolution = -1;
  g_object_get(mask, "resolution", &resolution, nullptr);
  EXPECT_EQ(resolution, 1);
  gst_object_unref(mask);
  gst_harness_teardown(h);

  GstElement* fresh = gst_element_factory_make("deeplabmask", nullptr);
  g_object_get(fresh, "resolution", &resolution, nullptr);
  EXPECT_EQ(resolution, 0);  // frame
  gst_object_unref(fresh);
}

// Without deeplabseg upstream: one 16x8 frame of `in_value` through `element` (a harness) comes out
// with every byte `out_value`, and a 5-frame pipeline reaches EOS with exactly one warning.
void expect_without_meta(const char* element, GstVideoFormat format, int bytes_per_pixel, guint8 in_value,
                         guint8 out_value) {
  GstHarness* h = gst_harness_new_parse(element);
  gst_harness_set_src_caps_str(h, caps_string(format, 16, 8).c_str());
  GstBuffer* in = gst_buffer_new_allocate(nullptr, 16 * 8 * bytes_per_pixel, nullptr);
  gst_buffer_memset(in, 0, in_value, 16 * 8 * bytes_per_pixel);
  GstBuffer* out = gst_harness_push_and_pull(h, in);
  GstMapInfo map;
  ASSERT_TRUE(gst_buffer_map(out, &map, GST_MAP_READ));
  for (gsize k = 0; k < map.size; ++k) ASSERT_EQ(map.data[k], out_value);
  gst_buffer_unmap(out, &map);
  gst_buffer_unref(out);
  gst_harness_teardown(h);

  const std::string launch =
      std::string("videotestsrc num-buffers=5 ! video/x-raw,width=32,height=24 ! ") + element + " ! fakesink";
  const RunResult r = run_launch(launch, 30 * GST_SECOND);
  EXPECT_TRUE(r.eos);
  EXPECT_EQ(r.warnings.size(), 1u);
}

// Without deeplabseg upstream: class 0 everywhere, one warning.
TEST(DeeplabMask, WithoutMetaGivesZerosAndOneWarning) {
  expect_without_meta("deeplabmask mode=ids", GST_VIDEO_FORMAT_RGB, 3, 200, 0);
}

// ---- deeplaboverlay ------------------------------------------------------------------------------

// Compares every component sample of `before` and `after`: a sample may change only where a pixel
// it covers has a drawn class, and (for full-resolution components) nearly every drawn pixel does
// change. Returns how many samples changed.
struct ChangeStats {
  long changed = 0, drawn = 0, changed_drawn = 0, changed_not_drawn = 0;
};
ChangeStats compare(GstBuffer* before, GstBuffer* after, GstVideoFormat format, const ClassMap& map,
                    const std::vector<bool>& draw, int component) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, format, map.width, map.height);
  GstVideoFrame a, b;
  gst_video_frame_map(&a, &info, before, GST_MAP_READ);
  gst_video_frame_map(&b, &info, after, GST_MAP_READ);
  const int ws = GST_VIDEO_FORMAT_INFO_W_SUB(info.finfo, component);
  const int hs = GST_VIDEO_FORMAT_INFO_H_SUB(info.finfo, component);
  ChangeStats stats;
  for (int cy = 0; cy < GST_VIDEO_FRAME_COMP_HEIGHT(&a, component); ++cy)
    for (int cx = 0; cx < GST_VIDEO_FRAME_COMP_WIDTH(&a, component); ++cx) {
      bool drawn = false;
      for (int y = cy << hs; y < std::min((cy + 1) << hs, map.height); ++y)
        for (int x = cx << ws; x < std::min((cx + 1) << ws, map.width); ++x) drawn |= draw[y * map.width + x];
      const auto off = cy * GST_VIDEO_FRAME_COMP_STRIDE(&a, component) + cx * GST_VIDEO_FRAME_COMP_PSTRIDE(&a, component);
      const bool changed = static_cast<const guint8*>(GST_VIDEO_FRAME_COMP_DATA(&a, component))[off] !=
                           static_cast<const guint8*>(GST_VIDEO_FRAME_COMP_DATA(&b, component))[off];
      stats.changed += changed;
      stats.drawn += drawn;
      stats.changed_drawn += changed && drawn;
      stats.changed_not_drawn += changed && !drawn;
    }
  gst_video_frame_unmap(&a);
  gst_video_frame_unmap(&b);
  return stats;
}

// Runs `overlay` after deeplabseg on a still in `format`; returns the frame before, after, and the map.
struct OverlayRun {
  GstBuffer* before = nullptr;
  GstBuffer* after = nullptr;
  ClassMap map;
  ~OverlayRun() {
    if (before) gst_buffer_unref(before);
    if (after) gst_buffer_unref(after);
  }
};
void run_overlay(const std::string& overlay, GstVideoFormat format, int width, int height, OverlayRun* run) {
  GstHarness* h = gst_harness_new_parse((seg() + " ! " + overlay).c_str());
  gst_harness_set_src_caps_str(h, caps_string(format, width, height).c_str());
  Image image = load_image("person.jpg", width, height);
  GstBuffer* in = make_frame(image, format);
  run->before = gst_buffer_copy_deep(in);
  run->after = gst_harness_push_and_pull(h, in);
  ASSERT_NE(run->after, nullptr);
  run->map = class_map_of(run->after);
  gst_harness_teardown(h);
}

class OverlayEveryFormat : public ::testing::TestWithParam<GstVideoFormat> {};

TEST_P(OverlayEveryFormat, ChangesExactlyThePixelsOfDrawnClasses) {
  const GstVideoFormat format = GetParam();
  OverlayRun run;
  run_overlay("deeplaboverlay alpha=0.5", format, 161, 97, &run);
  ASSERT_GT(run.map.fraction(15), 0.01);
  std::vector<bool> draw(run.map.ids.size());
  for (std::size_t k = 0; k < draw.size(); ++k) draw[k] = run.map.ids[k] != 0;
  for (int c = 0; c < 3; ++c) {
    SCOPED_TRACE("component " + std::to_string(c));
    const ChangeStats s = compare(run.before, run.after, format, run.map, draw, c);
    EXPECT_EQ(s.changed_not_drawn, 0) << "pixels of background changed";
    // Luma and RGB: a drawn pixel stays the same only where it already was the blend's result.
    if (c == 0 || !(format == GST_VIDEO_FORMAT_NV12 || format == GST_VIDEO_FORMAT_I420)) {
      EXPECT_GT(s.changed_drawn, 0.5 * s.drawn) << s.changed_drawn << " of " << s.drawn;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(DeeplabOverlay, OverlayEveryFormat, ::testing::ValuesIn(kFormats), format_name);

// alpha=1 paints the exact palette colour (RGB formats); classes= restricts what is drawn.
TEST(DeeplabOverlay, OpaqueColoursAndClassSelection) {
  OverlayRun run;
  run_overlay("deeplaboverlay alpha=1.0 classes=person", GST_VIDEO_FORMAT_RGB, 160, 120, &run);
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, 160, 120);
  GstVideoFrame a, b;
  ASSERT_TRUE(gst_video_frame_map(&a, &info, run.before, GST_MAP_READ));
  ASSERT_TRUE(gst_video_frame_map(&b, &info, run.after, GST_MAP_READ));
  const auto* pa = static_cast<const guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&a, 0));
  const auto* pb = static_cast<const guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&b, 0));
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&a, 0);
  bool other_class_seen = false;
  for (int y = 0; y < 120; ++y)
    for (int x = 0; x < 160; ++x) {
      const guint8 c = run.map.at(x, y);
      const guint8* before = pa + y * stride + 3 * x;
      const guint8* after = pb + y * stride + 3 * x;
      if (c == 15) {
        ASSERT_EQ(after[0], 192);
        ASSERT_EQ(after[1], 128);
        ASSERT_EQ(after[2], 128);
      } else {
        other_class_seen |= c != 0;
        for (int k = 0; k < 3; ++k) ASSERT_EQ(after[k], before[k]) << "class " << int(c) << " was not selected";
      }
    }
  EXPECT_TRUE(other_class_seen) << "the still should show a class besides person, to test the selection";
  gst_video_frame_unmap(&a);
  gst_video_frame_unmap(&b);
}

// outline=true: only boundary pixels of drawn classes change (a subset of the filled area).
TEST(DeeplabOverlay, OutlineDrawsOnlyBoundaries) {
  OverlayRun run;
  run_overlay("deeplaboverlay outline=true", GST_VIDEO_FORMAT_BGRx, 160, 120, &run);
  const ClassMap& m = run.map;
  std::vector<bool> boundary(m.ids.size()), filled(m.ids.size());
  for (int y = 0; y < m.height; ++y)
    for (int x = 0; x < m.width; ++x) {
      const guint8 c = m.at(x, y);
      filled[y * m.width + x] = c != 0;
      bool edge = false;
      for (int d = 1; d <= 2; ++d)
        edge |= (x >= d && m.at(x - d, y) != c) || (x + d < m.width && m.at(x + d, y) != c) ||
                (y >= d && m.at(x, y - d) != c) || (y + d < m.height && m.at(x, y + d) != c);
      boundary[y * m.width + x] = c != 0 && edge;
    }
  const ChangeStats outline = compare(run.before, run.after, GST_VIDEO_FORMAT_BGRx, m, boundary, 0);
  const ChangeStats fill = compare(run.before, run.after, GST_VIDEO_FORMAT_BGRx, m, filled, 0);
  EXPECT_EQ(outline.changed_not_drawn, 0);
  EXPECT_GT(outline.changed, 0);
  EXPECT_LT(outline.changed, fill.drawn) << "the outline should be thinner than the filled area";
}

// legend=true (alpha 0, so only the legend draws): changes stay in a box at the top left.
TEST(DeeplabOverlay, LegendStaysInItsBox) {
  OverlayRun run;
  run_overlay("deeplaboverlay alpha=0 legend=true", GST_VIDEO_FORMAT_I420, 160, 120, &run);
  int present = 0;
  for (int c = 1; c < 21; ++c) present += run.map.fraction(c) > 0;
  const int max_y = 3 + present * 11 + 3;  // pad + one 11-pixel line per class + pad, at scale 1
  std::vector<bool> box(run.map.ids.size());
  for (int y = 0; y < run.map.height; ++y)
    for (int x = 0; x < run.map.width; ++x) box[y * run.map.width + x] = y < max_y;
  const ChangeStats s = compare(run.before, run.after, GST_VIDEO_FORMAT_I420, run.map, box, 0);
  EXPECT_GT(s.changed, 100);
  EXPECT_EQ(s.changed_not_drawn, 0) << "legend pixels outside its box";
}

// Without deeplabseg upstream: frames pass unchanged, with one warning.
TEST(DeeplabOverlay, WithoutMetaPassesThroughWithOneWarning) {
  expect_without_meta("deeplaboverlay", GST_VIDEO_FORMAT_RGBA, 4, 77, 77);
}

}  // namespace
