// deeplab-eval's metrics on synthetic data with answers worked out by hand: the confusion matrix
// (IoU, mIoU, pixel accuracy, ignored pixels), flicker, the label warp and temporal consistency
// along DIS optical flow.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <random>

#include "deeplab/error.h"
#include "eval/class_map.h"
#include "eval/metrics.h"

using namespace deeplab;
using namespace deeplab::eval;

namespace {

TEST(EvalMetrics, ConfusionMatrixByHand) {
  // truth:     0 0 1 1 2 - 2 0      ("-" = ignored)
  // predicted: 0 1 1 1 0 2 2 0
  const std::uint8_t truth[] = {0, 0, 1, 1, 2, kIgnore, 2, 0};
  const std::uint8_t predicted[] = {0, 1, 1, 1, 0, 2, 2, 0};
  ConfusionMatrix m(3);
  m.add(truth, predicted, 8);
  EXPECT_EQ(m.total(), 7u);
  EXPECT_EQ(m.at(0, 0), 2u);
  EXPECT_EQ(m.at(0, 1), 1u);
  EXPECT_EQ(m.at(2, 0), 1u);
  EXPECT_EQ(m.truth_pixels(0), 3u);
  EXPECT_EQ(m.predicted_pixels(0), 3u);
  // class 0: TP 2, FP 1 (truth 2 -> 0), FN 1 (-> 1): 2/4. class 1: TP 2, FP 1: 2/3. class 2: TP 1, FN 1: 1/2.
  EXPECT_DOUBLE_EQ(m.iou(0), 0.5);
  EXPECT_DOUBLE_EQ(m.iou(1), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.iou(2), 0.5);
  EXPECT_DOUBLE_EQ(m.mean_iou(), (0.5 + 2.0 / 3.0 + 0.5) / 3);
  EXPECT_DOUBLE_EQ(m.pixel_accuracy(), 5.0 / 7.0);
}

TEST(EvalMetrics, AccumulatesOverCalls) {
  const std::uint8_t truth[] = {0, 1};
  const std::uint8_t predicted[] = {0, 0};
  ConfusionMatrix m(2);
  m.add(truth, predicted, 2);
  m.add(truth, truth, 2);
  EXPECT_EQ(m.at(1, 0), 1u);
  EXPECT_EQ(m.at(1, 1), 1u);
  EXPECT_DOUBLE_EQ(m.iou(0), 2.0 / 3.0);  // TP 2, FP 1
  EXPECT_DOUBLE_EQ(m.iou(1), 0.5);        // TP 1, FN 1
  EXPECT_DOUBLE_EQ(m.pixel_accuracy(), 0.75);
}

TEST(EvalMetrics, AbsentClassIsLeftOutOfTheMean) {
  const std::uint8_t truth[] = {0, 0, 1, 1};
  const std::uint8_t predicted[] = {0, 1, 1, 1};
  ConfusionMatrix m(3);  // class 2 appears nowhere
  m.add(truth, predicted, 4);
  EXPECT_TRUE(std::isnan(m.iou(2)));
  EXPECT_DOUBLE_EQ(m.mean_iou(), (0.5 + 2.0 / 3.0) / 2);
  // A class predicted but never true counts, with IoU 0.
  const std::uint8_t t2[] = {0};
  const std::uint8_t p2[] = {2};
  m.add(t2, p2, 1);
  EXPECT_DOUBLE_EQ(m.iou(2), 0.0);
}

TEST(EvalMetrics, EmptyMatrixIsUndefined) {
  ConfusionMatrix m(2);
  const std::uint8_t ignored[] = {kIgnore, kIgnore};
  const std::uint8_t predicted[] = {0, 1};
  m.add(ignored, predicted, 2);
  EXPECT_EQ(m.total(), 0u);
  EXPECT_TRUE(std::isnan(m.mean_iou()));
  EXPECT_TRUE(std::isnan(m.pixel_accuracy()));
}

TEST(EvalMetrics, OutOfRangeIdsAreRefused) {
  ConfusionMatrix m(2);
  const std::uint8_t truth[] = {2};
  const std::uint8_t predicted[] = {0};
  EXPECT_THROW(m.add(truth, predicted, 1), Error);
  EXPECT_THROW(m.add(predicted, truth, 1), Error);
  EXPECT_THROW(ConfusionMatrix(0), Error);
  EXPECT_THROW(ConfusionMatrix(256), Error);
}

TEST(EvalMetrics, CountChangedLabels) {
  const std::uint8_t a[] = {0, 1, 2, 3, 4};
  const std::uint8_t b[] = {0, 2, 2, 0, 4};
  EXPECT_EQ(count_changed_labels(a, b, 5), 2u);
  EXPECT_EQ(count_changed_labels(a, a, 5), 0u);
}

TEST(EvalMetrics, WarpFollowsFlowWithRoundingAndMarksLeavers) {
  cv::Mat next(3, 4, CV_8UC1);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x) next.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(10 * y + x);
  // (+1.4, +0.6): rounds to (+1, +1).
  cv::Mat flow(3, 4, CV_32FC2, cv::Scalar(1.4f, 0.6f));
  cv::Mat warped;
  warp_labels_back(next, flow, warped);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x) {
      const int expected = x + 1 < 4 && y + 1 < 3 ? 10 * (y + 1) + x + 1 : kIgnore;
      EXPECT_EQ(warped.at<std::uint8_t>(y, x), expected) << x << "," << y;
    }
  // Backwards and below half a pixel: (-0.4, -1).
  flow.setTo(cv::Scalar(-0.4f, -1.0f));
  warp_labels_back(next, flow, warped);
  EXPECT_EQ(warped.at<std::uint8_t>(0, 2), kIgnore);
  EXPECT_EQ(warped.at<std::uint8_t>(2, 0), 10);
  EXPECT_EQ(warped.at<std::uint8_t>(1, 3), 3);
  EXPECT_THROW(warp_labels_back(next, cv::Mat(2, 4, CV_32FC2), warped), Error);
}

