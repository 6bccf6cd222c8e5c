// The CUDA Segmenter's CRF stage (cuda/crf/cuda_crf_stage.cpp) emulated on the CPU
// (crf_stage_emulation.h; label unit, no GPU) against the CPU's crf::CrfStage, the stage the
// Segmenter runs after the CPU network:
//  - its steps one by one: the image bytes and the luma thumbnails exactly (make_luma_thumbnail on
//    awkward sizes, sampled rows and columns), the pixel-major probabilities exactly (on the host
//    exp_f is std::exp);
//  - whole temporal sequences, synthetic (moving scene, a cut) and real (two shared clips through
//    the shared model), at working scale 1 and 0.5: with the CPU's mean field the emulated stage
//    must make every decision as CrfStage does (warm start, keyframe, scene cut, iterations) and
//    its class maps must agree with CrfStage's (they differ only where CrfStage's probabilities
//    round differently: its softmax may use crf/fast_exp.h); with the GPU mean field's emulation
//    (EmulatedCrf) the same decisions and >= 99.5 % equal labels every frame.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "crf/crf_stage.h"
#include "crf/scene_cut.h"
#include "crf_cases.h"
#include "crf_emulation.h"
#include "crf_stage_emulation.h"
#include "cuda/crf/crf_plan.h"
#include "cuda/crf/crf_stage_steps.h"
#include "deeplab/crf.h"
#include "deeplab/manifest.h"
#include "deeplab/segmenter.h"
#include "postprocess/interpolate.h"
#include "preprocess/preprocess.h"
#include "real_frames.h"

using namespace deeplab;
using namespace deeplab::test;
namespace fs = std::filesystem;

