// deeplab::CrfStream's temporal logic: which frames run full iterations from the unary (first
// frame, keyframes, scene cuts, reset, size or class-count changes) and which warm-start from the
// previous Q; warm-started frames stay at the full CRF's fixed point on a static scene; the
// scene-cut detector's thumbnail difference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "crf/scene_cut.h"
#include "deeplab/crf.h"
#include "deeplab/error.h"

using namespace deeplab;

namespace {

// A smooth scene (gradients and a disc), shifted by `shift` pixels, and its brightness scaled.
std::vector<std::uint8_t> scene(int w, int h, int shift, float brightness = 1.0f) {
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int sx = x - shift;
      const bool disc = (sx - w / 2) * (sx - w / 2) + (y - h / 2) * (y - h / 2) < h * h / 9;
      const float c[3] = {disc ? 220.0f : 60.0f + 80.0f * x / w, disc ? 180.0f : 90.0f,
                          disc ? 40.0f : 150.0f - 60.0f * y / h};
      for (int k = 0; k < 3; ++k)
        rgb[(static_cast<std::size_t>(y) * w + x) * 3 + k] =
            static_cast<std::uint8_t>(std::min(255.0f, c[k] * brightness));
    }
  return rgb;
}

// Probabilities that favour class 1 inside the (shifted) disc, class 0 outside, with noise.
std::vector<float> unary(int w, int h, int classes, int shift, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.7f);
  std::vector<float> p(static_cast<std::size_t>(w) * h * classes);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int sx = x - shift;
      const bool disc = (sx - w / 2) * (sx - w / 2) + (y - h / 2) * (y - h / 2) < h * h / 9;
      float* pi = &p[(static_cast<std::size_t>(y) * w + x) * classes];
      float sum = 0;
      for (int c = 0; c < classes; ++c) sum += pi[c] = std::exp(noise(rng) + (c == (disc ? 1 : 0) ? 1.0f : 0.0f));
      for (int c = 0; c < classes; ++c) pi[c] /= sum;
    }
  return p;
}

CrfOptions temporal_options() {
  CrfOptions o;
  o.mode = CrfMode::kTemporal;
  o.params.iterations = 6;
  o.temporal_iterations = 2;
  o.keyframe_interval = 4;
  return o;
}

struct Frame {
  int w, h, classes;
  std::vector<std::uint8_t> rgb;
  std::vector<float> p;
  CrfImage image() const { return CrfImage{rgb.data(), w, h, 3 * w}; }
};

Frame frame(int w, int h, int classes, int shift, float brightness = 1.0f) {
  return Frame{w, h, classes, scene(w, h, shift, brightness), unary(w, h, classes, shift, 100 + shift)};
}

const CrfFrameReport& run(CrfStream& s, const Frame& f) {
  s.process(f.image(), f.p.data(), f.classes);
  return s.last_report();
}

}  // namespace

TEST(CrfStream, FullModeRunsAllIterationsEveryFrame) {
  CrfOptions o = temporal_options();
  o.mode = CrfMode::kFull;
  CrfStream s(o, Device::kCpu, 1);
  for (int k = 0; k < 3; ++k) {
    const CrfFrameReport& r = run(s, frame(40, 30, 3, k));
    EXPECT_EQ(r.iterations, 6);
    EXPECT_FALSE(r.warm_started);
    EXPECT_GE(r.ms, 0.0);
  }
}

TEST(CrfStream, OffModeReturnsTheNormalisedProbabilities) {
  CrfOptions o = temporal_options();
  o.mode = CrfMode::kOff;
  CrfStream s(o, Device::kCpu, 1);
  const Frame f = frame(20, 15, 3, 0);
  const float* q = s.process(f.image(), f.p.data(), 3);
  EXPECT_EQ(s.last_report().iterations, 0);
  for (std::size_t k = 0; k < f.p.size(); ++k) ASSERT_NEAR(q[k], f.p[k], 1e-6) << k;
}

// Frame by frame: first full; then warm starts; the keyframe interval (4) forces full
// iterations on frame 4 and 8; a jump to a dark frame is a scene cut; reset() and size and
// class-count changes start again.
TEST(CrfStream, WhichFramesRunFullIterations) {
  CrfStream s(temporal_options(), Device::kCpu, 1);
  struct Expect {
    int iterations;
    bool warm, cut, key;
  };
  const auto check = [&](const Frame& f, Expect e, const char* what) {
    const CrfFrameReport& r = run(s, f);
    EXPECT_EQ(r.iterations, e.iterations) << what;
    EXPECT_EQ(r.warm_started, e.warm) << what;
    EXPECT_EQ(r.scene_cut, e.cut) << what;
    EXPECT_EQ(r.keyframe, e.key) << what;
  };
  const Expect full{6, false, false, false}, warm{2, true, false, false}, key{6, false, false, true},
      cut{6, false, true, false};
  check(frame(40, 30, 3, 0), full, "first frame");
  check(frame(40, 30, 3, 1), warm, "frame 1");
  check(frame(40, 30, 3, 2), warm, "frame 2");
  check(frame(40, 30, 3, 3), warm, "frame 3");
  check(frame(40, 30, 3, 4), key, "frame 4: keyframe interval 4");
  check(frame(40, 30, 3, 5), warm, "frame 5");
  check(frame(40, 30, 3, 5, 0.2f), cut, "frame 6: a dark frame, a cut");
  check(frame(40, 30, 3, 5, 0.2f), warm, "frame 7: the same dark frame");
  s.reset();
  check(frame(40, 30, 3, 5), full, "after reset()");
  check(frame(40, 30, 3, 6), warm, "after reset() + 1");
  check(frame(44, 30, 3, 6), full, "a new size");
  check(frame(44, 30, 3, 6), warm, "the new size again");
  check(frame(44, 30, 4, 6), full, "a new class count");
}

