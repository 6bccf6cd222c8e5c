// Segmentation metrics over evaluation-class maps (8-bit ids, kIgnore = not counted):
//  - ConfusionMatrix: per-class IoU, mIoU and pixel accuracy against ground truth;
//  - flicker: the share of pixels whose label changes between consecutive frames;
//  - temporal consistency (TC): the mIoU between the prediction at t and the prediction at t+1
//    warped back to t along DIS optical flow (Liu et al., "Efficient Semantic Video Segmentation
//    with Per-frame Inference", ECCV 2020). Unlike flicker, TC does not count real motion as
//    instability.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/video/tracking.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace deeplab::eval {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int num_classes);

  // Counts each pixel whose truth is not kIgnore. Ids >= num_classes (other than an ignored
  // truth) throw Error(kInvalidArgument) naming the id.
  void add(const std::uint8_t* truth, const std::uint8_t* predicted, std::size_t count);

  int num_classes() const { return n_; }
  std::uint64_t at(int truth, int predicted) const { return counts_[static_cast<std::size_t>(truth) * n_ + predicted]; }
  std::uint64_t total() const;                  // pixels counted
  std::uint64_t truth_pixels(int c) const;      // row sum
  std::uint64_t predicted_pixels(int c) const;  // column sum
  // TP / (TP + FP + FN); NaN when the class is in neither truth nor prediction.
  double iou(int c) const;
  // The mean of iou() over the classes where it is defined; NaN when nothing was counted.
  double mean_iou() const;
  // Correct / counted; NaN when nothing was counted.
  double pixel_accuracy() const;

 private:
  int n_;
  std::vector<std::uint64_t> counts_;  // n_ x n_, row = truth
};

// The number of positions where a and b differ.
std::size_t count_changed_labels(const std::uint8_t* a, const std::uint8_t* b, std::size_t count);

// warped(p) = next(p + flow(p)) with the nearest pixel, kIgnore where p + flow(p) falls outside the
// frame. `flow` (CV_32FC2, frame t -> t+1) and `next` (CV_8UC1) have the same size; `warped` is
// (re)allocated only when its size or type differs.
void warp_labels_back(const cv::Mat& next, const cv::Mat& flow, cv::Mat& warped);

// Flicker and TC over a stream of frames, pooled over all consecutive pairs: flicker = changed
// pixels / compared pixels; TC = mIoU of one confusion matrix accumulated over every pair
// (prediction at t against the warped prediction at t+1, pixels warped out of the frame left out).
class TemporalStability {
 public:
  explicit TemporalStability(int num_classes);

  // `gray`: the frame (CV_8UC1); `labels`: its evaluation-class map (CV_8UC1, same size). A frame
  // whose size differs from the previous one starts a new run (the pair is not counted).
  void add_frame(const cv::Mat& gray, const cv::Mat& labels);

  int pairs() const { return pairs_; }
  double flicker() const;  // NaN before the first pair
  double tc() const { return matrix_.mean_iou(); }
  const ConfusionMatrix& matrix() const { return matrix_; }

 private:
  cv::Ptr<cv::DISOpticalFlow> dis_;
  cv::Mat prev_gray_, prev_labels_, flow_, warped_;
  ConfusionMatrix matrix_;
  std::uint64_t changed_ = 0, compared_ = 0;
  int pairs_ = 0;
};

}  // namespace deeplab::eval
