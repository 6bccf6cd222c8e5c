// deeplab::Segmenter with the dense CRF on the real DeepLabv3-MobileNetV2 VOC model and the shared
// stills: the class map keeps the frame's size, the CRF changes few but some pixels, a reduced
// working scale works, temporal mode warm-starts across frames, reset_stream() and
// set_crf_options() take effect, bad options are rejected at construction, every pixel format
// goes through the CRF path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "crf/crf_stage.h"
#include "deeplab/error.h"
#include "deeplab/manifest.h"
#include "deeplab/segmenter.h"
#include "postprocess/interpolate.h"
#include "stills.h"

using namespace deeplab;
namespace fs = std::filesystem;

namespace {

const std::string kModel = test::shared_default_model();

using test::bgr_frame;
using test::load_still;

// The repo's manifest (with its align_corners logits upsampling), pointed at the shared model.
ModelManifest crf_model_manifest() { return test::default_model_manifest(); }

cv::Mat shifted(const cv::Mat& m, int dx) {
  cv::Mat out;
  const cv::Mat t = (cv::Mat_<double>(2, 3) << 1, 0, dx, 0, 1, 0);
  cv::warpAffine(m, out, t, m.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return out;
}

double share_differing(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  std::size_t n = 0;
  for (std::size_t k = 0; k < a.size(); ++k) n += a[k] != b[k];
  return static_cast<double>(n) / a.size();
}

double share_of(const std::vector<std::uint8_t>& map, int cls) {
  return static_cast<double>(std::count(map.begin(), map.end(), static_cast<std::uint8_t>(cls))) / map.size();
}

SegmenterOptions crf_options(CrfMode mode, float scale = 1.0f) {
  SegmenterOptions o;
  o.device = Device::kCpu;  // the CPU CRF and network, also on a machine with a GPU
  o.threads = 1;
  o.crf.mode = mode;
  o.crf.scale = scale;
  o.crf.model_params = false;  // the CRF's mechanics with DeepLab's parameters, not the model's own block
  return o;
}

class CrfSegmenterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kModel)) GTEST_SKIP() << "no model at " << kModel;
  }
};

}  // namespace

// The Segmenter runs the model's own crf: block unless the options override it: iterations 3 from the
// manifest, 5 from the user's override, DeepLab's 10 with model_params off.
TEST_F(CrfSegmenterTest, ModelBlockUnlessOverridden) {
  cv::Mat still;
  cv::resize(load_still("dog.jpg"), still, cv::Size(96, 72), 0, 0, cv::INTER_AREA);
  ModelManifest manifest = crf_model_manifest();
  manifest.crf.iterations = 3;
  manifest.crf.unary_temperature = 2;
  SegmenterOptions o = crf_options(CrfMode::kFull);
  o.crf.model_params = true;
  EXPECT_EQ(Segmenter(manifest, o).segment(bgr_frame(still)).crf.iterations, 3);
  o.crf.overrides.iterations = 5;
  EXPECT_EQ(Segmenter(manifest, o).segment(bgr_frame(still)).crf.iterations, 5);
  o.crf.model_params = false;
  EXPECT_EQ(Segmenter(manifest, o).segment(bgr_frame(still)).crf.iterations, 10);
}

// dog.jpg (768x576): the CRF keeps the dog and changes a few percent of the pixels, along
// boundaries; the report and the stage time are filled in.
TEST_F(CrfSegmenterTest, FullCrfOnAStill) {
  cv::Mat still;
  cv::resize(load_still("dog.jpg"), still, cv::Size(384, 288), 0, 0, cv::INTER_AREA);
  Segmenter off(crf_model_manifest(), crf_options(CrfMode::kOff));
  Segmenter on(crf_model_manifest(), crf_options(CrfMode::kFull));
  const std::vector<std::uint8_t> plain = off.segment(bgr_frame(still)).class_map;
  EXPECT_EQ(off.segment(bgr_frame(still)).crf.iterations, 0);
  EXPECT_EQ(off.last_times().crf_ms, 0.0);
  const Segmentation& seg = on.segment(bgr_frame(still));
  ASSERT_EQ(seg.width, still.cols);
  ASSERT_EQ(seg.height, still.rows);
  ASSERT_EQ(seg.class_map.size(), plain.size());
  EXPECT_EQ(seg.crf.iterations, 10);
  EXPECT_FALSE(seg.crf.warm_started);
  EXPECT_GT(seg.crf.ms, 0.0);
  EXPECT_GE(on.last_times().crf_ms, seg.crf.ms);
  const double changed = share_differing(plain, seg.class_map);
  std::printf("[crf] dog.jpg at %dx%d: the CRF changed %.2f%% of the labels (dog %.1f%% -> %.1f%%), CRF %.0f ms\n",
              still.cols, still.rows, 100 * changed, 100 * share_of(plain, 12), 100 * share_of(seg.class_map, 12),
              on.last_times().crf_ms);
  EXPECT_GT(changed, 0.001);
  EXPECT_LT(changed, 0.10);
  EXPECT_GT(share_of(seg.class_map, 12), 0.5 * share_of(plain, 12));
}

