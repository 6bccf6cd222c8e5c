// The Segmenter on CUDA with the dense CRF on the device (cuda/crf/cuda_crf_stage.h) against the
// Segmenter on the CPU with the CPU CRF (label gpu; skipped without a GPU): real frames (two shared
// clips, real_frames.h: from DEEPLAB_GPU_FRAMES_DIR's PPMs, else decoded with OpenCV), the shared
// model, full and temporal CRF at working scale 1 and 0.5. Per frame: class agreement >= 99.5 % and
// the same temporal decisions (iterations, warm start, keyframe, scene cut); crf_ms > 0 from events.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "deeplab/manifest.h"
#include "deeplab/segmenter.h"
#include "gpu_test.h"
#include "real_frames.h"

using namespace deeplab;
using namespace deeplab::test;
namespace fs = std::filesystem;

namespace {

std::string real_model() {
  for (const fs::path& p : {fs::path(DEEPLAB_SHARED_DIR) / "models" / "deeplab_v3_1_default_1.onnx",
                            fs::path(DEEPLAB_SOURCE_DIR) / "models" / "cache" / "deeplab_v3_1_default_1.onnx"})
    if (fs::exists(p)) return p.string();
  return "";
}

std::string frames_dir() {
  const char* dir = std::getenv("DEEPLAB_GPU_FRAMES_DIR");
  return dir ? dir : std::string(DEEPLAB_TEST_WORK_DIR) + "/frames";
}

class GpuSegmenter : public GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    if (IsSkipped()) return;
    const std::string model = real_model();
    if (model.empty()) GTEST_SKIP() << "the shared real model is neither in ../shared/models nor in models/cache/";
    manifest_ = load_manifest((fs::path(DEEPLAB_SOURCE_DIR) / "models" / "deeplabv3-mnv2-voc.yaml").string());
    manifest_.file = model;
    std::string why;
    frames_ = crf_test_sequence(DEEPLAB_SHARED_DIR, frames_dir(), 640, 360, 6, &why);
    if (frames_.empty()) GTEST_SKIP() << why << " (make them with deeplab-gpu-frames DIR)";
  }

  SegmenterOptions options(Device device, CrfMode mode, float scale, Precision precision = Precision::kFp32) const {
    SegmenterOptions o;
    o.device = device;
    o.precision = precision;
    o.crf.mode = mode;
    o.crf.scale = scale;
    o.crf.keyframe_interval = 3;
    return o;
  }

  ModelManifest manifest_;
  std::vector<RealFrame> frames_;
};

double agreement(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  std::size_t same = 0;
  for (std::size_t k = 0; k < a.size(); ++k) same += a[k] == b[k];
  return a.empty() ? 1.0 : static_cast<double>(same) / a.size();
}

}  // namespace

TEST_F(GpuSegmenter, CrfOnTheDeviceMatchesTheCpuCrf) {
  for (CrfMode mode : {CrfMode::kFull, CrfMode::kTemporal})
    for (float scale : {1.0f, 0.5f}) {
      SCOPED_TRACE(std::string(crf_mode_name(mode)) + " scale " + std::to_string(scale));
      Segmenter cpu(manifest_, options(Device::kCpu, mode, scale));
      Segmenter gpu(manifest_, options(Device::kCuda, mode, scale));
      ASSERT_EQ(gpu.device(), Device::kCuda);
      int warm = 0, cuts = 0;
      for (std::size_t k = 0; k < frames_.size(); ++k) {
        const Segmentation want = cpu.segment(frames_[k].view());
        const Segmentation& got = gpu.segment(frames_[k].view());
        const StageTimes& t = gpu.last_times();
        const double same = agreement(want.class_map, got.class_map);
        std::printf("[gpu-crf-stage] %s scale %g frame %zu (%s): labels %.4f%%; cpu %d it%s%s%s, cuda %d it%s%s%s; "
                    "crf %.3f ms, total %.3f ms\n",
                    crf_mode_name(mode), scale, k, frames_[k].name.c_str(), 100 * same, want.crf.iterations,
                    want.crf.warm_started ? " warm" : "", want.crf.scene_cut ? " cut" : "",
                    want.crf.keyframe ? " keyframe" : "", got.crf.iterations, got.crf.warm_started ? " warm" : "",
                    got.crf.scene_cut ? " cut" : "", got.crf.keyframe ? " keyframe" : "", t.crf_ms, t.total_ms);
        EXPECT_GE(same, 0.995) << "frame " << k;
        EXPECT_EQ(got.crf.iterations, want.crf.iterations) << "frame " << k;
        EXPECT_EQ(got.crf.warm_started, want.crf.warm_started) << "frame " << k;
        EXPECT_EQ(got.crf.scene_cut, want.crf.scene_cut) << "frame " << k;
        EXPECT_EQ(got.crf.keyframe, want.crf.keyframe) << "frame " << k;
        EXPECT_GT(t.crf_ms, 0.0);
        EXPECT_EQ(got.crf.ms, t.crf_ms);
        warm += want.crf.warm_started;
        cuts += want.crf.scene_cut;
      }
      if (mode == CrfMode::kTemporal) {
        EXPECT_GT(warm, 0);
        EXPECT_GE(cuts, 1);
      }
    }
}

// reset_stream() and set_crf_options() act on the device CRF as on the CPU's.
TEST_F(GpuSegmenter, ResetAndNewCrfOptionsStartTheDeviceCrfFromScratch) {
  Segmenter gpu(manifest_, options(Device::kCuda, CrfMode::kTemporal, 1.0f));
  gpu.segment(frames_[0].view());
  EXPECT_TRUE(gpu.segment(frames_[1].view()).crf.warm_started);
  gpu.reset_stream();
  EXPECT_FALSE(gpu.segment(frames_[2].view()).crf.warm_started);
  CrfOptions full;
  full.mode = CrfMode::kFull;
  gpu.set_crf_options(full);
  EXPECT_FALSE(gpu.segment(frames_[3].view()).crf.warm_started);
  gpu.set_crf_options(CrfOptions{});  // off
  const Segmentation& off = gpu.segment(frames_[3].view());
  EXPECT_EQ(off.crf.iterations, 0);
  EXPECT_EQ(gpu.last_times().crf_ms, 0.0);
}
