// deeplab::Segmenter's pipelined API (submit / collect / pending) on the CPU (label unit): the
// results come back in submission order and equal segment()'s frame by frame on real clip frames
// (no CRF, and the temporal CRF, whose state must advance in order), mixed frame sizes, the caller's
// buffer reusable at once, a collected result untouched by later submits, and the errors: collect()
// with nothing pending, a third submit, a bad frame (refused, the pipeline still usable), segment()
// with frames pending. The CUDA backend's overlap is tested on a GPU (test_gpu_segmenter.cpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "deeplab/error.h"
#include "deeplab/manifest.h"
#include "deeplab/segmenter.h"
#include "real_frames.h"

using namespace deeplab;
using namespace deeplab::test;
namespace fs = std::filesystem;

namespace {

class SegmenterPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path model = fs::path(DEEPLAB_SHARED_DIR) / "models" / "deeplab_v3_1_default_1.onnx";
    if (!fs::exists(model)) GTEST_SKIP() << "no shared model at " << model;
    manifest_ = load_manifest((fs::path(DEEPLAB_SOURCE_DIR) / "models" / "deeplabv3-mnv2-voc.yaml").string());
    manifest_.file = model.string();
    std::string why;
    frames_ = crf_test_sequence(DEEPLAB_SHARED_DIR, "", 320, 180, 4, &why);
    if (frames_.empty()) GTEST_SKIP() << why;
  }

  SegmenterOptions options(CrfMode crf = CrfMode::kOff) const {
    SegmenterOptions o;
    o.device = Device::kCpu;
    o.threads = 2;
    o.crf.mode = crf;
    o.crf.keyframe_interval = 3;
    return o;
  }

  ModelManifest manifest_;
  std::vector<RealFrame> frames_;
};

void expect_same(const Segmentation& want, const Segmentation& got, const std::string& what) {
  EXPECT_EQ(got.width, want.width) << what;
  EXPECT_EQ(got.height, want.height) << what;
  EXPECT_EQ(got.class_map, want.class_map) << what;
  EXPECT_EQ(got.num_classes, want.num_classes) << what;
  EXPECT_EQ(got.probabilities_width, want.probabilities_width) << what;
  EXPECT_EQ(got.probabilities, want.probabilities) << what;
  EXPECT_EQ(got.crf.iterations, want.crf.iterations) << what;
  EXPECT_EQ(got.crf.warm_started, want.crf.warm_started) << what;
  EXPECT_EQ(got.crf.scene_cut, want.crf.scene_cut) << what;
  EXPECT_EQ(got.crf.keyframe, want.crf.keyframe) << what;
}

// Every frame through segment(), and through submit/collect two frames ahead; the frame buffers are
// copies that the test overwrites right after submit(), as a capture loop reuses its buffer.
void compare_pipelined(Segmenter& sequential, Segmenter& pipelined, const std::vector<RealFrame>& frames,
                       const SegmentRequest& request, const std::string& what) {
  std::vector<Segmentation> want;
  for (const RealFrame& f : frames) want.push_back(sequential.segment(f.view(), request));
  std::size_t collected = 0;
  RealFrame buffer;
  for (std::size_t k = 0; k < frames.size(); ++k) {
    buffer = frames[k];
    pipelined.submit(buffer.view(), request);
    std::fill(buffer.rgb.begin(), buffer.rgb.end(), 0);  // the frame was copied: reuse the buffer
    if (pipelined.pending() == Segmenter::kMaxInFlight) {
      const Segmentation* got = pipelined.collect();
      ASSERT_NE(got, nullptr);
      expect_same(want[collected], *got, what + " frame " + std::to_string(collected));
      ++collected;
    }
  }
  while (const Segmentation* got = pipelined.collect()) {
    expect_same(want[collected], *got, what + " frame " + std::to_string(collected));
    ++collected;
  }
  EXPECT_EQ(collected, frames.size());
  EXPECT_EQ(pipelined.pending(), 0);
}

}  // namespace

