#include "eval/runner.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "deeplab/error.h"
#include "image_file.h"
#include "overlay.h"

namespace deeplab::eval {
namespace {

// Overlays of predictions in evaluation classes, with the shared overlay code's legend. Class 0
// (background in the shipped maps) is left untinted by make_overlay.
class EvalOverlay {
 public:
  EvalOverlay(const ClassMap& map, const std::string& dir) : dir_(dir) {
    if (dir_.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) throw Error(ErrorCode::kIo, dir_ + ": cannot create the overlay folder (" + ec.message() + ")");
    legend_.classes = map.classes;
    // A few classes (car / person / background): saturated colours that read well over street
    // scenes, which VOC's car grey does not. Many classes: the VOC palette, as the other tools draw.
    static const std::array<std::uint8_t, 3> kColours[] = {
        {0, 0, 0}, {20, 110, 255}, {255, 40, 40}, {40, 220, 60}, {255, 200, 0}, {200, 40, 255}, {0, 220, 220}};
    legend_.palette = voc_palette(static_cast<int>(map.classes.size()));
    if (map.classes.size() <= std::size(kColours))
      std::copy(kColours, kColours + map.classes.size(), legend_.palette.begin());
  }

  void write(const cv::Mat& bgr, const cv::Mat& labels, const std::string& name) {
    if (dir_.empty()) return;
    seg_.width = labels.cols;
    seg_.height = labels.rows;
    seg_.num_classes = static_cast<int>(legend_.classes.size());
    seg_.class_map.assign(labels.data, labels.data + labels.total());
    const std::string path = (std::filesystem::path(dir_) / name).replace_extension(".png").string();
    if (!cv::imwrite(path, tools::make_overlay(bgr, seg_, legend_))) throw Error(ErrorCode::kIo, path + ": cannot write");
  }

