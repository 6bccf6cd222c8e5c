// The Segmenter on CUDA with the dense CRF on the device (cuda/crf/cuda_crf_stage.h) against the
// Segmenter on the CPU with the CPU CRF (label gpu; skipped without a GPU): real frames (two shared
// clips, real_frames.h: from DEEPLAB_GPU_FRAMES_DIR's PPMs, else decoded with OpenCV), the shared
// model, full and temporal CRF at working scale 1 and 0.5 (and the batching engine on CUDA, below).
// Per frame: class agreement >= 99.5 % and the same temporal decisions (iterations, warm start,
// keyframe, scene cut); crf_ms > 0 from events.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "deeplab/batching.h"
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
    if (stopped()) return;
    const std::string model = real_model();
    if (model.empty()) DEEPLAB_GPU_SKIP_OR_FAIL("the shared real model is neither in ../shared/models nor in models/cache/");
    manifest_ = load_manifest((fs::path(DEEPLAB_SOURCE_DIR) / "models" / "deeplabv3-mnv2-voc.yaml").string());
    manifest_.file = model;
    std::string why;
    frames_ = crf_test_sequence(DEEPLAB_SHARED_DIR, frames_dir(), 640, 360, 6, &why);
    if (frames_.empty()) DEEPLAB_GPU_SKIP_OR_FAIL(why << " (make them with deeplab-gpu-frames DIR)");
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

// Two frames in flight (copy streams overlapping the compute) give segment()'s results bit for bit,
// in order: fp32 and fp16, with probabilities, with the temporal CRF on the device, and with the
// frame size changing while a frame is in flight.
TEST_F(GpuSegmenter, TwoFramesInFlightEqualSequentialBitForBit) {
  struct Case {
    Precision precision;
    CrfMode crf;
    bool mixed_sizes;
  };
  for (const Case& c : {Case{Precision::kFp32, CrfMode::kOff, false}, Case{Precision::kFp16, CrfMode::kOff, false},
                        Case{Precision::kFp32, CrfMode::kTemporal, false}, Case{Precision::kFp16, CrfMode::kTemporal, false},
                        Case{Precision::kFp32, CrfMode::kOff, true}}) {
    const std::string what = std::string(c.precision == Precision::kFp16 ? "fp16" : "fp32") + " crf " +
                             crf_mode_name(c.crf) + (c.mixed_sizes ? " mixed sizes" : "");
    SCOPED_TRACE(what);
    Segmenter sequential(manifest_, options(Device::kCuda, c.crf, 1.0f, c.precision));
    Segmenter pipelined(manifest_, options(Device::kCuda, c.crf, 1.0f, c.precision));
    std::vector<RealFrame> frames = frames_;
    if (c.mixed_sizes)
      for (std::size_t k = 1; k < frames.size(); k += 2) {  // every other frame cropped to its top-left 320x200
        RealFrame crop;
        crop.width = 320;
        crop.height = 200;
        for (int y = 0; y < 200; ++y)
          crop.rgb.insert(crop.rgb.end(), frames[k].rgb.begin() + static_cast<std::size_t>(y) * frames[k].width * 3,
                          frames[k].rgb.begin() + (static_cast<std::size_t>(y) * frames[k].width + 320) * 3);
        frames[k] = crop;
      }
    SegmentRequest request;
    request.probabilities_width = 64;
    request.probabilities_height = 36;
    std::vector<Segmentation> want;
    for (const RealFrame& f : frames) want.push_back(sequential.segment(f.view(), request));
    std::size_t next = 0;
    auto check = [&](const Segmentation* got) {
      ASSERT_NE(got, nullptr);
      EXPECT_EQ(got->width, want[next].width) << "frame " << next;
      EXPECT_EQ(got->class_map, want[next].class_map) << "frame " << next;
      EXPECT_EQ(got->probabilities, want[next].probabilities) << "frame " << next;
      EXPECT_EQ(got->crf.iterations, want[next].crf.iterations) << "frame " << next;
      EXPECT_EQ(got->crf.warm_started, want[next].crf.warm_started) << "frame " << next;
      ++next;
    };
    for (const RealFrame& f : frames) {
      pipelined.submit(f.view(), request);
      if (pipelined.pending() == Segmenter::kMaxInFlight) check(pipelined.collect());
    }
    while (pipelined.pending() > 0) check(pipelined.collect());
    EXPECT_EQ(next, frames.size());
    const StageTimes& t = pipelined.last_times();
    std::printf("[gpu-pipeline] %s: last frame upload %.3f, pre %.3f, network %.3f, crf %.3f, post %.3f, download "
                "%.3f, submit->collect %.3f ms\n",
                what.c_str(), t.upload_ms, t.preprocess_ms, t.infer_ms, t.crf_ms, t.postprocess_ms, t.download_ms,
                t.total_ms);
  }
}