TEST_F(SegmenterPipeline, ResultsEqualSegmentInOrder) {
  Segmenter sequential(manifest_, options()), pipelined(manifest_, options());
  SegmentRequest request;
  request.probabilities_width = 40;
  request.probabilities_height = 30;
  compare_pipelined(sequential, pipelined, frames_, request, "no CRF");
  EXPECT_GT(pipelined.last_times().total_ms, 0.0);
}

// The temporal CRF's state (warm starts, keyframes, the scene cut between the clips) advances in
// submission order.
TEST_F(SegmenterPipeline, TemporalCrfAdvancesInSubmissionOrder) {
  Segmenter sequential(manifest_, options(CrfMode::kTemporal)), pipelined(manifest_, options(CrfMode::kTemporal));
  compare_pipelined(sequential, pipelined, frames_, {}, "temporal CRF");
}

TEST_F(SegmenterPipeline, MixedSizesComeBackInOrder) {
  std::vector<RealFrame> mixed;
  for (std::size_t k = 0; k < 5; ++k) {
    RealFrame f = frames_[k];
    if (k % 2) {  // every other frame at half size (a nearest 2:1 decimation)
      RealFrame half;
      half.width = f.width / 2;
      half.height = f.height / 2;
      half.rgb.resize(static_cast<std::size_t>(half.width) * half.height * 3);
      for (int y = 0; y < half.height; ++y)
        for (int x = 0; x < half.width; ++x)
          for (int c = 0; c < 3; ++c)
            half.rgb[(static_cast<std::size_t>(y) * half.width + x) * 3 + c] =
                f.rgb[(static_cast<std::size_t>(2 * y) * f.width + 2 * x) * 3 + c];
      f = half;
    }
    mixed.push_back(f);
  }
  Segmenter sequential(manifest_, options()), pipelined(manifest_, options());
  compare_pipelined(sequential, pipelined, mixed, {}, "mixed sizes");
}

TEST_F(SegmenterPipeline, ErrorsLeaveThePipelineUsable) {
  Segmenter segmenter(manifest_, options());
  EXPECT_EQ(segmenter.pending(), 0);
  EXPECT_EQ(segmenter.collect(), nullptr);  // nothing pending

  FrameView bad = frames_[0].view();
  bad.planes[0] = nullptr;
  EXPECT_THROW(segmenter.submit(bad), Error);
  EXPECT_EQ(segmenter.pending(), 0);

  segmenter.submit(frames_[0].view());
  segmenter.submit(frames_[1].view());
  try {
    segmenter.submit(frames_[2].view());
    ADD_FAILURE() << "a third frame in flight was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("collect()"), std::string::npos) << e.what();
  }
  EXPECT_EQ(segmenter.pending(), 2);
  try {
    segmenter.segment(frames_[2].view());
    ADD_FAILURE() << "segment() ran with frames pending";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  Segmenter reference(manifest_, options());
  const Segmentation want0 = reference.segment(frames_[0].view());
  const Segmentation want1 = reference.segment(frames_[1].view());
  const Segmentation want2 = reference.segment(frames_[2].view());
  const Segmentation* got = segmenter.collect();
  ASSERT_NE(got, nullptr);
  expect_same(want0, *got, "after the refused submit, frame 0");
  // A frame refused while one is pending leaves that one pending.
  EXPECT_THROW(segmenter.submit(bad), Error);
  EXPECT_EQ(segmenter.pending(), 1);
  // The result collect() handed out stays as it was while more frames are submitted.
  got = segmenter.collect();
  ASSERT_NE(got, nullptr);
  const Segmentation copy = *got;
  segmenter.submit(frames_[2].view());
  segmenter.submit(frames_[0].view());
  expect_same(copy, *got, "a collected result after two more submits");
  expect_same(want1, copy, "frame 1");
  expect_same(want2, *segmenter.collect(), "frame 2");
  expect_same(want0, *segmenter.collect(), "frame 0 again");
  EXPECT_EQ(segmenter.collect(), nullptr);
  // And segment() works again once nothing is pending.
  expect_same(want2, segmenter.segment(frames_[2].view()), "segment() after the pipeline");
}