// Half the resolution: Q is upsampled to the frame; the result stays close to the full-scale CRF.
TEST_F(CrfSegmenterTest, HalfScale) {
  cv::Mat still;
  cv::resize(load_still("person.jpg"), still, cv::Size(320, 212), 0, 0, cv::INTER_AREA);
  Segmenter full(crf_model_manifest(), crf_options(CrfMode::kFull));
  Segmenter half(crf_model_manifest(), crf_options(CrfMode::kFull, 0.5f));
  const std::vector<std::uint8_t> a = full.segment(bgr_frame(still)).class_map;
  const Segmentation& b = half.segment(bgr_frame(still));
  ASSERT_EQ(b.width, still.cols);
  ASSERT_EQ(b.height, still.rows);
  const double differ = share_differing(a, b.class_map);
  std::printf("[crf] person.jpg at 320x212: CRF at scale 0.5 vs 1: %.2f%% of the labels differ; %.0f vs %.0f ms\n",
              100 * differ, half.last_times().crf_ms, full.last_times().crf_ms);
  EXPECT_LT(differ, 0.05);
  EXPECT_GT(share_of(b.class_map, 15), 0.02);
}

// Label changes between consecutive frames of a scene moving right by `dx` px a frame, after
// moving the earlier map along (columns near the borders left out).
static double motion_compensated_changes(const std::vector<std::uint8_t>& earlier,
                                         const std::vector<std::uint8_t>& later, int w, int h, int dx) {
  std::size_t changed = 0, total = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 8; x < w - 8; ++x, ++total)
      changed += later[static_cast<std::size_t>(y) * w + x] != earlier[static_cast<std::size_t>(y) * w + x - dx];
  return static_cast<double>(changed) / total;
}

// Temporal mode on a still moving right by 2 px a frame: frame 0 full, then warm starts. A warm
// start settles on the mean-field fixed point nearest the previous frame's, not always the one a
// cold start from this frame's unary finds (the network's own output shifts by ~4% of the labels
// under a 1-2 px shift), so temporal and full differ somewhat; temporal must be the steadier of
// the two. reset_stream() and set_crf_options() start again.
TEST_F(CrfSegmenterTest, TemporalAcrossFrames) {
  cv::Mat still;
  cv::resize(load_still("horses.jpg"), still, cv::Size(384, 288), 0, 0, cv::INTER_AREA);
  const int w = still.cols, h = still.rows, dx = 2;
  SegmenterOptions o = crf_options(CrfMode::kTemporal);
  Segmenter s(crf_model_manifest(), o);
  Segmenter full(crf_model_manifest(), crf_options(CrfMode::kFull));
  std::vector<std::uint8_t> previous_temporal, previous_full;
  double temporal_changes = 0, full_changes = 0, worst_differ = 0;
  for (int k = 0; k < 5; ++k) {
    const cv::Mat f = shifted(still, dx * k);
    const Segmentation& seg = s.segment(bgr_frame(f));
    EXPECT_EQ(seg.crf.warm_started, k > 0) << "frame " << k;
    EXPECT_EQ(seg.crf.iterations, k > 0 ? 2 : 10) << "frame " << k;
    const std::vector<std::uint8_t> t = seg.class_map;
    const std::vector<std::uint8_t> c = full.segment(bgr_frame(f)).class_map;
    worst_differ = std::max(worst_differ, share_differing(t, c));
    if (k > 0) {
      temporal_changes += motion_compensated_changes(previous_temporal, t, w, h, dx) / 4;
      full_changes += motion_compensated_changes(previous_full, c, w, h, dx) / 4;
    }
    previous_temporal = t;
    previous_full = c;
  }
  std::printf(
      "[crf] horses 384x288 moving %d px/frame: labels changing between frames (motion compensated) %.2f%% "
      "temporal, %.2f%% full; temporal vs full differ on up to %.2f%%\n",
      dx, 100 * temporal_changes, 100 * full_changes, 100 * worst_differ);
  EXPECT_LE(temporal_changes, full_changes);
  EXPECT_LT(worst_differ, 0.15);

  s.reset_stream();
  EXPECT_FALSE(s.segment(bgr_frame(still)).crf.warm_started);
  EXPECT_TRUE(s.segment(bgr_frame(still)).crf.warm_started);
  CrfOptions changed = o.crf;
  changed.temporal_iterations = 3;
  s.set_crf_options(changed);
  EXPECT_FALSE(s.segment(bgr_frame(still)).crf.warm_started);
  EXPECT_EQ(s.segment(bgr_frame(still)).crf.iterations, 3);
  changed.mode = CrfMode::kOff;
  s.set_crf_options(changed);
  EXPECT_EQ(s.segment(bgr_frame(still)).crf.iterations, 0);
  EXPECT_EQ(s.last_times().crf_ms, 0.0);
  changed.scale = 2.0f;
  EXPECT_THROW(s.set_crf_options(changed), Error);
}