// The batching engine (deeplab/batching.h) on CUDA (issue 15), fp32: four streams on four threads,
// each with its own frame size (crops of the real frames: 640x360, 513x289, 320x240, 600x200) and
// frames, in batches of 4 (and of 3 on a batch-4 engine: the network planned for 4, one slot
// unused), against the unbatched CUDA Segmenter on the same frames: the same class maps (cuDNN may
// pick other algorithms at batch 4: >= 99.9 % of labels, the count of identical maps printed) and
// probabilities within 1e-3; against the CPU Segmenter >= 99.5 %.
namespace {

FrameView crop(const RealFrame& f, int width, int height) {
  return FrameView::packed(PixelFormat::kRGB, f.rgb.data(), std::min(width, f.width), std::min(height, f.height),
                           f.width * 3);
}

constexpr int kStreamSizes[4][2] = {{640, 360}, {513, 289}, {320, 240}, {600, 200}};

}  // namespace

TEST_F(GpuSegmenter, BatchedStreamsOnCudaMatchTheUnbatchedCudaSegmenter) {
  for (int streams_n : {4, 3}) {
    SCOPED_TRACE(std::to_string(streams_n) + " streams, batch 4");
    BatchOptions batch;
    batch.batch_size = 4;
    batch.timeout_ms = 1000;
    BatchingEngine engine(manifest_, options(Device::kCuda, CrfMode::kOff, 1.0f), batch);
    ASSERT_EQ(engine.device(), Device::kCuda);
    Segmenter single(manifest_, options(Device::kCuda, CrfMode::kOff, 1.0f));
    Segmenter cpu(manifest_, options(Device::kCpu, CrfMode::kOff, 1.0f));
    std::vector<std::unique_ptr<EngineStream>> streams;
    for (int k = 0; k < streams_n; ++k) streams.push_back(engine.open_stream());
    SegmentRequest request;
    request.probabilities_width = 65;
    request.probabilities_height = 49;
    int identical = 0, compared = 0;
    for (std::size_t round = 0; round + 1 < frames_.size(); round += 2) {
      std::vector<Segmentation> got(streams_n);
      std::vector<std::thread> threads;
      auto frame_of = [&](int k) {
        return crop(frames_[(round + k) % frames_.size()], kStreamSizes[k][0], kStreamSizes[k][1]);
      };
      for (int k = 0; k < streams_n; ++k)
        threads.emplace_back([&, k] { got[k] = streams[k]->segment(frame_of(k), request); });
      for (auto& t : threads) t.join();
      for (int k = 0; k < streams_n; ++k) {
        const Segmentation& want = single.segment(frame_of(k), request);
        ASSERT_EQ(got[k].width, kStreamSizes[k][0]);
        ASSERT_EQ(got[k].height, std::min(kStreamSizes[k][1], frames_[0].height));
        EXPECT_GE(agreement(want.class_map, got[k].class_map), 0.999) << "stream " << k << " round " << round;
        identical += want.class_map == got[k].class_map;
        ++compared;
        ASSERT_EQ(got[k].probabilities.size(), want.probabilities.size());
        float worst = 0;
        for (std::size_t i = 0; i < want.probabilities.size(); ++i)
          worst = std::max(worst, std::fabs(want.probabilities[i] - got[k].probabilities[i]));
        EXPECT_LE(worst, 1e-3f) << "stream " << k << " round " << round;
        EXPECT_GE(agreement(cpu.segment(frame_of(k)).class_map, got[k].class_map), 0.995) << "stream " << k;
        EXPECT_EQ(streams[k]->last_batch_frames(), streams_n);
      }
    }
    std::printf("[gpu-batch] %d streams: %d of %d class maps identical to the unbatched CUDA Segmenter's\n",
                streams_n, identical, compared);
  }
}

// Per-stream CUDA CRF state in one batch: two clips interleaved (batch 2, temporal CRF) give each
// clip the masks and the temporal decisions it gets alone from a CUDA Segmenter.
TEST_F(GpuSegmenter, BatchedCudaTemporalCrfKeepsEachStreamsState) {
  if (frames_.size() < 6) GTEST_SKIP() << "needs two clips of three frames";
  BatchOptions batch;
  batch.batch_size = 2;
  batch.timeout_ms = 1000;
  const SegmenterOptions o = options(Device::kCuda, CrfMode::kTemporal, 0.5f);
  BatchingEngine engine(manifest_, o, batch);
  const std::size_t clip_start[2] = {0, frames_.size() - 3};
  std::unique_ptr<EngineStream> streams[2] = {engine.open_stream(), engine.open_stream()};
  Segmenter alone[2] = {Segmenter(manifest_, o), Segmenter(manifest_, o)};
  for (std::size_t k = 0; k < 3; ++k) {
    Segmentation got[2];
    std::thread second([&] { got[1] = streams[1]->segment(frames_[clip_start[1] + k].view()); });
    got[0] = streams[0]->segment(frames_[clip_start[0] + k].view());
    second.join();
    for (int c = 0; c < 2; ++c) {
      const Segmentation& want = alone[c].segment(frames_[clip_start[c] + k].view());
      EXPECT_GE(agreement(want.class_map, got[c].class_map), 0.999) << "clip " << c << " frame " << k;
      EXPECT_EQ(got[c].crf.iterations, want.crf.iterations) << "clip " << c << " frame " << k;
      EXPECT_EQ(got[c].crf.warm_started, want.crf.warm_started) << "clip " << c << " frame " << k;
      EXPECT_EQ(got[c].crf.keyframe, want.crf.keyframe) << "clip " << c << " frame " << k;
    }
  }
}
