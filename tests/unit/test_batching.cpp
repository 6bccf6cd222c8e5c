// deeplab::BatchingEngine (deeplab/batching.h) on the real default model (TF DeepLabv3-MobileNetV2,
// NHWC 257x257) and the shared stills and CamVid frames:
//  - a batch of frames of mixed sizes and pixel formats gives each frame exactly (bit for bit) what
//    a batch-1 Segmenter gives it: class map and probabilities;
//  - the temporal CRF of two CamVid sequences interleaved in one batch gives each sequence the maps
//    it gets alone;
//  - one model load for four streams through the registry, refused when settings differ, freed with
//    its last holder;
//  - a stalled stream holds the others for the batch timeout at most; streams join and leave while
//    another plays; a bad frame is its own stream's error.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "deeplab/batching.h"
#include "deeplab/segmenter.h"
#include "expect_error.h"
#include "network_loader.h"
#include "stills.h"

namespace fs = std::filesystem;
using namespace deeplab;

namespace {

// A frame and the pixels it points at.
struct TestFrame {
  std::string name;
  cv::Mat pixels;
  FrameView view;
};

TestFrame packed_frame(const std::string& name, const cv::Mat& bgr, PixelFormat format, int code) {
  TestFrame f{name, cv::Mat(), {}};
  if (code >= 0) cv::cvtColor(bgr, f.pixels, code); else f.pixels = bgr.clone();
  f.view = FrameView::packed(format, f.pixels.data, bgr.cols, bgr.rows, static_cast<int>(f.pixels.step));
  return f;
}

TestFrame i420_frame(const std::string& name, const cv::Mat& bgr) {
  TestFrame f{name, cv::Mat(), {}};
  cv::cvtColor(bgr, f.pixels, cv::COLOR_BGR2YUV_I420);  // (h * 3/2) x w, planes one after another
  const int w = bgr.cols, h = bgr.rows;
  const std::uint8_t* y = f.pixels.data;
  const std::uint8_t* u = y + w * h;
  const std::uint8_t* v = u + (w / 2) * (h / 2);
  f.view = FrameView::i420(y, w, u, w / 2, v, w / 2, w, h);
  return f;
}

std::string camvid_dir() { return std::string(DEEPLAB_SHARED_DIR) + "/eval/camvid/images"; }

// The first `count` CamVid frames of one sequence (file name prefix), in file order.
std::vector<cv::Mat> camvid_sequence(const std::string& prefix, int count) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(camvid_dir()))
    if (entry.path().filename().string().rfind(prefix, 0) == 0) names.push_back(entry.path().string());
  std::sort(names.begin(), names.end());
  std::vector<cv::Mat> frames;
  for (int k = 0; k < count && k < static_cast<int>(names.size()); ++k) frames.push_back(cv::imread(names[k]));
  return frames;
}

// The CPU, one thread (the tests share a small machine), in one place for every engine below.
SegmenterOptions cpu_options() { return [] { SegmenterOptions o; o.device = Device::kCpu; o.threads = 1; return o; }(); }

BatchOptions batch_of(int size, int timeout_ms = 2000) {
  BatchOptions b;
  b.batch_size = size;
  b.timeout_ms = timeout_ms;
  return b;
}

// Runs work(k) on `n` threads at once and joins them.
void on_threads(int n, const std::function<void(int)>& work) {
  std::vector<std::thread> threads;
  for (int k = 0; k < n; ++k) threads.emplace_back(work, k);
  for (auto& t : threads) t.join();
}

void expect_same(const Segmentation& a, const Segmentation& b, const std::string& what) {
  ASSERT_EQ(a.width, b.width) << what;
  ASSERT_EQ(a.height, b.height) << what;
  EXPECT_TRUE(a.class_map == b.class_map) << what << ": class maps differ";
  ASSERT_EQ(a.probabilities.size(), b.probabilities.size()) << what;
  EXPECT_EQ(std::memcmp(a.probabilities.data(), b.probabilities.data(), a.probabilities.size() * sizeof(float)), 0)
      << what << ": probabilities differ";
}

class BatchingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(test::shared_default_model())) GTEST_SKIP() << "no model at " << test::shared_default_model();
  }
};

}  // namespace

// Four frames of four sizes and four pixel formats in one batch of four: each frame's class map and
// probabilities equal the batch-1 Segmenter's bit for bit (fp32 CPU), twice (the second batch
// reuses every plan).
TEST_F(BatchingTest, MixedSizesAndFormatsEqualTheUnbatchedSegmenter) {
  const ModelManifest manifest = test::default_model_manifest();
  std::vector<TestFrame> frames;
  frames.push_back(packed_frame("person BGR", test::load_still("person.jpg"), PixelFormat::kBGR, -1));
  frames.push_back(packed_frame("dog RGB", test::load_still("dog.jpg"), PixelFormat::kRGB, cv::COLOR_BGR2RGB));
  frames.push_back(packed_frame("horses BGRA", test::load_still("horses.jpg"), PixelFormat::kBGRA, cv::COLOR_BGR2BGRA));
  frames.push_back(i420_frame("camvid I420", camvid_sequence("0001TP", 1).at(0)));
  SegmentRequest request;
  request.probabilities_width = 97;  // odd sizes on purpose
  request.probabilities_height = 61;

  Segmenter solo(manifest, cpu_options());
  std::vector<Segmentation> expected;
  for (const TestFrame& f : frames) expected.push_back(solo.segment(f.view, request));

  BatchingEngine engine(manifest, cpu_options(), batch_of(4));
  EXPECT_EQ(engine.network().batch, 4);
  std::vector<std::unique_ptr<EngineStream>> streams;
  for (std::size_t k = 0; k < frames.size(); ++k) streams.push_back(engine.open_stream());
  std::vector<Segmentation> got(frames.size());
  std::vector<int> batch_frames(frames.size());
  for (int round = 0; round < 2; ++round) {
    on_threads(4, [&](int k) {
      got[k] = streams[k]->segment(frames[k].view, request);
      batch_frames[k] = streams[k]->last_batch_frames();
    });
    for (std::size_t k = 0; k < frames.size(); ++k) {
      expect_same(got[k], expected[k], frames[k].name + ", round " + std::to_string(round));
      EXPECT_EQ(batch_frames[k], 4) << frames[k].name << ": four streams, all waiting: one full batch";
    }
  }
}

// Two CamVid sequences with the temporal CRF, interleaved frame by frame in batches of two: each
// sequence's maps are the ones a Segmenter of its own gives it (each stream its own CRF state).
TEST_F(BatchingTest, TemporalCrfOfTwoInterleavedSequencesEqualsEachAlone) {
  const ModelManifest manifest = test::default_model_manifest();
  const std::vector<std::vector<cv::Mat>> sequences = {camvid_sequence("0001TP", 5), camvid_sequence("Seq05VD", 5)};
  SegmenterOptions options = cpu_options();
  options.crf.mode = CrfMode::kTemporal;
  options.crf.scale = 0.25f;
  std::vector<std::vector<std::vector<std::uint8_t>>> alone(2), batched(2);
  for (int s = 0; s < 2; ++s) {
    Segmenter solo(manifest, options);
    for (const cv::Mat& bgr : sequences[s]) alone[s].push_back(solo.segment(test::bgr_frame(bgr)).class_map);
  }
  BatchingEngine engine(manifest, options, batch_of(2));
  std::vector<std::unique_ptr<EngineStream>> streams;
  for (int s = 0; s < 2; ++s) streams.push_back(engine.open_stream());
  on_threads(2, [&](int s) {
    for (const cv::Mat& bgr : sequences[s]) batched[s].push_back(streams[s]->segment(test::bgr_frame(bgr)).class_map);
  });
  for (int s = 0; s < 2; ++s) {
    ASSERT_EQ(batched[s].size(), alone[s].size());
    for (std::size_t k = 0; k < alone[s].size(); ++k)
      EXPECT_TRUE(batched[s][k] == alone[s][k]) << "sequence " << s << " frame " << k;
  }
  EXPECT_NE(alone[0][1], alone[1][1]) << "two different scenes";
}

