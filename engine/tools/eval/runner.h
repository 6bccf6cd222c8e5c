// Runs a Segmenter over a labelled image set (accuracy) or a video (temporal stability) and
// accumulates the metrics in evaluation classes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "deeplab/segmenter.h"
#include "eval/class_map.h"
#include "eval/dataset.h"
#include "eval/metrics.h"

namespace deeplab::eval {

// An 8-bit BGR image (OpenCV's) as a frame for the Segmenter.
FrameView bgr_view(const cv::Mat& bgr);

// What the CRF did over a run (Segmentation::crf and StageTimes::crf_ms of each frame).
struct CrfTally {
  int frames = 0;
  double ms_sum = 0;
  long iterations_sum = 0;
  int warm_started = 0;
  int scene_cuts = 0;
  int keyframes = 0;

  void add(const CrfFrameReport& report, double crf_ms);
  double ms_mean() const { return frames ? ms_sum / frames : 0; }
  double iterations_mean() const { return frames ? static_cast<double>(iterations_sum) / frames : 0; }
};

struct ImageRunOptions {
  // Feed the images as one stream (the temporal CRF carries its state over); otherwise the stream is
  // reset before each image.
  bool sequence = false;
  std::string overlay_dir;  // non-empty: write each image's prediction overlay (evaluation classes) here
};

struct ImageRun {
  explicit ImageRun(int num_classes) : matrix(num_classes) {}
  ConfusionMatrix matrix;
  int images = 0;
  std::uint64_t ignored_pixels = 0;  // labels in labels.ignore
  double total_ms_sum = 0;           // Segmenter frame -> class map, CRF included
  CrfTally crf;
};

// Throws Error(kIo / kNotFound) naming the file for an unreadable image or label, or a label of the
// wrong size.
ImageRun evaluate_images(Segmenter& segmenter, const ClassMap& map, const std::vector<LabelledImage>& images,
                         const ImageRunOptions& options);

// An "oracle" unary instead of a network: each image's own labels, in evaluation classes, as a
// network with output stride `stride` would see them — each class's indicator averaged over
// stride x stride blocks, upsampled bilinearly back to the image, softmax of `temperature` x that.
// Boundaries are right to within the stride and blurred, thin structures fade: the unary the dense
// CRF is meant to sharpen, with no recognition errors in it. Ignored labels have no class (the
// pixel's scores come from its neighbours).
struct OracleUnary {
  int stride = 16;
  float temperature = 5.0f;
};

// evaluate_images() with the oracle unary and a CRF (options.mode, kOff for the unary's own argmax)
// in place of the Segmenter; the same metrics, `crf` tally and overlays.
ImageRun evaluate_oracle(const OracleUnary& oracle, const CrfOptions& crf, int threads, const ClassMap& map,
                         const std::vector<LabelledImage>& images, const ImageRunOptions& options);

struct VideoRun {
  explicit VideoRun(int num_classes) : stability(num_classes), predicted_pixels(num_classes, 0) {}
  TemporalStability stability;
  int frames = 0;
  int width = 0;
  int height = 0;
  std::vector<std::uint64_t> predicted_pixels;  // per evaluation class, over all frames
  double total_ms_sum = 0;
  CrfTally crf;
};

// Segments up to `max_frames` frames (0 = all) of `path` as one stream. Throws Error(kIo) when the
// file cannot be opened or has no frames.
VideoRun evaluate_video(Segmenter& segmenter, const ClassMap& map, const std::string& path, int max_frames,
                        const std::string& overlay_dir);

}  // namespace deeplab::eval