namespace {

// ---- one frame's inputs ----

struct StageFrame {
  FrameView frame;
  std::vector<float> logits;  // NHWC at logits_w x logits_h
};

struct SequenceSetup {
  int logits_w = 0, logits_h = 0, classes = 0;
  ResizeAttrs::Coord coord = ResizeAttrs::kHalfPixel;  // the logits' upsampling to the working size
};

ResampleGeometry logits_to(const SequenceSetup& s, int width, int height) {
  ResizeAttrs attrs;
  attrs.mode = ResizeAttrs::kLinear;
  attrs.coord = s.coord;
  return make_resample_geometry(s.logits_h, s.logits_w, s.classes, height, width,
                                static_cast<float>(height) / s.logits_h, static_cast<float>(width) / s.logits_w, attrs);
}

double agreement(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  std::size_t same = 0;
  for (std::size_t k = 0; k < a.size(); ++k) same += a[k] == b[k];
  return a.empty() ? 1.0 : static_cast<double>(same) / a.size();
}

std::string describe(const CrfFrameReport& r) {
  return std::to_string(r.iterations) + (r.warm_started ? " warm" : " full") + (r.scene_cut ? " cut" : "") +
         (r.keyframe ? " keyframe" : "");
}

struct SequenceCounts {
  int warm = 0, keyframes = 0, cuts = 0;
};

// Runs `frames` through CrfStage (CPU) and the emulated device stage with the CPU's mean field and
// with the GPU's emulated one; `reset_before` frame index gets reset() on every stage.
SequenceCounts run_sequence(const char* what, const std::vector<StageFrame>& frames, const SequenceSetup& s,
                            const CrfOptions& options, int reset_before = -1) {
  const int fw = frames[0].frame.width, fh = frames[0].frame.height;
  const CrfWorkingSize size = crf_working_size(fw, fh, options);
  const int ww = size.width, wh = size.height;
  const ResampleGeometry to_working = logits_to(s, ww, wh);

  crf::CrfStage cpu(options, 2);
  cpu.prepare(fw, fh, s.classes, to_working);
  DenseCrf cpu_crf(Device::kCpu, 2);
  EmulatedCrfStage with_cpu_mean_field(options, [&](const CrfImage& image, const float* p, int classes,
                                                    const CrfParams& params, int iterations, bool warm, float* q,
                                                    float scale) {
    cpu_crf.infer(image, p, classes, params, iterations, warm, q, scale);
  });
  EmulatedCrf gpu_crf(cuda::kCrfSymmetricNormalisation);
  EmulatedCrfStage with_gpu_mean_field(options, [&](const CrfImage& image, const float* p, int classes,
                                                    const CrfParams& params, int iterations, bool warm, float* q,
                                                    float scale) {
    gpu_crf.infer(image, p, classes, params, iterations, warm, q, scale, 3);
  });
  with_cpu_mean_field.prepare(fw, fh, s.classes, to_working);
  with_gpu_mean_field.prepare(fw, fh, s.classes, to_working);

  SequenceCounts counts;
  const std::size_t pixels = static_cast<std::size_t>(fw) * fh;
  std::vector<std::uint8_t> want(pixels), got(pixels), gpu(pixels);
  for (std::size_t k = 0; k < frames.size(); ++k) {
    if (static_cast<int>(k) == reset_before) {
      cpu.reset();
      with_cpu_mean_field.reset();
      with_gpu_mean_field.reset();
    }
    const CrfFrameReport w = cpu.run(frames[k].frame, frames[k].logits.data(), want.data());
    const CrfFrameReport g = with_cpu_mean_field.run(frames[k].frame, frames[k].logits.data(), got.data());
    const CrfFrameReport d = with_gpu_mean_field.run(frames[k].frame, frames[k].logits.data(), gpu.data());
    const double same = agreement(want, got), same_gpu = agreement(want, gpu);
    std::printf("[crf-stage] %s frame %zu: CrfStage %s; emulated stage + CPU mean field %s, labels %.4f%%; "
                "+ GPU mean field (emulated) %s, labels %.4f%%\n",
                what, k, describe(w).c_str(), describe(g).c_str(), 100 * same, describe(d).c_str(), 100 * same_gpu);
    for (const CrfFrameReport* r : {&g, &d}) {
      EXPECT_EQ(r->iterations, w.iterations) << what << " frame " << k;
      EXPECT_EQ(r->warm_started, w.warm_started) << what << " frame " << k;
      EXPECT_EQ(r->scene_cut, w.scene_cut) << what << " frame " << k;
      EXPECT_EQ(r->keyframe, w.keyframe) << what << " frame " << k;
    }
    EXPECT_GE(same, 0.9995) << what << " frame " << k;
    EXPECT_GE(same_gpu, 0.995) << what << " frame " << k;
    counts.warm += w.warm_started;
    counts.keyframes += w.keyframe;
    counts.cuts += w.scene_cut;
  }
  return counts;
}

// ---- synthetic frames ----

struct SyntheticSequence {
  std::vector<CrfScene> scenes;
  std::vector<StageFrame> frames;
  SequenceSetup setup;
};

// crf_cases.h's moving scene with a cut, as padded RGB frames; logits = log of its probabilities at
// a quarter of the size (network-like low resolution).
SyntheticSequence synthetic_sequence(int width, int height, int classes) {
  SyntheticSequence s;
  s.setup.logits_w = (width + 3) / 4;
  s.setup.logits_h = (height + 3) / 4;
  s.setup.classes = classes;
  s.scenes.reserve(kCrfSequenceFrames);
  for (int k = 0; k < kCrfSequenceFrames; ++k) s.scenes.push_back(crf_sequence_scene(width, height, k));
  for (int k = 0; k < kCrfSequenceFrames; ++k) {
    StageFrame f;
    const CrfScene& scene = s.scenes[k];
    f.frame = FrameView::packed(PixelFormat::kRGB, scene.rgb.data(), width, height, scene.stride);
    f.logits = crf_sequence_probabilities(s.setup.logits_w, s.setup.logits_h, classes, k);
    for (float& v : f.logits) v = std::log(v);
    s.frames.push_back(std::move(f));
  }
  return s;
}

}  // namespace

// rgb_byte() is CrfStage::make_image's rounding, clamp order included, over the floats the
// pre-processing can produce and past both ends.
TEST(CudaCrfStageHost, RgbByteRoundsAsCrfStage) {
  for (float v = -3.0f; v <= 260.0f; v += 1.0f / 64) {
    const auto want = static_cast<std::uint8_t>(std::clamp(v + 0.5f, 0.0f, 255.0f));
    ASSERT_EQ(cuda::rgb_byte(v), want) << v;
  }
  EXPECT_EQ(cuda::rgb_byte(254.49998f), 254);
  EXPECT_EQ(cuda::rgb_byte(254.5f), 255);
}