 private:
  std::string dir_;
  ModelManifest legend_;
  Segmentation seg_;
};

}  // namespace

FrameView bgr_view(const cv::Mat& bgr) {
  return FrameView::packed(PixelFormat::kBGR, bgr.data, bgr.cols, bgr.rows, static_cast<int>(bgr.step));
}

void CrfTally::add(const CrfFrameReport& report, double crf_ms) {
  ++frames;
  ms_sum += crf_ms;
  iterations_sum += report.iterations;
  warm_started += report.warm_started;
  scene_cuts += report.scene_cut;
  keyframes += report.keyframe;
}

ImageRun evaluate_images(Segmenter& segmenter, const ClassMap& map, const std::vector<LabelledImage>& images,
                         const ImageRunOptions& options) {
  ImageRun run(static_cast<int>(map.classes.size()));
  EvalOverlay overlay(map, options.overlay_dir);
  cv::Mat raw_labels, truth, predicted;
  for (const auto& item : images) {
    const cv::Mat bgr = tools::read_image(item.image_path, cv::IMREAD_COLOR, tools::WhenTruncated::kWarn);
    read_labels(item.label_path, bgr.cols, bgr.rows, raw_labels);
    if (!options.sequence) segmenter.reset_stream();
    const Segmentation& seg = segmenter.segment(bgr_view(bgr));
    const std::size_t n = raw_labels.total();
    truth.create(raw_labels.size(), CV_8UC1);
    predicted.create(raw_labels.size(), CV_8UC1);
    map_ids(map.labels, raw_labels.data, truth.data, n);
    map_ids(map.predictions, seg.class_map.data(), predicted.data, n);
    run.matrix.add(truth.data, predicted.data, n);
    run.ignored_pixels += static_cast<std::uint64_t>(std::count(truth.data, truth.data + n, kIgnore));
    run.total_ms_sum += segmenter.last_times().total_ms;
    run.crf.add(seg.crf, segmenter.last_times().crf_ms);
    ++run.images;
    overlay.write(bgr, predicted, item.name);
  }
  return run;
}

namespace {

// The oracle unary of `truth` (evaluation classes, kIgnore for ignored pixels): probabilities,
// pixel-major, `classes` per pixel.
void oracle_probabilities(const OracleUnary& oracle, const cv::Mat& truth, int classes, cv::Mat& indicator,
                          cv::Mat& coarse, cv::Mat& back, std::vector<float>& p) {
  const int w = truth.cols, h = truth.rows;
  const cv::Size coarse_size(std::max(1, w / oracle.stride), std::max(1, h / oracle.stride));
  p.assign(static_cast<std::size_t>(w) * h * classes, 0.0f);
  for (int c = 0; c < classes; ++c) {
    cv::compare(truth, c, indicator, cv::CMP_EQ);
    indicator.convertTo(indicator, CV_32F, 1.0 / 255.0);
    cv::resize(indicator, coarse, coarse_size, 0, 0, cv::INTER_AREA);
    cv::resize(coarse, back, truth.size(), 0, 0, cv::INTER_LINEAR);
    const float* v = back.ptr<float>();
    for (int i = 0; i < w * h; ++i) p[static_cast<std::size_t>(i) * classes + c] = oracle.temperature * v[i];
  }
  for (int i = 0; i < w * h; ++i) {
    float* pi = p.data() + static_cast<std::size_t>(i) * classes;
    const float peak = *std::max_element(pi, pi + classes);
    float sum = 0;
    for (int c = 0; c < classes; ++c) sum += pi[c] = std::exp(pi[c] - peak);
    for (int c = 0; c < classes; ++c) pi[c] /= sum;
  }
}

}  // namespace

ImageRun evaluate_oracle(const OracleUnary& oracle, const CrfOptions& crf, int threads, const ClassMap& map,
                         const std::vector<LabelledImage>& images, const ImageRunOptions& options) {
  const int classes = static_cast<int>(map.classes.size());
  ImageRun run(classes);
  EvalOverlay overlay(map, options.overlay_dir);
  CrfStream stream(crf, Device::kCpu, threads);
  cv::Mat raw_labels, truth, predicted, rgb, indicator, coarse, back;
  std::vector<float> p;
  for (const auto& item : images) {
    const cv::Mat bgr = tools::read_image(item.image_path, cv::IMREAD_COLOR, tools::WhenTruncated::kWarn);
    read_labels(item.label_path, bgr.cols, bgr.rows, raw_labels);
    const std::size_t n = raw_labels.total();
    truth.create(raw_labels.size(), CV_8UC1);
    predicted.create(raw_labels.size(), CV_8UC1);
    map_ids(map.labels, raw_labels.data, truth.data, n);
    oracle_probabilities(oracle, truth, classes, indicator, coarse, back, p);
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    if (!options.sequence) stream.reset();
    // Mode off runs no iteration: Q is the unary's normalised probabilities.
    const float* q = stream.process(CrfImage{rgb.data, rgb.cols, rgb.rows, static_cast<int>(rgb.step)}, p.data(), classes);
    for (std::size_t i = 0; i < n; ++i)
      predicted.data[i] = static_cast<std::uint8_t>(std::max_element(q + i * classes, q + (i + 1) * classes) - (q + i * classes));
    run.matrix.add(truth.data, predicted.data, n);
    run.ignored_pixels += static_cast<std::uint64_t>(std::count(truth.data, truth.data + n, kIgnore));
    run.total_ms_sum += stream.last_report().ms;
    run.crf.add(stream.last_report(), crf.mode == CrfMode::kOff ? 0.0 : stream.last_report().ms);
    ++run.images;
    overlay.write(bgr, predicted, item.name);
  }
  return run;
}

VideoRun evaluate_video(Segmenter& segmenter, const ClassMap& map, const std::string& path, int max_frames,
                        const std::string& overlay_dir) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(ErrorCode::kNotFound, path + ": no such video file");
  // FFmpeg first: OpenCV's GStreamer backend would otherwise be tried too, and warn on its own.
  cv::VideoCapture capture(path, cv::CAP_FFMPEG);
  if (!capture.isOpened()) capture.open(path, cv::CAP_ANY);
  if (!capture.isOpened()) throw Error(ErrorCode::kIo, path + ": cannot open the video (unsupported or corrupt?)");
  VideoRun run(static_cast<int>(map.classes.size()));
  EvalOverlay overlay(map, overlay_dir);
  cv::Mat bgr, gray, predicted;
  segmenter.reset_stream();
  while ((max_frames <= 0 || run.frames < max_frames) && capture.read(bgr)) {
    if (bgr.type() != CV_8UC3) throw Error(ErrorCode::kIo, path + ": decoder returned frames that are not 8-bit BGR");
    const Segmentation& seg = segmenter.segment(bgr_view(bgr));
    predicted.create(bgr.size(), CV_8UC1);
    map_ids(map.predictions, seg.class_map.data(), predicted.data, predicted.total());
    for (std::size_t i = 0; i < predicted.total(); ++i) ++run.predicted_pixels[predicted.data[i]];
    cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
    run.stability.add_frame(gray, predicted);
    run.total_ms_sum += segmenter.last_times().total_ms;
    run.crf.add(seg.crf, segmenter.last_times().crf_ms);
    run.width = bgr.cols;
    run.height = bgr.rows;
    char name[32];
    std::snprintf(name, sizeof name, "frame_%05d.png", run.frames);
    overlay.write(bgr, predicted, name);
    ++run.frames;
  }
  if (run.frames == 0) throw Error(ErrorCode::kIo, path + ": no frames could be decoded");
  return run;
}

}  // namespace deeplab::eval
