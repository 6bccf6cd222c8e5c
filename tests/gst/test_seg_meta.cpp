// deeplabseg through GstHarness: the meta on every frame, for every accepted format, odd sizes and
// padded strides; caps it refuses; resolution changes; timestamps; classes; probabilities. Plus the
// meta library on its own (copies share, scaling resamples).
#include <gst/check/gstharness.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "gst_test_support.h"

using namespace gsttest;

namespace {

const GstVideoFormat kFormats[] = {GST_VIDEO_FORMAT_RGB,  GST_VIDEO_FORMAT_BGR,  GST_VIDEO_FORMAT_RGBA,
                                   GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_BGRx,
                                   GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_I420};

bool is_yuv(GstVideoFormat f) { return f == GST_VIDEO_FORMAT_NV12 || f == GST_VIDEO_FORMAT_I420; }

double agreement(const ClassMap& a, const ClassMap& b) {
  if (a.ids.size() != b.ids.size() || a.ids.empty()) return 0;
  std::size_t same = 0;
  for (std::size_t k = 0; k < a.ids.size(); ++k) same += a.ids[k] == b.ids[k];
  return static_cast<double>(same) / a.ids.size();
}

// Pushes `buffer` (transfer full) with caps for it and returns the class map of the output.
ClassMap segment(GstHarness* h, GstBuffer* buffer, GstVideoFormat format, int width, int height) {
  gst_harness_set_src_caps_str(h, caps_string(format, width, height).c_str());
  GstBuffer* out = gst_harness_push_and_pull(h, buffer);
  EXPECT_NE(out, nullptr);
  ClassMap map = class_map_of(out);
  if (out) gst_buffer_unref(out);
  return map;
}

class EveryFormat : public ::testing::TestWithParam<GstVideoFormat> {};

// For each size (one ordinary, two odd): the meta is there at the frame's size with valid ids and
// names; a frame with padded rows (GstVideoMeta strides, padding filled with junk) gives exactly
// the same map as the tightly packed frame; packed RGB formats give exactly the map of RGB (the
// same pixel values), NV12/I420 nearly (they went through a lossy conversion).
TEST_P(EveryFormat, MetaAtFrameSizeForOddSizesAndStrides) {
  const GstVideoFormat format = GetParam();
  GstHarness* h = gst_harness_new_parse(seg().c_str());
  struct Size {
    int w, h;
  };
  for (Size size : {Size{64, 48}, Size{33, 17}, Size{161, 97}}) {
    SCOPED_TRACE(std::string(gst_video_format_to_string(format)) + " " + std::to_string(size.w) + "x" +
                 std::to_string(size.h));
    Image image = load_image("person.jpg", size.w, size.h);
    ASSERT_NE(image.buffer, nullptr);
    const ClassMap reference = segment(h, make_frame(image, GST_VIDEO_FORMAT_RGB), GST_VIDEO_FORMAT_RGB, size.w, size.h);
    const ClassMap tight = segment(h, make_frame(image, format), format, size.w, size.h);
    const ClassMap padded = segment(h, make_frame(image, format, 7), format, size.w, size.h);
    ASSERT_EQ(tight.width, size.w);
    ASSERT_EQ(tight.height, size.h);
    ASSERT_EQ(padded.width, size.w);
    ASSERT_EQ(padded.height, size.h);
    for (guint8 c : tight.ids) ASSERT_LT(c, 21);
    EXPECT_EQ(tight.ids, padded.ids) << "padded rows changed the result";
    if (is_yuv(format)) EXPECT_GE(agreement(tight, reference), 0.8);
    else EXPECT_EQ(tight.ids, reference.ids) << "the same RGB values in another byte order changed the result";
  }
  // The names and palette travel with the meta.
  gst_harness_set_src_caps_str(h, caps_string(format, 64, 48).c_str());
  GstBuffer* out = gst_harness_push_and_pull(h, make_frame(load_image("person.jpg", 64, 48), format));
  GstDeeplabSegMeta* meta = gst_buffer_get_deeplab_seg_meta(out);
  ASSERT_NE(meta, nullptr);
  guint n = 0;
  const gchar* const* names = gst_deeplab_seg_meta_get_class_names(meta, &n);
  ASSERT_EQ(n, 21u);
  EXPECT_STREQ(names[0], "background");
  EXPECT_STREQ(names[15], "person");
  EXPECT_EQ(names[21], nullptr);
  EXPECT_EQ(meta->classes->palette[3 * 15 + 0], 192);  // VOC person colour (192,128,128)
  EXPECT_EQ(meta->prob_width, 0u);
  EXPECT_EQ(meta->probabilities, nullptr);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}

INSTANTIATE_TEST_SUITE_P(DeeplabSeg, EveryFormat, ::testing::ValuesIn(kFormats),
                         [](const ::testing::TestParamInfo<GstVideoFormat>& info) {
                           return std::string(gst_video_format_to_string(info.param));
                         });

// NV12 and I420 holding the same Y'CbCr samples segment identically.
TEST(DeeplabSeg, Nv12AndI420AgreeExactly) {
  GstHarness* h = gst_harness_new_parse(seg().c_str());
  Image image = load_image("person.jpg", 97, 61);
  const ClassMap nv12 = segment(h, make_frame(image, GST_VIDEO_FORMAT_NV12, 3), GST_VIDEO_FORMAT_NV12, 97, 61);
  const ClassMap i420 = segment(h, make_frame(image, GST_VIDEO_FORMAT_I420), GST_VIDEO_FORMAT_I420, 97, 61);
  EXPECT_EQ(nv12.ids, i420.ids);
  gst_harness_teardown(h);
}

// Caps the engine cannot read are refused by every element.
TEST(DeeplabSeg, RefusesUnsupportedCaps) {
  for (const char* factory : {"deeplabseg", "deeplaboverlay", "deeplabmask"}) {
    SCOPED_TRACE(factory);
    GstElement* element = gst_element_factory_make(factory, nullptr);
    ASSERT_NE(element, nullptr) << "plugin not found: GST_PLUGIN_PATH=" << g_getenv("GST_PLUGIN_PATH");
    GstPad* sink = gst_element_get_static_pad(element, "sink");
    for (const char* refused : {"video/x-raw,format=GRAY16_LE,width=64,height=48,framerate=30/1",
                                "video/x-raw,format=YUY2,width=64,height=48,framerate=30/1",
                                "video/x-raw(memory:GLMemory),format=RGBA,width=64,height=48,framerate=30/1",
                                "audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved"}) {
      GstCaps* caps = gst_caps_from_string(refused);
      EXPECT_FALSE(gst_pad_query_accept_caps(sink, caps)) << refused;
      gst_caps_unref(caps);
    }
    GstCaps* accepted = gst_caps_from_string("video/x-raw,format=NV12,width=33,height=17,framerate=30/1");
    EXPECT_TRUE(gst_pad_query_accept_caps(sink, accepted));
    gst_caps_unref(accepted);
    gst_object_unref(sink);
    gst_object_unref(element);
  }
  // And a stream that pushes them anyway fails to negotiate instead of crashing.
  GstHarness* h = gst_harness_new_parse(seg().c_str());
  gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY16_LE,width=64,height=48,framerate=30/1");
  EXPECT_EQ(gst_harness_push(h, gst_buffer_new_allocate(nullptr, 64 * 48 * 2, nullptr)), GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown(h);
}

// Size and format changes in the middle of a stream: each frame's meta has that frame's size, and
// timestamps pass untouched.
TEST(DeeplabSeg, FollowsResolutionChangesMidStream) {
  GstHarness* h = gst_harness_new_parse(seg().c_str());
  struct Step {
    GstVideoFormat format;
    int w, h;
  };
  const Step steps[] = {{GST_VIDEO_FORMAT_RGB, 64, 48},
                        {GST_VIDEO_FORMAT_NV12, 160, 120},
                        {GST_VIDEO_FORMAT_I420, 33, 17},
                        {GST_VIDEO_FORMAT_BGRx, 200, 50},
                        {GST_VIDEO_FORMAT_RGB, 64, 48}};
  GstClockTime pts = 0;
  for (const Step& step : steps) {
    Image image = load_image("person.jpg", step.w, step.h);
    gst_harness_set_src_caps_str(h, caps_string(step.format, step.w, step.h).c_str());
    for (int k = 0; k < 2; ++k, pts += GST_SECOND / 30) {
      GstBuffer* in = make_frame(image, step.format);
      GST_BUFFER_PTS(in) = pts;
      GST_BUFFER_DTS(in) = pts;
      GST_BUFFER_DURATION(in) = GST_SECOND / 30;
      GstBuffer* out = gst_harness_push_and_pull(h, in);
      ASSERT_NE(out, nullptr);
      const ClassMap map = class_map_of(out);
      EXPECT_EQ(map.width, step.w);
      EXPECT_EQ(map.height, step.h);
      EXPECT_EQ(GST_BUFFER_PTS(out), pts);
      EXPECT_EQ(GST_BUFFER_DTS(out), pts);
      EXPECT_EQ(GST_BUFFER_DURATION(out), GST_SECOND / 30);
      gst_buffer_unref(out);
    }
  }
  gst_harness_teardown(h);
}

// aspect=keep: the network input follows each frame's aspect (re-planned at the caps change), as the
// meta's model size tells; with the 513x513 TFLite VOC model, 4:3 -> 513x385 and 3:4 -> 385x513.
TEST(DeeplabSeg, AspectKeepFollowsTheFrame) {
  const std::string model = shared_dir() + "/models/deeplabv3_mnv2_pascal_quant.tflite";
  if (!g_file_test(model.c_str(), G_FILE_TEST_EXISTS)) GTEST_SKIP() << model << " is absent";
  GstHarness* h = gst_harness_new_parse(("deeplabseg model=" + model + " threads=2 aspect=keep").c_str());
  const struct {
    int w, h;
    guint model_w, model_h;
  } steps[] = {{480, 360, 513, 385}, {360, 480, 385, 513}};
  for (const auto& step : steps) {
    gst_harness_set_src_caps_str(h, caps_string(GST_VIDEO_FORMAT_RGB, step.w, step.h).c_str());
    GstBuffer* out = gst_harness_push_and_pull(h, make_frame(load_image("person.jpg", step.w, step.h), GST_VIDEO_FORMAT_RGB));
    ASSERT_NE(out, nullptr);
    GstDeeplabSegMeta* meta = gst_buffer_get_deeplab_seg_meta(out);
    ASSERT_NE(meta, nullptr);
    guint w = 0, hh = 0;
    EXPECT_TRUE(gst_deeplab_seg_meta_get_model_size(meta, &w, &hh));
    EXPECT_EQ(w, step.model_w);
    EXPECT_EQ(hh, step.model_h);
    EXPECT_EQ(class_map_of(out).width, step.w);
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
}

// A buffer that is not writable (another reference is held, as after a tee) gets the meta on a
// shallow copy: the frame's memory is shared, not copied, and the original stays without a meta.
TEST(DeeplabSeg, SharedBufferIsNotDeepCopied) {
  GstHarness* h = gst_harness_new_parse(seg().c_str());
  Image image = load_image("person.jpg", 64, 48);
  gst_harness_set_src_caps_str(h, caps_string(GST_VIDEO_FORMAT_NV12, 64, 48).c_str());
  GstBuffer* in = make_frame(image, GST_VIDEO_FORMAT_NV12);
  gst_buffer_ref(in);  // a second owner: not writable
  GstBuffer* out = gst_harness_push_and_pull(h, in);
  ASSERT_NE(out, nullptr);
  EXPECT_NE(out, in);
  EXPECT_EQ(gst_buffer_peek_memory(out, 0), gst_buffer_peek_memory(in, 0)) << "the frame's memory was copied";
  EXPECT_NE(gst_buffer_get_deeplab_seg_meta(out), nullptr);
  EXPECT_EQ(gst_buffer_get_deeplab_seg_meta(in), nullptr);
  gst_buffer_unref(out);
  gst_buffer_unref(in);
  gst_harness_teardown(h);
}

// `classes` keeps the named classes (names or ids) and reports every other class as 0; it can be
// changed while playing.
TEST(DeeplabSeg, ClassesKeepsOnlyTheNamedClasses) {
  GstHarness* h = gst_harness_new_parse(seg().c_str());
  GstElement* element = gst_harness_find_element(h, "deeplabseg");
  Image image = load_image("person.jpg", 160, 120);
  const ClassMap full = segment(h, make_frame(image, GST_VIDEO_FORMAT_RGB), GST_VIDEO_FORMAT_RGB, 160, 120);
  ASSERT_GT(full.fraction(15), 0.01) << "the still should show a person";
  int other = -1;  // some non-person class present in the full map
  for (guint8 c : full.ids)
    if (c != 0 && c != 15) other = c;
  ASSERT_GE(other, 0) << "the still should show a class besides person";
  for (const std::string spec : {"person", " 15 ", "PERSON,no-such-class"}) {
    SCOPED_TRACE(spec);
    g_object_set(element, "classes", spec.c_str(), nullptr);
    const ClassMap kept = segment(h, make_frame(image, GST_VIDEO_FORMAT_RGB), GST_VIDEO_FORMAT_RGB, 160, 120);
    ASSERT_EQ(kept.ids.size(), full.ids.size());
    for (std::size_t k = 0; k < full.ids.size(); ++k) ASSERT_EQ(kept.ids[k], full.ids[k] == 15 ? 15 : 0);
  }
  g_object_set(element, "classes", ("person," + std::to_string(other)).c_str(), nullptr);
  const ClassMap two = segment(h, make_frame(image, GST_VIDEO_FORMAT_RGB), GST_VIDEO_FORMAT_RGB, 160, 120);
  for (std::size_t k = 0; k < full.ids.size(); ++k)
    ASSERT_EQ(two.ids[k], full.ids[k] == 15 || full.ids[k] == other ? full.ids[k] : 0);
  g_object_set(element, "classes", "", nullptr);
  EXPECT_EQ(segment(h, make_frame(image, GST_VIDEO_FORMAT_RGB), GST_VIDEO_FORMAT_RGB, 160, 120).ids, full.ids);
  gst_object_unref(element);
  gst_harness_teardown(h);
}

// emit-probabilities: num_classes planes at the network's input size, each pixel a distribution.
TEST(DeeplabSeg, EmitsProbabilities) {
  GstHarness* h = gst_harness_new_parse(seg("emit-probabilities=true").c_str());
  Image image = load_image("person.jpg", 96, 64);
  gst_harness_set_src_caps_str(h, caps_string(GST_VIDEO_FORMAT_RGB, 96, 64).c_str());
  for (int frame = 0; frame < 3; ++frame) {
    GstBuffer* out = gst_harness_push_and_pull(h, make_frame(image, GST_VIDEO_FORMAT_RGB));
    GstDeeplabSegMeta* meta = gst_buffer_get_deeplab_seg_meta(out);
    ASSERT_NE(meta, nullptr);
    ASSERT_NE(meta->probabilities, nullptr);
    ASSERT_EQ(meta->prob_width, 257u);
    ASSERT_EQ(meta->prob_height, 257u);
    const std::size_t plane = 257 * 257;
    double person_mass = 0;
    for (std::size_t px = 0; px < plane; px += 97) {
      double sum = 0;
      for (int c = 0; c < 21; ++c) {
        const float p = meta->probabilities[c * plane + px];
        ASSERT_GE(p, 0.0f);
        ASSERT_LE(p, 1.0f);
        sum += p;
      }
      ASSERT_NEAR(sum, 1.0, 1e-3) << "pixel " << px;
      person_mass += meta->probabilities[15 * plane + px];
    }
    EXPECT_GT(person_mass, 1.0) << "a still with a person has some person probability";
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
}

// The meta library alone: a buffer copy shares the class map (no byte copy), a scale transform
// resamples it (nearest neighbour), the class names resolve by name or id.
TEST(DeeplabSegMeta, CopySharesAndScaleResamples) {
  const gchar* names[] = {"background", "thing", "other", nullptr};
  GstDeeplabClassInfo* info = gst_deeplab_class_info_new(3, names, nullptr);
  EXPECT_EQ(gst_deeplab_class_info_find(info, "Thing"), 1);
  EXPECT_EQ(gst_deeplab_class_info_find(info, "2"), 2);
  EXPECT_EQ(gst_deeplab_class_info_find(info, "3"), -1);
  EXPECT_EQ(gst_deeplab_class_info_find(info, "nothing"), -1);
  EXPECT_EQ(info->palette[3 * 1 + 0], 128);  // VOC colour of class 1: (128, 0, 0)

  const guint w = 10, h = 6, stride = 12;
  GstBuffer* map = gst_buffer_new_allocate(nullptr, stride * h, nullptr);
  GstMapInfo mi;
  gst_buffer_map(map, &mi, GST_MAP_WRITE);
  for (guint y = 0; y < h; ++y)
    for (guint x = 0; x < stride; ++x) mi.data[y * stride + x] = x < w ? static_cast<guint8>((x / 5) + (y / 3)) : 99;
  gst_buffer_unmap(map, &mi);
  GstBuffer* frame = gst_buffer_new_allocate(nullptr, 16, nullptr);
  GstDeeplabSegMeta* meta = gst_buffer_add_deeplab_seg_meta(frame, map, w, h, stride, info);
  ASSERT_NE(meta, nullptr);
  gst_deeplab_class_info_unref(info);  // the meta holds its own reference

  GstBuffer* copy = gst_buffer_copy(frame);
  GstDeeplabSegMeta* copied = gst_buffer_get_deeplab_seg_meta(copy);
  ASSERT_NE(copied, nullptr);
  EXPECT_EQ(copied->class_map, meta->class_map) << "a copy should share the class map";
  EXPECT_EQ(copied->classes, meta->classes);
  EXPECT_EQ(gst_deeplab_seg_meta_get_class_map_buffer(copied), map);
  gst_buffer_unref(frame);  // the copy keeps the data alive
  const guint8* data = nullptr;
  guint cw = 0, ch = 0, cs = 0;
  ASSERT_TRUE(gst_deeplab_seg_meta_get_class_map(copied, &data, &cw, &ch, &cs));
  EXPECT_EQ(data[5 * cs + 9], 2);

  GstVideoInfo in_info, out_info;
  gst_video_info_set_format(&in_info, GST_VIDEO_FORMAT_RGB, w, h);
  gst_video_info_set_format(&out_info, GST_VIDEO_FORMAT_RGB, 5, 12);
  GstVideoMetaTransform scale = {&in_info, &out_info};
  GstBuffer* scaled_frame = gst_buffer_new_allocate(nullptr, 16, nullptr);
  ASSERT_TRUE(copied->meta.info->transform_func(scaled_frame, &copied->meta, copy,
                                                gst_video_meta_transform_scale_get_quark(), &scale));
  GstDeeplabSegMeta* scaled = gst_buffer_get_deeplab_seg_meta(scaled_frame);
  ASSERT_NE(scaled, nullptr);
  ASSERT_EQ(scaled->width, 5u);
  ASSERT_EQ(scaled->height, 12u);
  for (guint y = 0; y < 12; ++y)
    for (guint x = 0; x < 5; ++x) {
      const guint sx = (2 * x + 1) * w / 10, sy = (2 * y + 1) * h / 24;  // nearest source pixel
      ASSERT_EQ(scaled->class_map[y * scaled->stride + x], (sx / 5) + (sy / 3)) << x << "," << y;
    }
  gst_buffer_unref(scaled_frame);
  gst_buffer_unref(copy);
}

// Through a real videoscale, the meta follows the new size.
TEST(DeeplabSegMeta, FollowsVideoscale) {
  GstHarness* h = gst_harness_new_parse(
      (seg() + " ! videoscale ! capsfilter caps=video/x-raw,width=80,height=30").c_str());
  Image image = load_image("person.jpg", 160, 120);
  gst_harness_set_src_caps_str(h, caps_string(GST_VIDEO_FORMAT_RGB, 160, 120).c_str());
  GstBuffer* out = gst_harness_push_and_pull(h, make_frame(image, GST_VIDEO_FORMAT_RGB));
  const ClassMap map = class_map_of(out);
  EXPECT_EQ(map.width, 80);
  EXPECT_EQ(map.height, 30);
  EXPECT_GT(map.fraction(15), 0.01);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}

}  // namespace
