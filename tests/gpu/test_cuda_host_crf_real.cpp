// The CUDA CRF's kernels emulated on the CPU (crf_emulation.h) against the CPU CRF on real data
// (label unit; no GPU needed): CamVid frames (../shared/eval/camvid, 480x360) with the shared
// DeepLabv3-MobileNetV2's softmax probabilities, DeepLab's CRF parameters: a full CRF on one frame
// and a warm-started 2-iteration CRF on the next, as the temporal mode runs them. Built only where
// OpenCV can read the PNGs; skipped when the shared data is absent.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "crf_cases.h"
#include "crf_emulation.h"
#include "cuda/crf/crf_plan.h"
#include "deeplab/crf.h"
#include "deeplab/manifest.h"
#include "deeplab/segmenter.h"

using namespace deeplab;
using namespace deeplab::test;
namespace fs = std::filesystem;

namespace {

const fs::path kShared = DEEPLAB_SHARED_DIR;
const fs::path kModel = kShared / "models" / "deeplab_v3_1_default_1.onnx";
const fs::path kFrames = kShared / "eval" / "camvid" / "images";

struct RealFrame {
  cv::Mat rgb;
  std::vector<float> probabilities;  // pixel-major
  int classes = 0;
  CrfImage image() const { return CrfImage{rgb.data, rgb.cols, rgb.rows, static_cast<int>(rgb.step[0])}; }
};

RealFrame load_frame(Segmenter& segmenter, const std::string& name) {
  RealFrame f;
  const cv::Mat bgr = cv::imread((kFrames / name).string(), cv::IMREAD_COLOR);
  if (bgr.empty()) throw std::runtime_error("cannot read " + (kFrames / name).string());
  cv::cvtColor(bgr, f.rgb, cv::COLOR_BGR2RGB);
  SegmentRequest request;
  request.probabilities_width = f.rgb.cols;
  request.probabilities_height = f.rgb.rows;
  const FrameView view =
      FrameView::packed(PixelFormat::kRGB, f.rgb.data, f.rgb.cols, f.rgb.rows, static_cast<int>(f.rgb.step[0]));
  const Segmentation& s = segmenter.segment(view, request);
  f.classes = s.num_classes;
  const std::size_t plane = static_cast<std::size_t>(s.probabilities_width) * s.probabilities_height;
  f.probabilities.resize(plane * f.classes);
  for (int k = 0; k < f.classes; ++k)
    for (std::size_t i = 0; i < plane; ++i) f.probabilities[i * f.classes + k] = s.probabilities[k * plane + i];
  return f;
}

}  // namespace

TEST(CudaCrfHostRealData, CamVidFramesMatchTheCpu) {
  const fs::path manifest_path = fs::path(DEEPLAB_SOURCE_DIR) / "models" / "deeplabv3-mnv2-voc.yaml";
  if (!fs::exists(kModel) || !fs::exists(kFrames / "0001TP_008550.png"))
    GTEST_SKIP() << "no shared model or CamVid frames under " << kShared;
  ModelManifest manifest = load_manifest(manifest_path.string());  // the model's input spec
  manifest.file = kModel.string();
  SegmenterOptions options;
  options.device = Device::kCpu;
  options.threads = 2;
  Segmenter segmenter(manifest, options);
  const RealFrame first = load_frame(segmenter, "0001TP_008550.png");
  const RealFrame next = load_frame(segmenter, "0001TP_008580.png");
  const CrfParams params;
  const bool symmetric = cuda::kCrfSymmetricNormalisation;

  DenseCrf cpu(Device::kCpu, 2);
  std::vector<float> want0(first.probabilities.size()), got0(want0.size());
  cpu.infer(first.image(), first.probabilities.data(), first.classes, params, params.iterations, false, want0.data());
  EmulatedCrf emulated(symmetric);
  emulated.infer(first.image(), first.probabilities.data(), first.classes, params, params.iterations, false,
                 got0.data(), 1.0f, 5);
  const QComparison full = compare_q(want0, got0, first.classes);
  std::printf("[crf-cuda] CamVid %dx%d, %d classes, emulated vs CPU, full CRF: %s\n", first.rgb.cols, first.rgb.rows,
              first.classes, full.describe().c_str());
  EXPECT_GE(full.agreement(), 0.995) << full.describe();
  EXPECT_TRUE(full.finite && full.normalised) << full.describe();

  // The next frame from the previous frame's Q (each from its own device's, as streams run).
  std::vector<float> want1 = want0, got1 = got0;
  cpu.infer(next.image(), next.probabilities.data(), next.classes, params, 2, true, want1.data());
  emulated.infer(next.image(), next.probabilities.data(), next.classes, params, 2, true, got1.data(), 1.0f, 6);
  const QComparison warm = compare_q(want1, got1, next.classes);
  std::printf("[crf-cuda] CamVid next frame, warm start, 2 iterations: %s\n", warm.describe().c_str());
  EXPECT_GE(warm.agreement(), 0.995) << warm.describe();
  // The CRF changed something (the comparison is not of two copies of the network's argmax).
  std::vector<float> unary(first.probabilities);
  const QComparison effect = compare_q(unary, want0, first.classes);
  std::printf("[crf-cuda] CamVid: the CPU CRF changed the label of %zu of %zu pixels\n",
              effect.pixels - effect.same_label, effect.pixels);
  EXPECT_GT(effect.pixels - effect.same_label, 0u);
}