// The registry: four holders of "unit-cams" load the model once; other settings for the same id
// are refused naming it; once the last holder let go, the id loads afresh.
TEST_F(BatchingTest, RegistryLoadsOnceForFourStreamsAndFreesWithTheLast) {
  const ModelManifest manifest = test::default_model_manifest();
  const int loads_before = graph_loads();
  std::vector<std::shared_ptr<BatchingEngine>> engines;
  std::vector<std::unique_ptr<EngineStream>> streams;
  for (int k = 0; k < 4; ++k) {
    engines.push_back(shared_engine("unit-cams", manifest, cpu_options(), batch_of(4)));
    streams.push_back(engines.back()->open_stream());
  }
  EXPECT_EQ(graph_loads() - loads_before, 1);
  EXPECT_EQ(engines[0]->open_streams(), 4);
  test::expect_error([&] { shared_engine("unit-cams", manifest, cpu_options(), batch_of(2)); },
                     ErrorCode::kInvalidArgument, {"unit-cams", "batch-size 4 vs 2"});
  engines.clear();  // the streams still hold it
  auto again = shared_engine("unit-cams", manifest, cpu_options(), batch_of(4));
  EXPECT_EQ(graph_loads() - loads_before, 1);
  EXPECT_EQ(again->open_streams(), 4);
  again.reset();
  streams.clear();
  shared_engine("unit-cams", manifest, cpu_options(), batch_of(4));
  EXPECT_EQ(graph_loads() - loads_before, 2) << "freed with its last holder, loaded again";
}

// Batch 4, two streams open, one never sends: the other's frames run alone once the timeout has
// passed (not forever); when the stalled one closes, frames run at once (every open stream is in).
TEST_F(BatchingTest, StalledStreamHoldsTheOthersForTheTimeoutAtMost) {
  const ModelManifest manifest = test::default_model_manifest();
  BatchingEngine engine(manifest, cpu_options(), batch_of(4, 100));
  auto playing = engine.open_stream();
  auto stalled = engine.open_stream();
  const cv::Mat still = test::load_still("dog.jpg");
  for (int k = 0; k < 2; ++k) {
    playing->segment(test::bgr_frame(still));
    EXPECT_EQ(playing->last_batch_frames(), 1);
    EXPECT_GE(playing->last_times().total_ms, 100.0) << "waited for the batch to fill, up to the timeout";
  }
  stalled.reset();
  EXPECT_EQ(engine.open_streams(), 1);
  playing->segment(test::bgr_frame(still));
  EXPECT_EQ(playing->last_batch_frames(), 1);
}

// An idle stream (end of stream) is not waited for: with the longest timeout, a batch of four with
// one other stream idle runs as soon as the playing stream's frame is in (the bound below fails only
// when the batch waited for its timeout); the idle stream's next frame counts it in again (here after
// the other one closed, so that it runs alone at once too).
TEST_F(BatchingTest, IdleStreamsAreNotWaitedFor) {
  BatchingEngine engine(test::default_model_manifest(), cpu_options(), batch_of(4, kMaxBatchTimeoutMs));
  auto playing = engine.open_stream();
  auto finished = engine.open_stream();
  finished->idle();
  const cv::Mat still = test::load_still("dog.jpg");
  playing->segment(test::bgr_frame(still));
  EXPECT_EQ(playing->last_batch_frames(), 1);
  EXPECT_LT(playing->last_times().total_ms, kMaxBatchTimeoutMs / 2) << "waited for the idle stream";
  playing.reset();  // closed: the idle stream comes back alone
  finished->segment(test::bgr_frame(still));
  EXPECT_EQ(finished->last_batch_frames(), 1);
  EXPECT_EQ(engine.open_streams(), 1);
}