TEST(CrfStream, KeyframeIntervalZeroNeverForcesFullIterations) {
  CrfOptions o = temporal_options();
  o.keyframe_interval = 0;
  CrfStream s(o, Device::kCpu, 1);
  run(s, frame(30, 20, 2, 0));
  for (int k = 1; k < 12; ++k) EXPECT_TRUE(run(s, frame(30, 20, 2, k % 3)).warm_started) << "frame " << k;
}

TEST(CrfStream, KeyframeIntervalOneIsFullEveryFrame) {
  CrfOptions o = temporal_options();
  o.keyframe_interval = 1;
  CrfStream s(o, Device::kCpu, 1);
  run(s, frame(30, 20, 2, 0));
  for (int k = 1; k < 4; ++k) {
    const CrfFrameReport& r = run(s, frame(30, 20, 2, k));
    EXPECT_FALSE(r.warm_started);
    EXPECT_TRUE(r.keyframe);
  }
}

// On a static scene, warm-started frames stay close to the full CRF's result (two passes from a
// blend of the converged Q and the unary), and far from the unary.
TEST(CrfStream, WarmStartKeepsTheConvergedResultOnAStaticScene) {
  CrfOptions o = temporal_options();
  o.params.iterations = 10;
  o.keyframe_interval = 0;
  CrfStream s(o, Device::kCpu, 1);
  const Frame f = frame(48, 36, 3, 0);
  CrfOptions full_only = o;
  full_only.mode = CrfMode::kFull;
  CrfStream reference(full_only, Device::kCpu, 1);
  const float* ref = reference.process(f.image(), f.p.data(), 3);
  std::vector<float> expected(ref, ref + f.p.size());
  const float* q = s.process(f.image(), f.p.data(), 3);
  ASSERT_FALSE(s.last_report().warm_started);
  for (int k = 0; k < 5; ++k) q = s.process(f.image(), f.p.data(), 3);
  ASSERT_TRUE(s.last_report().warm_started);
  double worst = 0, changed = 0;
  int differ = 0;
  for (std::size_t k = 0; k < expected.size(); ++k) {
    worst = std::max(worst, std::fabs(static_cast<double>(q[k]) - expected[k]));
    changed = std::max(changed, std::fabs(static_cast<double>(q[k]) - f.p[k]));
  }
  for (std::size_t i = 0; i < expected.size() / 3; ++i)
    differ += std::max_element(q + 3 * i, q + 3 * i + 3) - q !=
              std::max_element(&expected[3 * i], &expected[3 * i] + 3) - &expected[0];
  std::printf(
      "[crf] static scene: warm-started vs full CRF: labels differ on %d pixels, Q max |diff| %.3g (vs the "
      "unary: %.3g)\n",
      differ, worst, changed);
  EXPECT_EQ(differ, 0);
  EXPECT_LT(worst, 0.05);
  EXPECT_GT(changed, 0.1) << "the CRF did nothing";
}

// An object moving 3 px a frame: warm-started frames follow it (the blend with the new unary
// keeps the previous, saturated Q from freezing the labels in place).
TEST(CrfStream, WarmStartFollowsMotion) {
  CrfOptions o = temporal_options();
  o.params.iterations = 10;
  o.keyframe_interval = 0;
  CrfOptions full_only = o;
  full_only.mode = CrfMode::kFull;
  CrfStream s(o, Device::kCpu, 1), reference(full_only, Device::kCpu, 1);
  double worst = 0;
  for (int k = 0; k < 9; ++k) {
    const Frame f = frame(64, 40, 3, 3 * k);
    const float* q = s.process(f.image(), f.p.data(), 3);
    const float* r = reference.process(f.image(), f.p.data(), 3);
    int differ = 0;
    for (int i = 0; i < 64 * 40; ++i)
      differ += std::max_element(q + 3 * i, q + 3 * i + 3) - q != std::max_element(r + 3 * i, r + 3 * i + 3) - r;
    worst = std::max(worst, differ / (64.0 * 40.0));
  }
  std::printf("[crf] disc moving 3 px/frame for 8 frames: temporal vs full labels differ on up to %.2f%%\n",
              100 * worst);
  EXPECT_LT(worst, 0.02);
}