// luma_cell() for every cell equals make_luma_thumbnail() bit for bit: images smaller than the grid,
// sizes that do not divide, and sizes past 1024 where rows and columns are sampled.
TEST(CudaCrfStageHost, ThumbnailCellsEqualMakeLumaThumbnail) {
  const int sizes[][2] = {{1, 1}, {7, 5}, {31, 33}, {32, 32}, {33, 31}, {480, 360}, {1023, 600}, {1024, 1025}, {1920, 1080}};
  std::mt19937 rng(11);
  for (const auto& size : sizes) {
    const int w = size[0], h = size[1], stride = 3 * w + 5;
    std::vector<std::uint8_t> rgb(static_cast<std::size_t>(stride) * h);
    for (auto& b : rgb) b = static_cast<std::uint8_t>(rng());
    crf::LumaThumbnail want;
    crf::make_luma_thumbnail(CrfImage{rgb.data(), w, h, stride}, want);
    const cuda::ThumbnailGrid grid = cuda::thumbnail_grid(w, h, crf::LumaThumbnail::kCells);
    ASSERT_EQ(grid.cells_x, want.cells_x);
    ASSERT_EQ(grid.cells_y, want.cells_y);
    for (int c = 0; c < grid.cells_x * grid.cells_y; ++c) {
      const float got = cuda::luma_cell(rgb.data(), stride, grid, c);
      ASSERT_EQ(std::memcmp(&got, &want.luma[c], sizeof got), 0)
          << w << "x" << h << " cell " << c << ": " << got << " vs " << want.luma[c];
    }
  }
}

// The emulated stage's image and probabilities are CrfStage's: the pre-processing with identity
// normalisation then +0.5 and clamp; resample_nhwc to the working size then a softmax per pixel.
TEST(CudaCrfStageHost, ImageAndProbabilitiesAreCrfStages) {
  for (float scale : {1.0f, 0.5f, 0.37f}) {
    SCOPED_TRACE("scale " + std::to_string(scale));
    const SyntheticSequence s = synthetic_sequence(97, 61, 7);
    CrfOptions options;
    options.mode = CrfMode::kFull;
    options.scale = scale;
    const CrfWorkingSize size = crf_working_size(97, 61, options);
    const int ww = size.width, wh = size.height;
    const ResampleGeometry to_working = logits_to(s.setup, ww, wh);
    // Only the inputs matter here: no mean field.
    EmulatedCrfStage stage(options, [](const CrfImage&, const float*, int, const CrfParams&, int, bool, float*, float) {});
    stage.prepare(97, 61, 7, to_working);
    std::vector<std::uint8_t> classes(97 * 61);
    stage.run(s.frames[0].frame, s.frames[0].logits.data(), classes.data());

    std::vector<float> rgb_float(static_cast<std::size_t>(ww) * wh * 3);
    Preprocessor(crf::crf_image_spec(), crf::crf_image_layout(ww, wh)).run(s.frames[0].frame, rgb_float.data());
    ASSERT_EQ(stage.image().size(), rgb_float.size());
    for (std::size_t k = 0; k < rgb_float.size(); ++k)
      ASSERT_EQ(stage.image()[k], static_cast<std::uint8_t>(std::clamp(rgb_float[k] + 0.5f, 0.0f, 255.0f))) << k;

    std::vector<float> want(static_cast<std::size_t>(ww) * wh * 7);
    std::vector<float> scratch(resample_scratch_floats(to_working, 64));
    resample_nhwc(to_working, s.frames[0].logits.data(), want.data(), scratch.data());
    for (std::size_t i = 0; i < want.size(); i += 7) {
      float* p = want.data() + i;
      const float peak = *std::max_element(p, p + 7);
      float sum = 0;
      for (int k = 0; k < 7; ++k) sum += p[k] = std::exp(p[k] - peak);
      const float inv = 1.0f / sum;
      for (int k = 0; k < 7; ++k) p[k] *= inv;
    }
    ASSERT_EQ(stage.probabilities().size(), want.size());
    for (std::size_t k = 0; k < want.size(); ++k) ASSERT_EQ(stage.probabilities()[k], want[k]) << k;
  }
}

// A moving synthetic scene with a cut: full and temporal, working scale 1 and 0.5 (Q upsampled).
TEST(CudaCrfStageHost, SyntheticSequenceDecidesAsCrfStage) {
  const SyntheticSequence s = synthetic_sequence(120, 80, 5);
  for (float scale : {1.0f, 0.5f}) {
    CrfOptions options;
    options.scale = scale;
    options.mode = CrfMode::kFull;
    run_sequence(scale == 1.0f ? "synthetic full" : "synthetic full 0.5", s.frames, s.setup, options);
    options.mode = CrfMode::kTemporal;
    options.keyframe_interval = 3;
    const SequenceCounts c =
        run_sequence(scale == 1.0f ? "synthetic temporal" : "synthetic temporal 0.5", s.frames, s.setup, options, 7);
    EXPECT_GT(c.warm, 0);
    EXPECT_GT(c.keyframes, 0);
    EXPECT_EQ(c.cuts, 1);
  }
}