// Streams join and leave while one plays a sequence: its maps stay the batch-1 Segmenter's; a bad
// frame (no pixels) is refused to its own stream, the others go on.
TEST_F(BatchingTest, StreamsJoinAndLeaveWhileAnotherPlaysAndBadFramesStayTheirs) {
  const ModelManifest manifest = test::default_model_manifest();
  const std::vector<cv::Mat> sequence = camvid_sequence("Seq05VD", 6);
  Segmenter solo(manifest, cpu_options());
  std::vector<std::vector<std::uint8_t>> expected;
  for (const cv::Mat& bgr : sequence) expected.push_back(solo.segment(test::bgr_frame(bgr)).class_map);

  BatchingEngine engine(manifest, cpu_options(), batch_of(3, 20));
  auto player = engine.open_stream();
  std::vector<std::vector<std::uint8_t>> got;
  std::thread others([&] {
    for (int round = 0; round < 3; ++round) {
      auto joiner = engine.open_stream();
      joiner->segment(test::bgr_frame(sequence[round]));
      FrameView bad = test::bgr_frame(sequence[round]);
      bad.planes[0] = nullptr;
      test::expect_error([&] { joiner->segment(bad); }, ErrorCode::kInvalidArgument, {}, "bad frame");
    }
  });
  for (const cv::Mat& bgr : sequence) got.push_back(player->segment(test::bgr_frame(bgr)).class_map);
  others.join();
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t k = 0; k < expected.size(); ++k) EXPECT_TRUE(got[k] == expected[k]) << "frame " << k;
  EXPECT_EQ(engine.open_streams(), 1);
}

// Settings the batching engine cannot run are refused, naming them.
TEST_F(BatchingTest, RefusesWhatItCannotRun) {
  const ModelManifest manifest = test::default_model_manifest();
  test::expect_error([&] { BatchingEngine(manifest, cpu_options(), batch_of(0)); }, ErrorCode::kInvalidArgument,
                     {"batch size", "1..64"});
  test::expect_error([&] { BatchingEngine(manifest, cpu_options(), batch_of(2, -1)); }, ErrorCode::kInvalidArgument,
                     {"batch timeout"});
  // device=cuda without a GPU: tests/gpu/test_cuda_host_network.cpp (BatchingDevice).
  test::expect_error([&] { shared_engine("", manifest, cpu_options(), batch_of(2)); }, ErrorCode::kInvalidArgument,
                     {"model-instance-id"});
}

// ---- aspect keep: a network per input shape, batches per shape ----
namespace {

// The TFLite VOC model (its graph follows the input size), planned at 257x257 so that the keep
// shapes stay small: 4:3 -> 257x193, 16:9 -> 257x145, 3:4 -> 193x257, square -> 257x257.
ModelManifest keep_manifest() {
  ModelManifest m = load_manifest(std::string(DEEPLAB_SOURCE_DIR) + "/models/deeplabv3-mnv2-voc-513.yaml");
  m.file = std::string(DEEPLAB_SHARED_DIR) + "/models/deeplabv3_mnv2_pascal_quant.tflite";
  return m;
}

SegmenterOptions keep_options() {
  SegmenterOptions o = cpu_options();
  o.aspect = Aspect::kKeep;
  o.input_width = o.input_height = 257;
  return o;
}

// The middle of `bgr` cut to width:height (a 16:9 or portrait frame from a 4:3 one).
cv::Mat cut_to(const cv::Mat& bgr, int width, int height) {
  const int w = std::min(bgr.cols, bgr.rows * width / height), h = std::min(bgr.rows, bgr.cols * height / width);
  return bgr(cv::Rect((bgr.cols - w) / 2, (bgr.rows - h) / 2, w, h)).clone();
}

// One stream's frames: what it sends, in order, and the network input height each one needs.
struct KeepStream {
  std::string name;
  std::vector<cv::Mat> frames;
  int net_width, net_height;
};

class BatchingKeepTest : public BatchingTest {
 protected:
  void SetUp() override {
    BatchingTest::SetUp();
    if (!fs::exists(keep_manifest().file)) GTEST_SKIP() << "no model at " << keep_manifest().file;
  }
};

// What a Segmenter of its own with aspect keep gives each frame of `stream`.
std::vector<Segmentation> keep_alone(const KeepStream& stream, const SegmentRequest& request) {
  Segmenter solo(keep_manifest(), keep_options());
  std::vector<Segmentation> out;
  for (const cv::Mat& bgr : stream.frames) out.push_back(solo.segment(test::bgr_frame(bgr), request));
  return out;
}

}  // namespace