// A rejected frame (bad image) is checked before anything changes: the stream goes on as if it had
// not been called.
TEST(CrfStream, ARejectedFrameChangesNothing) {
  CrfStream s(temporal_options(), Device::kCpu, 1), clean(temporal_options(), Device::kCpu, 1);
  const Frame a = frame(30, 20, 2, 0), b = frame(30, 20, 2, 1);
  run(s, a);
  run(clean, a);
  EXPECT_THROW(s.process(CrfImage{nullptr, 30, 20, 90}, a.p.data(), 2), Error);
  EXPECT_THROW(s.process(a.image(), nullptr, 2), Error);
  EXPECT_THROW(s.process(CrfImage{a.rgb.data(), 30, 20, 60}, a.p.data(), 2), Error);
  const float* q = s.process(b.image(), b.p.data(), 2);
  EXPECT_TRUE(s.last_report().warm_started);
  const float* expected = clean.process(b.image(), b.p.data(), 2);
  EXPECT_TRUE(std::equal(q, q + b.p.size(), expected));
}

TEST(CrfStream, ThumbnailDifference) {
  const int w = 320, h = 240;
  const auto a = scene(w, h, 0), b = scene(w, h, 3), dark = scene(w, h, 0, 0.2f);
  crf::LumaThumbnail ta, tb, td;
  crf::make_luma_thumbnail(CrfImage{a.data(), w, h, 3 * w}, ta);
  crf::make_luma_thumbnail(CrfImage{b.data(), w, h, 3 * w}, tb);
  crf::make_luma_thumbnail(CrfImage{dark.data(), w, h, 3 * w}, td);
  EXPECT_EQ(ta.cells_x, 32);
  EXPECT_EQ(crf::thumbnail_difference(ta, ta), 0.0f);
  const float motion = crf::thumbnail_difference(ta, tb), cut = crf::thumbnail_difference(ta, td);
  std::printf("[crf] thumbnail difference: 3 px motion %.3f, 5x darker %.3f (threshold 0.15)\n", motion, cut);
  EXPECT_LT(motion, 0.05f);
  EXPECT_GT(cut, 0.15f);
  // Tiny images: one cell per pixel.
  const auto tiny = scene(5, 3, 0);
  crf::LumaThumbnail tt;
  crf::make_luma_thumbnail(CrfImage{tiny.data(), 5, 3, 15}, tt);
  EXPECT_EQ(tt.cells_x, 5);
  EXPECT_EQ(tt.cells_y, 3);
}

// The thumbnail's definition (scene_cut.h), one sampled pixel at a time: cell (y * cells_y / h,
// x * cells_x / w), its luma added to the cell's sum in raster order, the mean over the cell.
crf::LumaThumbnail thumbnail_by_definition(const std::vector<std::uint8_t>& rgb, int w, int h) {
  crf::LumaThumbnail t;
  t.cells_x = std::min(w, crf::LumaThumbnail::kCells);
  t.cells_y = std::min(h, crf::LumaThumbnail::kCells);
  const int step_x = std::max(1, w / 512), step_y = std::max(1, h / 512);
  std::vector<float> sum(t.cells_x * t.cells_y, 0.0f);
  std::vector<int> count(sum.size(), 0);
  for (int y = 0; y < h; y += step_y)
    for (int x = 0; x < w; x += step_x) {
      const int cell = static_cast<int>(static_cast<long long>(y) * t.cells_y / h) * t.cells_x +
                       static_cast<int>(static_cast<long long>(x) * t.cells_x / w);
      const std::uint8_t* p = rgb.data() + 3 * (static_cast<std::size_t>(y) * w + x);
      sum[cell] += 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
      ++count[cell];
    }
  for (std::size_t c = 0; c < sum.size(); ++c) t.luma[c] = count[c] ? sum[c] / (255.0f * count[c]) : 0.0f;
  return t;
}

// The same floats as the definition (the scene-cut decisions must not depend on how the sums are
// organised), at sizes with fewer columns than cells, cells of unequal widths, and sampling steps
// above 1 (images over 1023 pixels wide or tall).
TEST(CrfStream, ThumbnailIsItsDefinition) {
  std::mt19937 rng(7);
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{
           {480, 360}, {97, 61}, {5, 3}, {31, 33}, {1, 1}, {1023, 7}, {1024, 1030}, {2000, 3}, {1920, 1080}}) {
    std::vector<std::uint8_t> rgb(static_cast<std::size_t>(w) * h * 3);
    for (auto& v : rgb) v = static_cast<std::uint8_t>(rng() & 255u);
    crf::LumaThumbnail t;
    crf::make_luma_thumbnail(CrfImage{rgb.data(), w, h, 3 * w}, t);
    const crf::LumaThumbnail expected = thumbnail_by_definition(rgb, w, h);
    ASSERT_EQ(t.cells_x, expected.cells_x) << w << "x" << h;
    ASSERT_EQ(t.cells_y, expected.cells_y) << w << "x" << h;
    for (int c = 0; c < t.cells_x * t.cells_y; ++c) ASSERT_EQ(t.luma[c], expected.luma[c]) << w << "x" << h << " cell " << c;
  }
}