// Two shared clips through the shared model (CPU): logits at the network's resolution, the
// manifest's align_corners upsampling to the working size.
TEST(CudaCrfStageHostRealData, ClipSequenceDecidesAsCrfStage) {
  const fs::path model = fs::path(DEEPLAB_SHARED_DIR) / "models" / "deeplab_v3_1_default_1.onnx";
  if (!fs::exists(model)) GTEST_SKIP() << "no shared model at " << model;
  std::string why;
  const std::vector<RealFrame> clip = crf_test_sequence(DEEPLAB_SHARED_DIR, "", 320, 180, 6, &why);
  if (clip.empty()) GTEST_SKIP() << why;
  ModelManifest manifest = load_manifest((fs::path(DEEPLAB_SOURCE_DIR) / "models" / "deeplabv3-mnv2-voc.yaml").string());
  manifest.file = model.string();
  SegmenterOptions seg_options;
  seg_options.device = Device::kCpu;
  seg_options.threads = 2;
  Segmenter segmenter(manifest, seg_options);
  SequenceSetup setup;
  setup.logits_w = segmenter.network().logits_width;
  setup.logits_h = segmenter.network().logits_height;
  setup.classes = segmenter.network().num_classes;
  setup.coord = ResizeAttrs::kAlignCorners;
  // The network's softmax at its own resolution (an identity resampling), back to logits.
  SegmentRequest request;
  request.probabilities_width = setup.logits_w;
  request.probabilities_height = setup.logits_h;
  std::vector<StageFrame> frames;
  for (const RealFrame& f : clip) {
    const Segmentation& s = segmenter.segment(f.view(), request);
    StageFrame sf;
    sf.frame = f.view();
    const std::size_t plane = static_cast<std::size_t>(setup.logits_w) * setup.logits_h;
    sf.logits.resize(plane * setup.classes);
    for (int k = 0; k < setup.classes; ++k)
      for (std::size_t i = 0; i < plane; ++i) sf.logits[i * setup.classes + k] = std::log(std::max(s.probabilities[k * plane + i], 1e-30f));
    frames.push_back(std::move(sf));
  }
  CrfOptions options;
  options.mode = CrfMode::kTemporal;
  options.keyframe_interval = 3;
  const SequenceCounts c = run_sequence("clips temporal", frames, setup, options, 8);
  EXPECT_GT(c.warm, 0);
  EXPECT_GT(c.keyframes, 0);
  EXPECT_GE(c.cuts, 1);  // bottle -> car
  options.scale = 0.5f;
  run_sequence("clips temporal 0.5", frames, setup, options);
  options.mode = CrfMode::kFull;
  options.scale = 1.0f;
  run_sequence("clips full", std::vector<StageFrame>(frames.begin(), frames.begin() + 2), setup, options);
}

// The PPMs deeplab-gpu-frames writes for a GPU machine read back as the frames they were.
TEST(CudaCrfStageHost, PpmFramesReadBackExactly) {
  const fs::path dir = fs::temp_directory_path() / ("deeplab-ppm-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  fs::create_directories(dir);
  std::vector<RealFrame> frames(2);
  for (int k = 0; k < 2; ++k) {
    frames[k].width = 7 + k;
    frames[k].height = 5;
    frames[k].rgb.resize(static_cast<std::size_t>(frames[k].width) * 5 * 3);
    for (std::size_t i = 0; i < frames[k].rgb.size(); ++i) frames[k].rgb[i] = static_cast<std::uint8_t>(i * 37 + k);
    write_ppm(frames[k], (dir / ("0" + std::to_string(k) + ".ppm")).string());
  }
  std::string why;
  const std::vector<RealFrame> back = crf_test_sequence("", dir.string(), 0, 0, 0, &why);
  fs::remove_all(dir);
  ASSERT_EQ(back.size(), 2u);
  for (int k = 0; k < 2; ++k) {
    EXPECT_EQ(back[k].width, frames[k].width);
    EXPECT_EQ(back[k].height, 5);
    EXPECT_EQ(back[k].rgb, frames[k].rgb);
  }
}
