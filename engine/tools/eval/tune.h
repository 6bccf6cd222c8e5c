// deeplab-crf-tune's search: the network's probabilities on a labelled image set, kept at the CRF's
// working size (the network runs once per image), scored for any CRF parameters by running only the
// CRF; and the search itself, DeepLab's grid and then coordinate descent (docs/crf.md, "Tuning").
#pragma once

#include <opencv2/core.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "deeplab/crf.h"
#include "deeplab/segmenter.h"
#include "eval/class_map.h"
#include "eval/dataset.h"

namespace deeplab::eval {

class CrfTuneSet {
 public:
  // Runs `segmenter` (its CRF off) once per image and keeps, at the working size `working` gives
  // each image (scale, max_pixels), the RGB image, the softmax probabilities and the labels in
  // evaluation classes (nearest). `progress(done)` after each image.
  CrfTuneSet(Segmenter& segmenter, const ClassMap& map, const std::vector<LabelledImage>& images,
             const CrfOptions& working, const std::function<void(int)>& progress);

  int size() const { return static_cast<int>(images_.size()); }
  int classes() const { return classes_; }
  std::size_t bytes() const;  // what the kept images, probabilities and labels take

  // mIoU in percent, scored at the working size. Mode off: the network's argmax; full: every image
  // on its own, `threads` images at a time; temporal: the images in order as one stream.
  double score(const CrfOptions& crf, int threads);

 private:
  struct Image {
    cv::Mat rgb;                      // working size, 8-bit RGB
    std::vector<float> probabilities; // working size x classes, pixel-major
    cv::Mat truth;                    // working size, evaluation classes or kIgnore
    float position_scale = 1;
  };
  void predict_full(const CrfOptions& crf, int threads);
  void predict_temporal(const CrfOptions& crf, int threads);
  void predict_off();
  void argmax_into(const Image& image, const float* q, std::vector<std::uint8_t>& out) const;

  ClassMap map_;
  int classes_ = 0;
  std::vector<Image> images_;
  std::vector<std::vector<std::uint8_t>> predicted_;  // per image, evaluation classes
  std::vector<DenseCrf> workers_;                     // one single-threaded CRF per thread
};

struct TuneProgress {
  int evaluations = 0;
  int planned = 0;        // the grid plus the descent's most evaluations
  double best_miou = 0;
  CrfParams best;
};

struct TuneResult {
  CrfParams best;
  double best_miou = 0;
  int evaluations = 0;
};

struct TuneOptions {
  CrfOptions base;          // mode full, the working scale; params = where the descent may start
  int threads = 2;
  int descent_rounds = 2;   // coordinate descent passes after the grid (steps shrink each pass)
  bool quick_grid = false;  // a 2x2x2 corner of DeepLab's grid instead of 3x3x3 (tests)
  // The mIoU without a CRF: when given, a best that loses to it is made lighter until it does not
  // (halving both kernel weights, at last 0: a CRF that keeps the network's labels).
  std::optional<double> off_miou;
};

// DeepLab's grid (bilateral weight 3..5, position std 50..100, colour std 3..5; Gaussian 3/3,
// 10 iterations) at unary temperatures 1 and 2, then coordinate descent over every parameter,
// unary temperature and iterations included, keeping the best mIoU; then options.off_miou's guard.
TuneResult tune_crf(CrfTuneSet& set, const TuneOptions& options, const std::function<void(const TuneProgress&)>& progress);

// The parameters as a YAML `crf:` block (load_crf_params_file reads it), after `comment` lines
// (each written as "# ...").
std::string crf_block_yaml(const CrfParams& params, const std::vector<std::string>& comment);

}  // namespace deeplab::eval