// A smooth random texture (what DIS can track) and a crop of it `shift` pixels further left, so
// that the content of frame t moves right by `shift` in frame t+1.
struct MovingScene {
  cv::Mat t0, t1;
};
MovingScene moving_texture(int width, int height, int shift) {
  cv::Mat big(height, width + shift, CV_8UC1);
  std::mt19937 rng(3);
  for (int i = 0; i < static_cast<int>(big.total()); ++i) big.data[i] = static_cast<std::uint8_t>(rng() & 255);
  cv::GaussianBlur(big, big, cv::Size(0, 0), 2.0);
  cv::normalize(big, big, 0, 255, cv::NORM_MINMAX);
  return {big(cv::Rect(shift, 0, width, height)).clone(), big(cv::Rect(0, 0, width, height)).clone()};
}

cv::Mat rect_labels(int width, int height, cv::Rect r) {
  cv::Mat labels(height, width, CV_8UC1, cv::Scalar(0));
  labels(r).setTo(1);
  return labels;
}

TEST(EvalMetrics, MotionIsNotInstabilityForTc) {
  constexpr int kW = 160, kH = 120, kShift = 3;
  const MovingScene scene = moving_texture(kW, kH, kShift);
  // An object of 40x30 px that moves with the scene.
  const cv::Mat l0 = rect_labels(kW, kH, {50, 40, 40, 30});
  const cv::Mat l1 = rect_labels(kW, kH, {50 + kShift, 40, 40, 30});
  TemporalStability s(2);
  s.add_frame(scene.t0, l0);
  EXPECT_EQ(s.pairs(), 0);
  EXPECT_TRUE(std::isnan(s.flicker()));
  s.add_frame(scene.t1, l1);
  EXPECT_EQ(s.pairs(), 1);
  // Flicker counts the motion: 3 columns enter and 3 leave the object, 30 rows each.
  EXPECT_DOUBLE_EQ(s.flicker(), 2.0 * kShift * 30 / (kW * kH));
  // TC follows the flow: the warped labels land where they were. A few pixels at the object's
  // edges may round the other way where DIS's flow is off by more than half a pixel.
  EXPECT_GT(s.tc(), 0.99) << "object IoU " << s.matrix().iou(1);
  // Unwarped, the object's IoU would be (40-3)/(40+3) = 0.86.
  EXPECT_GT(s.matrix().iou(1), 0.9);
}

TEST(EvalMetrics, StaticSceneLabelChangesCountFully) {
  constexpr int kW = 96, kH = 64;
  const MovingScene scene = moving_texture(kW, kH, 0);
  const cv::Mat l0 = rect_labels(kW, kH, {10, 10, 20, 20});
  const cv::Mat l1 = rect_labels(kW, kH, {0, 0, 0, 0});  // the object vanishes: pure flicker
  TemporalStability s(2);
  s.add_frame(scene.t0, l0);
  s.add_frame(scene.t0, l1);
  const double n = kW * kH;
  EXPECT_DOUBLE_EQ(s.flicker(), 400 / n);
  // Zero flow: background IoU (n-400)/n, object IoU 0 (only at t).
  EXPECT_DOUBLE_EQ(s.matrix().iou(1), 0.0);
  EXPECT_DOUBLE_EQ(s.tc(), ((n - 400) / n + 0.0) / 2);
  // A third, identical frame adds a perfect pair: pooled over both pairs.
  s.add_frame(scene.t0, l1);
  EXPECT_EQ(s.pairs(), 2);
  EXPECT_DOUBLE_EQ(s.flicker(), 400 / (2 * n));
  EXPECT_DOUBLE_EQ(s.matrix().iou(0), (2 * n - 400) / (2 * n));
}

TEST(EvalMetrics, SizeChangeStartsANewRun) {
  const MovingScene a = moving_texture(64, 48, 0);
  const MovingScene b = moving_texture(80, 48, 0);
  TemporalStability s(2);
  s.add_frame(a.t0, rect_labels(64, 48, {0, 0, 8, 8}));
  s.add_frame(b.t0, rect_labels(80, 48, {0, 0, 8, 8}));
  EXPECT_EQ(s.pairs(), 0);
  EXPECT_THROW(s.add_frame(b.t0, rect_labels(64, 48, {0, 0, 8, 8})), Error);
}

}  // namespace