TEST_F(CrfSegmenterTest, BadOptionsAreRejectedAtConstruction) {
  SegmenterOptions o = crf_options(CrfMode::kFull);
  o.crf.params.bilateral_rgb_std = -3;
  try {
    Segmenter s(crf_model_manifest(), o);
    FAIL() << "accepted a negative bilateral_rgb_std";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("bilateral_rgb_std"), std::string::npos) << e.what();
  }
}

// The CRF's RGB image comes from the pre-processing's per-pixel code: an I420 frame gives nearly
// the class map of its BGR original (chroma subsampling and BT.601 rounding aside).
TEST_F(CrfSegmenterTest, YuvFramesGoThroughTheCrf) {
  cv::Mat still;
  cv::resize(load_still("eagle.jpg"), still, cv::Size(384, 256), 0, 0, cv::INTER_AREA);
  const cv::Mat even = still(cv::Rect(0, 0, still.cols & ~1, still.rows & ~1)).clone();
  cv::Mat i420;
  cv::cvtColor(even, i420, cv::COLOR_BGR2YUV_I420);
  const int w = even.cols, h = even.rows;
  const std::uint8_t* y = i420.data;
  const std::uint8_t* u = y + w * h;
  const std::uint8_t* v = u + (w / 2) * (h / 2);
  Segmenter s(crf_model_manifest(), crf_options(CrfMode::kFull, 0.5f));
  const std::vector<std::uint8_t> from_bgr = s.segment(bgr_frame(even)).class_map;
  const Segmentation& from_yuv = s.segment(FrameView::i420(y, w, u, w / 2, v, w / 2, w, h));
  const double differ = share_differing(from_bgr, from_yuv.class_map);
  std::printf("[crf] eagle.jpg at 384x256, I420 vs BGR through the CRF: %.2f%% of the labels differ\n", 100 * differ);
  EXPECT_LT(differ, 0.02);
  EXPECT_GT(share_of(from_yuv.class_map, 3), 0.02);
}

// The CRF's working size: scale x the frame, capped at max_pixels (1920x1080 by default) with the
// frame's shape kept; the positional stds shrink by the same factor.
TEST(CrfWorkingSize, CappedAtMaxPixelsKeepingTheShape) {
  CrfOptions o;
  struct Case { int w, h; float scale; std::int64_t cap; int want_w, want_h; float want_scale; };
  const Case cases[] = {
      {1920, 1080, 1.0f, kDefaultCrfMaxPixels, 1920, 1080, 1.0f},   // 1080p: untouched
      {3840, 2160, 1.0f, kDefaultCrfMaxPixels, 1920, 1080, 0.5f},   // 4K: at 1080p
      {7680, 4320, 1.0f, kDefaultCrfMaxPixels, 1920, 1080, 0.25f},  // 8K: at 1080p
      {3840, 2160, 0.5f, kDefaultCrfMaxPixels, 1920, 1080, 0.5f},   // scale first, within the cap
      {3840, 2160, 0.25f, kDefaultCrfMaxPixels, 960, 540, 0.25f},
      {3840, 2160, 1.0f, 0, 3840, 2160, 1.0f},                      // 0: no cap
      {384, 288, 1.0f, 192 * 144, 192, 144, 0.5f},
  };
  for (const Case& c : cases) {
    o.scale = c.scale;
    o.max_pixels = c.cap;
    const CrfWorkingSize s = crf_working_size(c.w, c.h, o);
    EXPECT_EQ(s.width, c.want_w) << c.w << "x" << c.h << " scale " << c.scale << " cap " << c.cap;
    EXPECT_EQ(s.height, c.want_h) << c.w << "x" << c.h << " scale " << c.scale << " cap " << c.cap;
    EXPECT_FLOAT_EQ(s.position_scale, c.want_scale) << c.w << "x" << c.h;
  }
  // Awkward shapes stay within the cap and at least 1 x 1.
  for (auto [w, h, cap] : {std::tuple{10000, 3, 1000}, std::tuple{1, 100000, 10}, std::tuple{12345, 6789, 1000003},
                           std::tuple{5, 5, 1}}) {
    o.scale = 1.0f;
    o.max_pixels = cap;
    const CrfWorkingSize s = crf_working_size(w, h, o);
    EXPECT_LE(static_cast<std::int64_t>(s.width) * s.height, std::max<std::int64_t>(cap, 1)) << w << "x" << h;
    EXPECT_GE(s.width, 1);
    EXPECT_GE(s.height, 1);
    EXPECT_GT(s.position_scale, 0.0f);
  }
}

