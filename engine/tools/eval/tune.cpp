#include "eval/tune.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <thread>

#include "deeplab/error.h"
#include "eval/metrics.h"
#include "eval/runner.h"
#include "image_file.h"

namespace deeplab::eval {

CrfTuneSet::CrfTuneSet(Segmenter& segmenter, const ClassMap& map, const std::vector<LabelledImage>& images,
                       const CrfOptions& working, const std::function<void(int)>& progress)
    : map_(map) {
  cv::Mat raw, truth;
  for (const auto& item : images) {
    const cv::Mat bgr = tools::read_image(item.image_path, cv::IMREAD_COLOR, tools::WhenTruncated::kWarn);
    read_labels(item.label_path, bgr.cols, bgr.rows, raw);
    const CrfWorkingSize size = crf_working_size(bgr.cols, bgr.rows, working);
    SegmentRequest request;
    request.probabilities_width = size.width;
    request.probabilities_height = size.height;
    segmenter.reset_stream();
    const Segmentation& seg = segmenter.segment(bgr_view(bgr), request);
    classes_ = seg.num_classes;
    Image im;
    im.position_scale = size.position_scale;
    cv::Mat small;
    cv::resize(bgr, small, cv::Size(size.width, size.height), 0, 0, cv::INTER_AREA);
    cv::cvtColor(small, im.rgb, cv::COLOR_BGR2RGB);
    truth.create(raw.size(), CV_8UC1);
    map_ids(map.labels, raw.data, truth.data, raw.total());
    cv::resize(truth, im.truth, im.rgb.size(), 0, 0, cv::INTER_NEAREST);
    // The Segmenter gives class planes (CHW); the CRF reads pixel-major.
    const std::size_t n = static_cast<std::size_t>(size.width) * size.height;
    im.probabilities.resize(n * classes_);
    for (int c = 0; c < classes_; ++c)
      for (std::size_t i = 0; i < n; ++i) im.probabilities[i * classes_ + c] = seg.probabilities[c * n + i];
    images_.push_back(std::move(im));
    predicted_.emplace_back(n);
    progress(static_cast<int>(images_.size()));
  }
  if (images_.empty()) throw Error(ErrorCode::kInvalidArgument, "deeplab-crf-tune: no images to tune on");
}

std::size_t CrfTuneSet::bytes() const {
  std::size_t total = 0;
  for (const auto& im : images_)
    total += im.rgb.total() * im.rgb.elemSize() + im.probabilities.size() * sizeof(float) + im.truth.total() * 2;
  return total;
}

void CrfTuneSet::argmax_into(const Image& image, const float* q, std::vector<std::uint8_t>& out) const {
  const std::size_t n = image.truth.total();
  for (std::size_t i = 0; i < n; ++i) {
    const float* qi = q + i * classes_;
    const auto best = static_cast<std::size_t>(std::max_element(qi, qi + classes_) - qi);
    out[i] = map_.predictions[best];
  }
}

void CrfTuneSet::predict_off() {
  for (std::size_t k = 0; k < images_.size(); ++k) argmax_into(images_[k], images_[k].probabilities.data(), predicted_[k]);
}

// Threads over images: each runs a single-threaded CRF, so the result does not depend on the count.
void CrfTuneSet::predict_full(const CrfOptions& crf, int threads) {
  threads = std::max(1, std::min(threads, size()));
  while (static_cast<int>(workers_.size()) < threads) workers_.emplace_back(Device::kCpu, 1);
  std::atomic<int> next{0};
  std::vector<std::string> errors(threads);
  auto work = [&](int t) {
    std::vector<float> q;
    try {
      for (int k = next++; k < size(); k = next++) {
        const Image& im = images_[k];
        q.resize(im.probabilities.size());
        const CrfImage image{im.rgb.data, im.rgb.cols, im.rgb.rows, static_cast<int>(im.rgb.step)};
        workers_[t].infer(image, im.probabilities.data(), classes_, crf.params, crf.params.iterations, false, q.data(),
                          im.position_scale);
        argmax_into(im, q.data(), predicted_[k]);
      }
    } catch (const std::exception& e) {
      errors[t] = e.what();
      next = size();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  for (const auto& e : errors)
    if (!e.empty()) throw Error(ErrorCode::kInvalidArgument, e);
}

void CrfTuneSet::predict_temporal(const CrfOptions& crf, int threads) {
  CrfStream stream(crf, Device::kCpu, threads);
  for (std::size_t k = 0; k < images_.size(); ++k) {
    const Image& im = images_[k];
    const CrfImage image{im.rgb.data, im.rgb.cols, im.rgb.rows, static_cast<int>(im.rgb.step)};
    argmax_into(im, stream.process(image, im.probabilities.data(), classes_, im.position_scale), predicted_[k]);
  }
}

double CrfTuneSet::score(const CrfOptions& crf, int threads) {
  switch (crf.mode) {
    case CrfMode::kOff: predict_off(); break;
    case CrfMode::kFull: predict_full(crf, threads); break;
    case CrfMode::kTemporal: predict_temporal(crf, threads); break;
  }
  ConfusionMatrix matrix(static_cast<int>(map_.classes.size()));
  for (std::size_t k = 0; k < images_.size(); ++k) matrix.add(images_[k].truth.data, predicted_[k].data(), predicted_[k].size());
  return 100.0 * matrix.mean_iou();
}

namespace {

// One tunable parameter: how to read and write it, its bounds and the descent's first step (a
// factor for the scale-free ones, an addend for iterations).
struct Knob {
  const char* name;
  double lo, hi;
  double step;
  bool additive;
  double (*get)(const CrfParams&);
  void (*set)(CrfParams&, double);
};

#define DEEPLAB_KNOB(FIELD, TYPE)                                  \
  [](const CrfParams& p) { return static_cast<double>(p.FIELD); }, \
      [](CrfParams& p, double v) { p.FIELD = static_cast<TYPE>(v); }

// The temperature first: on an unconfident network it decides how much the kernels may change.
const Knob kKnobs[] = {
    {"unary_temperature", 0.25, kMaxCrfUnaryTemperature, 1.5, false, DEEPLAB_KNOB(unary_temperature, float)},
    {"bilateral_weight", 0.05, 20, 2, false, DEEPLAB_KNOB(bilateral_weight, float)},
    {"bilateral_xy_std", 5, 300, 1.5, false, DEEPLAB_KNOB(bilateral_xy_std, float)},
    {"bilateral_rgb_std", 1, 60, 2, false, DEEPLAB_KNOB(bilateral_rgb_std, float)},
    {"gaussian_weight", 0.05, 20, 2, false, DEEPLAB_KNOB(gaussian_weight, float)},
    {"gaussian_xy_std", 0.5, 10, 1.5, false, DEEPLAB_KNOB(gaussian_xy_std, float)},
    {"iterations", 1, 20, 4, true, DEEPLAB_KNOB(iterations, int)},
};

#undef DEEPLAB_KNOB

class Search {
 public:
  Search(CrfTuneSet& set, const TuneOptions& o, const std::function<void(const TuneProgress&)>& progress)
      : set_(set), options_(o), progress_(progress) {
    progress_state_.best_miou = -1;
  }

  // Scores `p` (rounded as a block would write it), keeping the best; true if it beat the best.
  bool try_params(CrfParams p) {
    for (const Knob& k : kKnobs) k.set(p, std::stod(round_text(k.get(p))));
    CrfOptions o = options_.base;
    o.params = p;
    const double miou = set_.score(o, options_.threads);
    ++progress_state_.evaluations;
    const bool better = miou > progress_state_.best_miou + 1e-9;
    if (better) {
      progress_state_.best_miou = miou;
      progress_state_.best = p;
    }
    progress_(progress_state_);
    return better;
  }

  void grid() {
    const std::vector<float> weights = options_.quick_grid ? std::vector<float>{3, 5} : std::vector<float>{3, 4, 5};
    const std::vector<float> xy = options_.quick_grid ? std::vector<float>{50, 100} : std::vector<float>{50, 70, 100};
    const std::vector<float> rgb = options_.quick_grid ? std::vector<float>{3, 5} : std::vector<float>{3, 4, 5};
    const std::vector<float> temperatures = {1, 2};
    for (float t : temperatures)
      for (float w : weights)
        for (float s : xy)
          for (float c : rgb) {
            CrfParams p;
            p.bilateral_weight = w;
            p.bilateral_xy_std = s;
            p.bilateral_rgb_std = c;
            p.gaussian_weight = 3;
            p.gaussian_xy_std = 3;
            p.iterations = 10;
            p.unary_temperature = t;
            try_params(p);
          }
  }

  // Each parameter in turn, one step up and one down; a pass's steps are the square roots of the last's.
  void descend() {
    for (int round = 0; round < options_.descent_rounds; ++round)
      for (const Knob& k : kKnobs) {
        const double step = k.additive ? std::max(1.0, k.step / (1 << round)) : std::pow(k.step, 1.0 / (1 << round));
        for (int dir : {+1, -1}) {
          CrfParams p = progress_state_.best;
          const double v = k.get(p);
          const double moved = k.additive ? v + dir * step : (dir > 0 ? v * step : v / step);
          k.set(p, std::clamp(moved, k.lo, k.hi));
          if (k.get(p) != v && try_params(p)) break;
        }
      }
  }

  // Never worse than no CRF on the tuning images: while the best loses, halve both kernel weights
  // of the best (lighter and lighter), and at last try 0 (the CRF then keeps the network's labels).
  void not_worse_than(double off_miou) {
    for (int k = 0; k < 6 && progress_state_.best_miou < off_miou; ++k) {
      CrfParams p = progress_state_.best;
      p.bilateral_weight *= 0.5f;
      p.gaussian_weight *= 0.5f;
      try_params(p);
    }
    if (progress_state_.best_miou >= off_miou) return;
    CrfParams p = progress_state_.best;
    p.bilateral_weight = p.gaussian_weight = 0;
    try_params(p);
  }

  int planned_descent() const { return options_.descent_rounds * static_cast<int>(std::size(kKnobs)) * 2; }
  int planned_grid() const { return options_.quick_grid ? 16 : 54; }
  TuneProgress& state() { return progress_state_; }

  // 3 significant digits: what the block will say.
  static std::string round_text(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", v);
    return text;
  }

 private:
  CrfTuneSet& set_;
  const TuneOptions& options_;
  const std::function<void(const TuneProgress&)>& progress_;
  TuneProgress progress_state_;
};

}  // namespace

TuneResult tune_crf(CrfTuneSet& set, const TuneOptions& options, const std::function<void(const TuneProgress&)>& progress) {
  Search search(set, options, progress);
  search.state().planned = search.planned_grid() + search.planned_descent() + 1;
  search.try_params(options.base.params);  // where the caller starts (DeepLab's defaults)
  search.grid();
  search.descend();
  if (options.off_miou) search.not_worse_than(*options.off_miou);
  TuneResult r;
  r.best = search.state().best;
  r.best_miou = search.state().best_miou;
  r.evaluations = search.state().evaluations;
  return r;
}

std::string crf_block_yaml(const CrfParams& p, const std::vector<std::string>& comment) {
  std::string out;
  for (const auto& line : comment) out += "# " + line + "\n";
  char text[512];
  std::snprintf(text, sizeof text,
                "crf:\n  iterations: %d\n  bilateral_weight: %.3g\n  bilateral_xy_std: %.3g\n  bilateral_rgb_std: %.3g\n"
                "  gaussian_weight: %.3g\n  gaussian_xy_std: %.3g\n  unary_temperature: %.3g\n",
                p.iterations, p.bilateral_weight, p.bilateral_xy_std, p.bilateral_rgb_std, p.gaussian_weight,
                p.gaussian_xy_std, p.unary_temperature);
  return out + text;
}

}  // namespace deeplab::eval