// Four streams of three aspects in one engine (batch 4): two CamVid sequences (4:3), a 16:9 cut and
// a square cut. Each frame's class map and probabilities equal a keep Segmenter's bit for bit; each
// batch holds one shape only (the 4:3 batches two frames, the others one; the shape counts add up).
TEST_F(BatchingKeepTest, MixedAspectsEqualTheKeepSegmenterAndBatchesNeverMixShapes) {
  const std::vector<cv::Mat> a = camvid_sequence("0001TP", 2), b = camvid_sequence("Seq05VD", 2);
  std::vector<KeepStream> streams = {{"CamVid 0001TP 4:3", a, 257, 193},
                                     {"CamVid Seq05VD 4:3", b, 257, 193},
                                     {"16:9 cut", {cut_to(a[0], 16, 9), cut_to(b[1], 16, 9)}, 257, 145},
                                     {"square cut", {cut_to(b[0], 1, 1), cut_to(a[1], 1, 1)}, 257, 257}};
  SegmentRequest request;
  request.probabilities_width = 61;
  request.probabilities_height = 45;
  std::vector<std::vector<Segmentation>> expected;
  for (const KeepStream& s : streams) expected.push_back(keep_alone(s, request));

  BatchingEngine engine(keep_manifest(), keep_options(), batch_of(4));
  std::vector<std::unique_ptr<EngineStream>> open;
  for (std::size_t k = 0; k < streams.size(); ++k) open.push_back(engine.open_stream());
  std::vector<std::vector<Segmentation>> got(streams.size());
  std::vector<std::vector<int>> batch_frames(streams.size());
  on_threads(4, [&](int k) {
    for (const cv::Mat& bgr : streams[k].frames) {
      got[k].push_back(open[k]->segment(test::bgr_frame(bgr), request));
      batch_frames[k].push_back(open[k]->last_batch_frames());
    }
  });
  for (std::size_t k = 0; k < streams.size(); ++k) {
    const KeepStream& s = streams[k];
    EXPECT_EQ(open[k]->network().input_width, s.net_width) << s.name;
    EXPECT_EQ(open[k]->network().input_height, s.net_height) << s.name;
    for (std::size_t f = 0; f < s.frames.size(); ++f) {
      expect_same(got[k][f], expected[k][f], s.name + ", frame " + std::to_string(f));
      EXPECT_EQ(batch_frames[k][f], s.net_height == 193 ? 2 : 1) << s.name << ": batches hold one shape";
    }
  }
  const std::vector<BatchShapeStats> stats = engine.shape_stats();
  ASSERT_EQ(stats.size(), 3u);
  const int expected_frames[3] = {2, 4, 2}, expected_batches[3] = {2, 2, 2};  // 257x145, 257x193, 257x257
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(stats[k].input_width, 257);
    EXPECT_EQ(stats[k].frames, expected_frames[k]) << "shape 257x" << stats[k].input_height;
    EXPECT_EQ(stats[k].batches, expected_batches[k]) << "shape 257x" << stats[k].input_height;
  }
}

