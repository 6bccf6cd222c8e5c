#include "eval/metrics.h"

#include <cmath>
#include <limits>
#include <string>

#include "deeplab/error.h"
#include "eval/class_map.h"

namespace deeplab::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

[[noreturn]] void bad_id(const char* side, int id, int n) {
  throw Error(ErrorCode::kInvalidArgument, std::string("confusion matrix: ") + side + " class id " +
                                               std::to_string(id) + " is not below the class count " +
                                               std::to_string(n));
}

}  // namespace

ConfusionMatrix::ConfusionMatrix(int num_classes) : n_(num_classes) {
  if (num_classes < 1 || num_classes > kMaxEvalClasses)
    throw Error(ErrorCode::kInvalidArgument, "confusion matrix: class count " + std::to_string(num_classes) +
                                                 " is outside 1.." + std::to_string(kMaxEvalClasses));
  counts_.assign(static_cast<std::size_t>(n_) * n_, 0);
}

void ConfusionMatrix::add(const std::uint8_t* truth, const std::uint8_t* predicted, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const int t = truth[i];
    if (t == kIgnore) continue;
    const int p = predicted[i];
    if (t >= n_) bad_id("truth", t, n_);
    if (p >= n_) bad_id("predicted", p, n_);
    ++counts_[static_cast<std::size_t>(t) * n_ + p];
  }
}

std::uint64_t ConfusionMatrix::total() const {
  std::uint64_t sum = 0;
  for (auto c : counts_) sum += c;
  return sum;
}

std::uint64_t ConfusionMatrix::truth_pixels(int c) const {
  std::uint64_t sum = 0;
  for (int p = 0; p < n_; ++p) sum += at(c, p);
  return sum;
}

std::uint64_t ConfusionMatrix::predicted_pixels(int c) const {
  std::uint64_t sum = 0;
  for (int t = 0; t < n_; ++t) sum += at(t, c);
  return sum;
}

double ConfusionMatrix::iou(int c) const {
  const std::uint64_t tp = at(c, c);
  const std::uint64_t uni = truth_pixels(c) + predicted_pixels(c) - tp;
  return uni == 0 ? kNaN : static_cast<double>(tp) / static_cast<double>(uni);
}

double ConfusionMatrix::mean_iou() const {
  double sum = 0;
  int defined = 0;
  for (int c = 0; c < n_; ++c) {
    const double v = iou(c);
    if (std::isnan(v)) continue;
    sum += v;
    ++defined;
  }
  return defined == 0 ? kNaN : sum / defined;
}

double ConfusionMatrix::pixel_accuracy() const {
  std::uint64_t correct = 0;
  for (int c = 0; c < n_; ++c) correct += at(c, c);
  const std::uint64_t all = total();
  return all == 0 ? kNaN : static_cast<double>(correct) / static_cast<double>(all);
}

std::size_t count_changed_labels(const std::uint8_t* a, const std::uint8_t* b, std::size_t count) {
  std::size_t changed = 0;
  for (std::size_t i = 0; i < count; ++i) changed += a[i] != b[i];
  return changed;
}

void warp_labels_back(const cv::Mat& next, const cv::Mat& flow, cv::Mat& warped) {
  if (next.type() != CV_8UC1 || flow.type() != CV_32FC2 || next.size() != flow.size())
    throw Error(ErrorCode::kInvalidArgument, "warp_labels_back: expected an 8-bit label map and a CV_32FC2 flow of "
                                             "the same size");
  warped.create(next.size(), CV_8UC1);
  const int w = next.cols, h = next.rows;
  for (int y = 0; y < h; ++y) {
    const cv::Point2f* f = flow.ptr<cv::Point2f>(y);
    std::uint8_t* out = warped.ptr<std::uint8_t>(y);
    for (int x = 0; x < w; ++x) {
      // Rounded, not truncated: -0.4 px of flow stays in this pixel.
      const int sx = static_cast<int>(std::lround(x + f[x].x));
      const int sy = static_cast<int>(std::lround(y + f[x].y));
      out[x] = sx >= 0 && sx < w && sy >= 0 && sy < h ? next.at<std::uint8_t>(sy, sx) : kIgnore;
    }
  }
}

TemporalStability::TemporalStability(int num_classes)
    // MEDIUM: the preset OpenCV recommends for accuracy over speed; still ~20 ms at 768x432.
    : dis_(cv::DISOpticalFlow::create(cv::DISOpticalFlow::PRESET_MEDIUM)), matrix_(num_classes) {}

void TemporalStability::add_frame(const cv::Mat& gray, const cv::Mat& labels) {
  if (gray.type() != CV_8UC1 || labels.type() != CV_8UC1 || gray.size() != labels.size() || !labels.isContinuous())
    throw Error(ErrorCode::kInvalidArgument, "temporal stability: expected an 8-bit grayscale frame and a continuous "
                                             "8-bit label map of the same size");
  if (!prev_gray_.empty() && prev_gray_.size() == gray.size()) {
    const std::size_t n = labels.total();
    changed_ += count_changed_labels(prev_labels_.data, labels.data, n);
    compared_ += n;
    dis_->calc(prev_gray_, gray, flow_);
    warp_labels_back(labels, flow_, warped_);
    matrix_.add(warped_.data, prev_labels_.data, n);  // IoU is symmetric in truth and prediction
    ++pairs_;
  }
  gray.copyTo(prev_gray_);
  labels.copyTo(prev_labels_);
}

double TemporalStability::flicker() const {
  return compared_ == 0 ? kNaN : static_cast<double>(changed_) / static_cast<double>(compared_);
}

}  // namespace deeplab::eval