// Through the Segmenter, a cap that halves the frame gives exactly what crf-scale 0.5 gives: the
// same working size, the same positional stds.
TEST_F(CrfSegmenterTest, MaxPixelsCapEqualsTheSameScale) {
  cv::Mat still;
  cv::resize(load_still("person.jpg"), still, cv::Size(320, 212), 0, 0, cv::INTER_AREA);
  SegmenterOptions capped = crf_options(CrfMode::kFull);
  capped.crf.max_pixels = 160 * 106;
  Segmenter by_cap(crf_model_manifest(), capped);
  Segmenter by_scale(crf_model_manifest(), crf_options(CrfMode::kFull, 0.5f));
  const std::vector<std::uint8_t> a = by_cap.segment(bgr_frame(still)).class_map;
  const std::vector<std::uint8_t> b = by_scale.segment(bgr_frame(still)).class_map;
  EXPECT_EQ(a, b);
  Segmenter uncapped(crf_model_manifest(), crf_options(CrfMode::kFull));
  EXPECT_NE(uncapped.segment(bgr_frame(still)).class_map, a) << "the cap changed nothing: was it applied?";
}

// A size the CRF cannot take (a side over DenseCrf's 16384) is refused before any of the CRF's
// buffers is sized: at 40000x30000 those would be ~100 GB (a bad_alloc, or worse, if the check came
// after). (It was the smoothness lattice's range that refused it before that kernel became a blur.)
TEST(CrfStageSize, WorkingSizeIsCheckedBeforeAllocating) {
  CrfOptions o;
  o.mode = CrfMode::kFull;
  o.max_pixels = 0;
  crf::CrfStage stage(o, 1);
  ResizeAttrs attrs;
  attrs.mode = ResizeAttrs::kLinear;
  attrs.coord = ResizeAttrs::kHalfPixel;
  const ResampleGeometry to_working = make_resample_geometry(33, 33, 21, 30000, 40000, 30000.0f / 33, 40000.0f / 33, attrs);
  try {
    stage.prepare(40000, 30000, 21, to_working);
    FAIL() << "a 40000x30000 CRF was prepared";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
    EXPECT_NE(std::string(e.what()).find("working size 40000x30000 is out of range 1..16384"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(stage.prepared_for(40000, 30000));
}

// Degenerate sizes: a 1x1 frame, and a working size that rounds down to 1x1.
TEST_F(CrfSegmenterTest, TinyFramesAndWorkingSizes) {
  const cv::Mat still = load_still("dog.jpg");
  for (auto [w, h, scale] : {std::tuple{1, 1, 1.0f}, std::tuple{9, 7, 0.1f}, std::tuple{33, 2, 0.5f}}) {
    cv::Mat small;
    cv::resize(still, small, cv::Size(w, h), 0, 0, cv::INTER_AREA);
    Segmenter s(crf_model_manifest(), crf_options(CrfMode::kTemporal, scale));
    for (int k = 0; k < 2; ++k) {
      const Segmentation& seg = s.segment(bgr_frame(small));
      ASSERT_EQ(seg.width, w);
      ASSERT_EQ(seg.height, h);
      ASSERT_EQ(seg.class_map.size(), static_cast<std::size_t>(w) * h);
      EXPECT_EQ(seg.crf.warm_started, k == 1) << w << "x" << h;
      for (std::uint8_t c : seg.class_map) ASSERT_LT(c, 21);
    }
  }
}