// Batch 4, timeout 150 ms: two 4:3 streams play while a 16:9 stream plays beside a 16:9 stream that
// stalled after one frame. The 4:3 batches never wait for the 16:9 frames (two frames each, at once);
// each 16:9 frame runs alone after its timeout, and waits beyond it at most for the one 4:3 batch
// that may be running then (oldest due batch first: the busy shape does not starve it).
TEST_F(BatchingKeepTest, AStreamAloneInItsShapeWaitsTheTimeoutAtMost) {
  const int timeout_ms = 150;
  const std::vector<cv::Mat> camvid = camvid_sequence("0001TP", 2);
  const cv::Mat wide = cut_to(camvid[0], 16, 9);
  BatchingEngine engine(keep_manifest(), keep_options(), batch_of(4, timeout_ms));
  auto stalled = engine.open_stream();
  stalled->segment(test::bgr_frame(wide));  // placed in the 16:9 shape, then silent (not idle)
  std::vector<std::unique_ptr<EngineStream>> busy;
  for (int k = 0; k < 2; ++k) busy.push_back(engine.open_stream());
  auto lonely = engine.open_stream();
  std::atomic<bool> lonely_done{false};
  std::vector<double> busy_infer_ms(2, 0.0);
  std::vector<int> busy_frames(2, 0), busy_batches(2, 0);
  std::vector<double> waits_ms;
  on_threads(3, [&](int k) {
    if (k == 2) {
      for (int f = 0; f < 4; ++f) {
        const StageTimes& t = (lonely->segment(test::bgr_frame(wide)), lonely->last_times());
        EXPECT_EQ(lonely->last_batch_frames(), 1);
        waits_ms.push_back(t.total_ms - t.infer_ms - t.preprocess_ms - t.postprocess_ms);
      }
      lonely_done = true;
      return;
    }
    for (int f = 0; f < 40 && (f < 4 || !lonely_done); ++f) {  // keeps the network busy meanwhile
      busy[k]->segment(test::bgr_frame(camvid[f % 2]));
      busy_infer_ms[k] = std::max(busy_infer_ms[k], busy[k]->last_times().infer_ms);
      busy_batches[k] += busy[k]->last_batch_frames() == 2 ? 1 : 0;
      ++busy_frames[k];
    }
  });
  const double busy_batch_ms = std::max(busy_infer_ms[0], busy_infer_ms[1]);
  for (double wait : waits_ms) {
    EXPECT_GE(wait, timeout_ms * 0.9) << "waited for the stalled stream of its shape";
    EXPECT_LE(wait, timeout_ms + 2 * busy_batch_ms + 250) << "one running 4:3 batch (" << busy_batch_ms
                                                            << " ms) at most beyond the timeout";
  }
  for (int k = 0; k < 2; ++k) EXPECT_EQ(busy_batches[k], busy_frames[k]) << "4:3 frames ran two by two";
}

// The shared 257x257 ONNX model pools a fixed 33x33 window: a 4:3 stream's frames fail with the
// Segmenter's Error (naming the node), its shape planned once only; a square stream of the same
// engine goes on; a stream whose frames go 4:3 -> 16:9 -> 4:3 on the VOC model plans 16:9 once.
TEST_F(BatchingKeepTest, AShapeThatCannotBePlannedFailsItsStreamsOnlyAndShapesArePlannedOnce) {
  SegmenterOptions fixed = keep_options();
  fixed.input_width = fixed.input_height = 0;
  BatchingEngine onnx(test::default_model_manifest(), fixed, batch_of(2, 20));
  auto square = onnx.open_stream(), wide = onnx.open_stream();
  const cv::Mat camvid = camvid_sequence("Seq05VD", 1).at(0);
  const int loads_before = graph_loads();
  for (int attempt = 0; attempt < 2; ++attempt) {
    test::expect_error([&] { wide->segment(test::bgr_frame(camvid)); }, ErrorCode::kManifestMismatch,
                       {"aspect keep", "480x360 frame", "AveragePool node 'AvgPool2D/AvgPool'"});
    EXPECT_EQ(square->segment(test::bgr_frame(cut_to(camvid, 1, 1))).width, 360);
  }
  EXPECT_EQ(graph_loads() - loads_before, 1) << "the failing shape was tried once";

  BatchingEngine voc(keep_manifest(), keep_options(), batch_of(2, 20));
  auto changing = voc.open_stream();
  const int voc_loads = graph_loads();
  for (const cv::Mat& frame : {camvid, cut_to(camvid, 16, 9), camvid}) changing->segment(test::bgr_frame(frame));
  EXPECT_EQ(changing->network().input_height, 193);
  EXPECT_EQ(graph_loads() - voc_loads, 2) << "4:3 and 16:9 planned once each";
  EXPECT_EQ(voc.shape_stats().size(), 3u) << "the square configured shape, 4:3 and 16:9";
}
