// deeplab::Segmenter on the real DeepLabv3-MobileNetV2 VOC model (TF, NHWC 257x257):
//  - removing the model's final Resize and upsampling the low-resolution logits straight to the
//    frame is exact at the network's own resolution and agrees with the model's own output
//    elsewhere except at boundaries;
//  - probabilities, device selection, no per-frame allocations, determinism, input-size override.
#include <gtest/gtest.h>

#include <execinfo.h>
#include <link.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "deeplab/batching.h"
#include "deeplab/error.h"
#include "deeplab/manifest.h"
#include "deeplab/segmenter.h"
#include "stills.h"

// ---------------------------------------------------------------------------------------------
// Counting replacement of the global allocation functions. The unit tests are one binary, so this
// replaces operator new for every test: it only forwards to malloc/free, and counts calls (from
// any thread) while g_count_allocations is set. oneDNN 2.x allocates inside every primitive
// execution (dnnl_primitive_execute builds a std::unordered_map of its arguments), which no caller
// can avoid; allocations made with libdnnl's code on the stack are counted apart, so that the
// engine's own code is held to zero and oneDNN's share is reported.
namespace {
std::atomic<bool> g_count_allocations{false};
std::atomic<long> g_allocations{0};       // by the engine (and anything but libdnnl)
std::atomic<long> g_dnnl_allocations{0};  // with libdnnl code on the call stack

struct CodeRange { std::uintptr_t lo, hi; };
CodeRange g_dnnl_code[16];
int g_dnnl_ranges = 0;

int collect_dnnl_ranges(dl_phdr_info* info, std::size_t, void*) {
  if (!info->dlpi_name || !std::strstr(info->dlpi_name, "libdnnl")) return 0;
  for (int k = 0; k < info->dlpi_phnum && g_dnnl_ranges < 16; ++k) {
    const auto& ph = info->dlpi_phdr[k];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    const std::uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
    g_dnnl_code[g_dnnl_ranges++] = {lo, lo + ph.p_memsz};
  }
  return 0;
}

// Call before counting: finds libdnnl's code and warms backtrace() up (its first call loads
// libgcc_s).
void prepare_allocation_counting() {
  static bool done = false;
  if (done) return;
  done = true;
  dl_iterate_phdr(collect_dnnl_ranges, nullptr);
  void* frames[4];
  backtrace(frames, 4);
}

bool called_from_dnnl() {
  if (g_dnnl_ranges == 0) return false;
  void* frames[64];
  const int n = backtrace(frames, 64);
  for (int k = 1; k < n; ++k) {
    const auto a = reinterpret_cast<std::uintptr_t>(frames[k]);
    for (int r = 0; r < g_dnnl_ranges; ++r)
      if (a >= g_dnnl_code[r].lo && a < g_dnnl_code[r].hi) return true;
  }
  return false;
}

inline void note_allocation() {
  if (!g_count_allocations.load(std::memory_order_relaxed)) return;
  (called_from_dnnl() ? g_dnnl_allocations : g_allocations).fetch_add(1, std::memory_order_relaxed);
}
void* counted_malloc(std::size_t n) {
  note_allocation();
  return std::malloc(n ? n : 1);
}
void* counted_aligned(std::size_t n, std::align_val_t al) {
  note_allocation();
  void* p = nullptr;
  const std::size_t a = std::max(static_cast<std::size_t>(al), sizeof(void*));
  return ::posix_memalign(&p, a, n ? n : 1) == 0 ? p : nullptr;
}
}  // namespace

void* operator new(std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void* operator new(std::size_t n, std::align_val_t al) {
  if (void* p = counted_aligned(n, al)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t al) {
  if (void* p = counted_aligned(n, al)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept { return counted_aligned(n, al); }
void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept { return counted_aligned(n, al); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace deeplab {
bool cuda_device_available(std::string* why);  // engine/src/cuda/device_probe.cpp
}

using namespace deeplab;
namespace fs = std::filesystem;

namespace {

const std::string kModel = test::shared_default_model();
const char* const kStills[] = {"dog.jpg", "person.jpg", "horses.jpg", "eagle.jpg"};
// The VOC class each still shows (on at least 2% of its pixels): dog 12, person 15, horse 13, bird 3.
const int kStillClass[] = {12, 15, 13, 3};

// The repo's manifest for the model when it is there (its input spec and sha256 are then under
// test too), pointed at the shared copy of the model; otherwise the same description in code.
ModelManifest model_manifest() {
  const fs::path repo = fs::path(DEEPLAB_SOURCE_DIR) / "models" / "deeplabv3-mnv2-voc.yaml";
  ModelManifest m;
  if (fs::exists(repo)) {
    m = test::default_model_manifest();
    // These tests compare with the model's own final Upsample; the manifest's align_corners
    // correction has its own test (LogitsUpsamplingOverride).
    m.logits_upsampling.clear();
  } else {
    m.name = "deeplabv3-mnv2-voc";
    m.input.name = "sub_7";
    m.input.width = 257;
    m.input.height = 257;
    m.input.layout = TensorLayout::kNHWC;
    m.input.color = ColorOrder::kRGB;
    m.input.scale = 1.0f / 127.5f;
    m.input.mean = {1.0f, 1.0f, 1.0f};
    m.input.std = {1.0f, 1.0f, 1.0f};
    m.classes = {"background", "aeroplane", "bicycle", "bird",  "boat",        "bottle", "bus",
                 "car",        "cat",       "chair",   "cow",   "diningtable", "dog",    "horse",
                 "motorbike",  "person",    "pottedplant", "sheep", "sofa",    "train",  "tvmonitor"};
    m.palette = voc_palette(21);
  }
  m.file = kModel;
  return m;
}

using test::bgr_frame;
using test::load_still;

cv::Mat resized(const cv::Mat& m, int w, int h) {
  cv::Mat out;
  cv::resize(m, out, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
  return out;
}

double fraction_of(const std::vector<std::uint8_t>& map, int cls) {
  std::size_t n = 0;
  for (auto c : map) n += c == cls;
  return static_cast<double>(n) / map.size();
}

ErrorCode construct_error(const SegmenterOptions& options, std::string* message) {
  try {
    Segmenter s(model_manifest(), options);
  } catch (const Error& e) {
    *message = e.what();
    return e.code();
  }
  *message = "";
  return ErrorCode::kInternal;
}

// Two segmenters shared by the tests: the default one (final Resize removed) and one that keeps
// the model's own final Resize. One thread each: with libgomp's default (active) wait policy,
// several OpenMP threads on a CPU shared with other work spin at every barrier and run ~10x slower;
// the multi-threaded path has its own test (MultiThreadedIsDeterministic).
class SegmenterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(fs::exists(kModel)) << kModel;
    SegmenterOptions fast;
    fast.device = Device::kCpu;  // these tests check the CPU path (bit-exactness, allocations), also on GPU machines
    fast.threads = 1;
    removed_ = std::make_unique<Segmenter>(model_manifest(), fast);
    SegmenterOptions keep = fast;
    keep.keep_final_resize = true;
    kept_ = std::make_unique<Segmenter>(model_manifest(), keep);
    for (int k = 0; k < 4; ++k) stills_[k] = load_still(kStills[k]);
  }
  static void TearDownTestSuite() {
    removed_.reset();
    kept_.reset();
    for (auto& s : stills_) s.release();
  }
  void SetUp() override {
    if (!removed_ || !kept_) GTEST_SKIP() << "the model could not be loaded";
  }

  static std::unique_ptr<Segmenter> removed_, kept_;
  static cv::Mat stills_[4];
};
std::unique_ptr<Segmenter> SegmenterTest::removed_, SegmenterTest::kept_;
cv::Mat SegmenterTest::stills_[4];

}  // namespace

TEST_F(SegmenterTest, NetworkDescription) {
  const NetworkInfo& r = removed_->network();
  EXPECT_EQ(r.input_width, 257);
  EXPECT_EQ(r.input_height, 257);
  EXPECT_EQ(r.num_classes, 21);
  EXPECT_TRUE(r.final_resize_removed);
  EXPECT_EQ(r.logits_width, 33);
  EXPECT_EQ(r.logits_height, 33);
  const NetworkInfo& k = kept_->network();
  EXPECT_FALSE(k.final_resize_removed);
  EXPECT_EQ(k.logits_width, 257);
  EXPECT_EQ(k.logits_height, 257);
  EXPECT_EQ(k.num_classes, 21);
  std::printf("[segmenter] final resize removed: %s; %d nodes, arena %.1f MiB\n", r.final_resize_mode.c_str(),
              r.node_count, r.arena_bytes / 1048576.0);
}

// At the network's own resolution, upsampling the 33x33 logits with the removed Resize's own
// geometry is what the model computes: the class maps are identical, pixel for pixel.
TEST_F(SegmenterTest, NativeResolutionIsExact) {
  for (int k = 0; k < 4; ++k) {
    const cv::Mat frame = resized(stills_[k], 257, 257);
    const std::vector<std::uint8_t> fast = removed_->segment(bgr_frame(frame)).class_map;
    const Segmentation& ref = kept_->segment(bgr_frame(frame));
    ASSERT_EQ(ref.width, 257);
    ASSERT_EQ(ref.height, 257);
    ASSERT_EQ(fast.size(), ref.class_map.size());
    std::size_t differ = 0;
    for (std::size_t p = 0; p < fast.size(); ++p) differ += fast[p] != ref.class_map[p];
    EXPECT_EQ(differ, 0u) << kStills[k] << ": " << differ << " of " << fast.size() << " pixels differ";
    EXPECT_GT(fraction_of(fast, kStillClass[k]), 0.02) << kStills[k] << " does not show class " << kStillClass[k];
  }
}

// At the stills' own sizes the class map has the frame's size and agrees with the model's own
// 257x257 output (nearest-upsampled to the frame) except along boundaries.
TEST_F(SegmenterTest, NativeFrameSizesAgreeWithModelOutput) {
  for (int k = 0; k < 4; ++k) {
    const cv::Mat& still = stills_[k];
    const Segmentation& seg = removed_->segment(bgr_frame(still));
    ASSERT_EQ(seg.width, still.cols);
    ASSERT_EQ(seg.height, still.rows);
    ASSERT_EQ(seg.class_map.size(), static_cast<std::size_t>(still.cols) * still.rows);
    const std::vector<std::uint8_t> fast = seg.class_map;

    const Segmentation& ref = kept_->segment(bgr_frame(resized(still, 257, 257)));
    const cv::Mat ref_map(257, 257, CV_8UC1, const_cast<std::uint8_t*>(ref.class_map.data()));
    cv::Mat up;
    cv::resize(ref_map, up, still.size(), 0, 0, cv::INTER_NEAREST_EXACT);
    std::size_t same = 0;
    for (int y = 0; y < still.rows; ++y) {
      const std::uint8_t* r = up.ptr<std::uint8_t>(y);
      for (int x = 0; x < still.cols; ++x) same += fast[static_cast<std::size_t>(y) * still.cols + x] == r[x];
    }
    const double agreement = static_cast<double>(same) / fast.size();
    std::printf("[segmenter] %-10s %dx%d: agreement with the model's own output %.2f%%, class %d %.1f%%\n",
                kStills[k], still.cols, still.rows, 100.0 * agreement, kStillClass[k],
                100.0 * fraction_of(fast, kStillClass[k]));
    EXPECT_GE(agreement, 0.97) << kStills[k];
    EXPECT_GT(fraction_of(fast, kStillClass[k]), 0.02) << kStills[k] << " does not show class " << kStillClass[k];
  }
}

TEST_F(SegmenterTest, ProbabilitiesSumToOneAndMatchClassMap) {
  const cv::Mat& still = stills_[0];
  const int w = still.cols, h = still.rows;
  SegmentRequest request;
  request.probabilities_width = w;
  request.probabilities_height = h;
  const Segmentation& seg = removed_->segment(bgr_frame(still), request);
  ASSERT_EQ(seg.num_classes, 21);
  ASSERT_EQ(seg.probabilities_width, w);
  ASSERT_EQ(seg.probabilities_height, h);
  const std::size_t plane = static_cast<std::size_t>(w) * h;
  ASSERT_EQ(seg.probabilities.size(), plane * 21);
  double worst_sum = 0;
  std::size_t mismatches = 0, ties = 0;
  for (std::size_t p = 0; p < plane; ++p) {
    double sum = 0;
    int best = 0;
    for (int c = 0; c < 21; ++c) {
      const float v = seg.probabilities[c * plane + p];
      ASSERT_TRUE(v >= 0.0f && v <= 1.0f) << "pixel " << p << " class " << c << ": " << v;
      sum += v;
      if (v > seg.probabilities[best * plane + p]) best = c;
    }
    worst_sum = std::max(worst_sum, std::abs(sum - 1.0));
    const int cls = seg.class_map[p];
    if (best != cls) {
      // Two logits closer than a float ulp of their probabilities tie after the softmax.
      if (seg.probabilities[cls * plane + p] == seg.probabilities[best * plane + p]) ++ties;
      else ++mismatches;
    }
  }
  std::printf("[segmenter] probabilities %dx%d: max |sum-1| %.2g, argmax ties %zu\n", w, h, worst_sum, ties);
  EXPECT_LE(worst_sum, 1e-4);
  EXPECT_EQ(mismatches, 0u);

  // Another size; and a plain request afterwards reports no probabilities.
  request.probabilities_width = 129;
  request.probabilities_height = 97;
  const Segmentation& small = removed_->segment(bgr_frame(still), request);
  EXPECT_EQ(small.width, w);
  EXPECT_EQ(small.probabilities_width, 129);
  EXPECT_EQ(small.probabilities_height, 97);
  ASSERT_EQ(small.probabilities.size(), 129u * 97u * 21u);
  for (std::size_t p = 0; p < 129u * 97u; p += 37) {
    double sum = 0;
    for (int c = 0; c < 21; ++c) sum += small.probabilities[c * 129 * 97 + p];
    EXPECT_NEAR(sum, 1.0, 1e-4);
  }
  const Segmentation& none = removed_->segment(bgr_frame(still));
  EXPECT_EQ(none.probabilities_width, 0);
  EXPECT_EQ(none.probabilities_height, 0);
}

TEST(Segmenter, DeviceSelection) {
  std::string why;
  const bool gpu = cuda_device_available(&why);
  SegmenterOptions cuda;
  cuda.device = Device::kCuda;
  std::string message;
  if (!gpu) {
    EXPECT_EQ(construct_error(cuda, &message), ErrorCode::kDevice) << message;
    EXPECT_NE(message.find("cuda"), std::string::npos) << message;
    EXPECT_NE(message.find(why), std::string::npos) << "the reason is not given: " << message;
    std::printf("[segmenter] --device cuda without a GPU: %s\n", message.c_str());
  }
  // kAuto (the default) always works: the CPU here.
  Segmenter s(model_manifest());
  EXPECT_NE(s.device(), Device::kAuto);
  if (!gpu) {
    EXPECT_EQ(s.device(), Device::kCpu);
  }
  const cv::Mat frame = resized(load_still("person.jpg"), 160, 106);
  const Segmentation& seg = s.segment(bgr_frame(frame));
  EXPECT_EQ(seg.width, 160);
  EXPECT_GT(fraction_of(seg.class_map, 15), 0.02);
  SegmenterOptions cpu;
  cpu.device = Device::kCpu;
  EXPECT_EQ(Segmenter(model_manifest(), cpu).device(), Device::kCpu);
  EXPECT_EQ(device_from_string("cpu"), Device::kCpu);
  EXPECT_EQ(device_from_string("auto"), Device::kAuto);
  EXPECT_THROW(device_from_string("tpu"), Error);
}

// After two warm-up frames of a size, segmenting frames of that size makes no operator new call
// outside oneDNN (also with a probabilities request, and on the keep_final_resize path). A new size
// may allocate on its first frame only. oneDNN's own per-execution allocations are reported and
// must be the same for every frame (no growth).
TEST_F(SegmenterTest, NoAllocationsPerFrame) {
  prepare_allocation_counting();
  if (g_dnnl_ranges == 0) std::printf("[segmenter] libdnnl not found as a shared library: oneDNN's allocations count as the engine's\n");
  const cv::Mat a = stills_[0];                     // 768x576
  const cv::Mat b = resized(stills_[1], 331, 217);  // another size
  const FrameView fa = bgr_frame(a), fb = bgr_frame(b);
  struct Count { long engine, dnnl; };
  auto count = [](auto&& fn) {
    g_allocations.store(0);
    g_dnnl_allocations.store(0);
    g_count_allocations.store(true);
    fn();
    g_count_allocations.store(false);
    return Count{g_allocations.load(), g_dnnl_allocations.load()};
  };
  removed_->segment(fa);
  removed_->segment(fa);
  const Count one = count([&] { removed_->segment(fa); });
  const Count steady = count([&] { for (int k = 0; k < 5; ++k) removed_->segment(fa); });
  EXPECT_EQ(steady.engine, 0) << "steady state, " << a.cols << "x" << a.rows;
  EXPECT_EQ(steady.dnnl, 5 * one.dnnl) << "oneDNN's allocations per frame must not vary";

  const Count first_b = count([&] { removed_->segment(fb); });
  const Count then_b = count([&] { for (int k = 0; k < 3; ++k) removed_->segment(fb); });
  EXPECT_EQ(then_b.engine, 0) << "after a size change";
  EXPECT_EQ(then_b.dnnl, 3 * one.dnnl);
  const Count back_to_a = count([&] { removed_->segment(fa); });
  EXPECT_EQ(count([&] { for (int k = 0; k < 3; ++k) removed_->segment(fa); }).engine, 0) << "after changing back";

  SegmentRequest req;
  req.probabilities_width = 129;
  req.probabilities_height = 97;
  removed_->segment(fa, req);
  removed_->segment(fa, req);
  EXPECT_EQ(count([&] { for (int k = 0; k < 3; ++k) removed_->segment(fa, req); }).engine, 0) << "with probabilities";

  // The model's own final Resize path too.
  const cv::Mat n = resized(stills_[2], 257, 257);
  kept_->segment(bgr_frame(n));
  kept_->segment(bgr_frame(n));
  EXPECT_EQ(count([&] { for (int k = 0; k < 3; ++k) kept_->segment(bgr_frame(n)); }).engine, 0) << "keep_final_resize";

  // With the dense CRF, full and temporal (its lattice buffers keep their capacity between frames).
  for (CrfMode mode : {CrfMode::kFull, CrfMode::kTemporal}) {
    SegmenterOptions with_crf;
    with_crf.device = Device::kCpu;
    with_crf.threads = 1;
    with_crf.crf.mode = mode;
    with_crf.crf.scale = 0.5f;
    Segmenter crf(model_manifest(), with_crf);
    crf.segment(fb);
    crf.segment(fb);
    EXPECT_EQ(count([&] { for (int k = 0; k < 2; ++k) crf.segment(fb); }).engine, 0) << "CRF " << crf_mode_name(mode);
  }
  std::printf("[segmenter] operator new calls per frame: engine 0 in steady state (first frame of a new size %ld, "
              "changing back %ld); inside oneDNN %ld per frame\n",
              first_b.engine, back_to_a.engine, one.dnnl);
}

// The batching engine's streams (deeplab/batching.h) in steady state: no operator new outside
// oneDNN either. Two streams of a batch-2 engine, called in turn from this thread: each frame's
// batch runs alone after the 1 ms timeout (the wait path), one stream with the temporal CRF.
TEST_F(SegmenterTest, BatchedStreamsAllocateNothingPerFrame) {
  prepare_allocation_counting();
  SegmenterOptions options;
  options.device = Device::kCpu;
  options.threads = 1;
  BatchOptions batch;
  batch.batch_size = 2;
  batch.timeout_ms = 1;
  BatchingEngine engine(model_manifest(), options, batch);
  auto plain = engine.open_stream();
  auto with_crf = engine.open_stream();
  CrfOptions crf;
  crf.mode = CrfMode::kTemporal;
  crf.scale = 0.5f;
  with_crf->set_crf_options(crf);
  const cv::Mat b = resized(stills_[1], 331, 217);
  const FrameView fa = bgr_frame(stills_[0]), fb = bgr_frame(b);
  SegmentRequest req;
  req.probabilities_width = 65;
  req.probabilities_height = 33;
  auto frames = [&](int n) {
    for (int k = 0; k < n; ++k) {
      plain->segment(fa, req);
      with_crf->segment(fb);
    }
  };
  frames(2);
  g_allocations.store(0);
  g_count_allocations.store(true);
  frames(3);
  g_count_allocations.store(false);
  EXPECT_EQ(g_allocations.load(), 0) << "steady state of two batched streams";
  EXPECT_EQ(plain->last_batch_frames(), 1);
}

// 50 frames alternating between two sizes: no crash, and each frame's class map is the same
// every time.
TEST_F(SegmenterTest, AlternatingSizesAreDeterministic) {
  const cv::Mat a = resized(stills_[0], 384, 288), b = resized(stills_[1], 213, 321);
  std::vector<std::uint8_t> first_a, first_b;
  int differing = 0;
  for (int k = 0; k < 50; ++k) {
    const bool is_a = k % 2 == 0;
    const cv::Mat& m = is_a ? a : b;
    const Segmentation& seg = removed_->segment(bgr_frame(m));
    ASSERT_EQ(seg.width, m.cols);
    ASSERT_EQ(seg.height, m.rows);
    std::vector<std::uint8_t>& first = is_a ? first_a : first_b;
    if (first.empty()) first = seg.class_map;
    else differing += seg.class_map != first;
  }
  EXPECT_EQ(differing, 0) << "frames whose class map changed";
  EXPECT_GT(fraction_of(first_a, kStillClass[0]), 0.02);
  EXPECT_GT(fraction_of(first_b, kStillClass[1]), 0.02);
}

// exchange_result_buffers (the Python module's zero-copy hand-over): the caller gets the class map
// and probabilities the engine wrote, and recycled buffers of another size (or empty) serve the next
// frames unchanged; only the result handed out last may be exchanged.
TEST_F(SegmenterTest, ExchangedBuffersLeaveTheResultsUnchanged) {
  const cv::Mat a = resized(stills_[0], 384, 288), b = resized(stills_[1], 213, 321);
  const SegmentRequest request{64, 48};
  const std::vector<std::uint8_t> expected_a = removed_->segment(bgr_frame(a), request).class_map;
  const std::vector<float> expected_probabilities_a = removed_->segment(bgr_frame(a), request).probabilities;
  const std::vector<std::uint8_t> expected_b = removed_->segment(bgr_frame(b)).class_map;

  std::vector<std::uint8_t> map(7, 1);  // a recycled buffer of the wrong size
  std::vector<float> probabilities;
  const Segmentation& first = removed_->segment(bgr_frame(a), request);
  removed_->exchange_result_buffers(first, map, &probabilities);
  EXPECT_EQ(map, expected_a);
  EXPECT_EQ(probabilities, expected_probabilities_a);
  const Segmentation& second = removed_->segment(bgr_frame(b));  // on the 7-byte buffer
  EXPECT_EQ(second.class_map, expected_b);
  EXPECT_EQ(map, expected_a) << "the taken map changed with the next frame";

  std::vector<std::uint8_t> other;
  const Segmentation copy = second;
  EXPECT_THROW(removed_->exchange_result_buffers(copy, other), Error);
  removed_->submit(bgr_frame(a));
  removed_->exchange_result_buffers(second, other);  // submit() leaves the last result alone
  EXPECT_EQ(other, expected_b);
  const Segmentation* collected = removed_->collect();
  ASSERT_NE(collected, nullptr);
  EXPECT_THROW(removed_->exchange_result_buffers(second, other), Error) << "no longer the last result";
  removed_->exchange_result_buffers(*collected, other);
  EXPECT_EQ(other, expected_a);
}

// Two OpenMP threads (oneDNN and the engine's own loops): the same frame gives the same class map
// every time, across size changes.
TEST(Segmenter, MultiThreadedIsDeterministic) {
  SegmenterOptions two;
  two.device = Device::kCpu;
  two.threads = 2;
  Segmenter s(model_manifest(), two);
  const cv::Mat a = resized(load_still("horses.jpg"), 320, 212), b = resized(load_still("eagle.jpg"), 257, 257);
  std::vector<std::uint8_t> first_a, first_b;
  int differing = 0;
  for (int k = 0; k < 8; ++k) {
    const cv::Mat& m = k % 2 ? b : a;
    const Segmentation& seg = s.segment(bgr_frame(m));
    std::vector<std::uint8_t>& first = k % 2 ? first_b : first_a;
    if (first.empty()) first = seg.class_map;
    else differing += seg.class_map != first;
  }
  EXPECT_EQ(differing, 0) << "frames whose class map changed";
}

// Out-of-range options are refused before anything runs: threads reached libgomp unchecked
// (100000 threads: SIGSEGV there), a negative count was taken silently.
TEST(Segmenter, OptionsOutOfRangeAreRefused) {
  for (int threads : {-5, kMaxThreads + 1, 100000}) {
    SegmenterOptions o;
    o.device = Device::kCpu;
    o.threads = threads;
    std::string message;
    EXPECT_EQ(construct_error(o, &message), ErrorCode::kInvalidArgument) << threads << ": " << message;
    EXPECT_NE(message.find("threads must be in 0..1024"), std::string::npos) << message;
  }
  SegmenterOptions size;
  size.device = Device::kCpu;
  size.input_width = -1;
  std::string message;
  EXPECT_EQ(construct_error(size, &message), ErrorCode::kInvalidArgument) << message;
  EXPECT_NE(message.find("input size"), std::string::npos) << message;
  SegmenterOptions crf;
  crf.device = Device::kCpu;
  crf.crf.mode = CrfMode::kFull;
  crf.crf.max_pixels = -1;
  EXPECT_EQ(construct_error(crf, &message), ErrorCode::kInvalidArgument) << message;
  EXPECT_NE(message.find("max_pixels"), std::string::npos) << message;
}

// The TF model has a fixed 1x257x257x3 input: another size is a manifest/model mismatch that
// names the fixed shape; the model's own size is accepted.
TEST(Segmenter, InputSizeOverrideOnFixedModel) {
  for (auto [w, h] : {std::pair{321, 321}, std::pair{321, 0}}) {
    SegmenterOptions o;
    o.input_width = w;
    o.input_height = h;
    std::string message;
    EXPECT_EQ(construct_error(o, &message), ErrorCode::kManifestMismatch) << message;
    EXPECT_NE(message.find("[1,257,257,3]"), std::string::npos) << message;
    EXPECT_NE(message.find("fixed"), std::string::npos) << message;
    // The node that ties the graph to 257x257: its 33x33 pooling window (not global pooling).
    EXPECT_NE(message.find("AveragePool node 'AvgPool2D/AvgPool'"), std::string::npos) << message;
  }
  SegmenterOptions same;
  same.input_width = 257;
  same.input_height = 257;
  EXPECT_EQ(Segmenter(model_manifest(), same).network().input_width, 257);
}

// The manifest's logits_upsampling: align_corners replaces the converted model's asymmetric
// Upsample (which drags masks up-left by up to one logit cell). Foreground must move right/down
// by a fraction of a cell, and stay the same size.
TEST(Segmenter, LogitsUpsamplingOverride) {
  ModelManifest own = model_manifest();
  ModelManifest corrected = own;
  corrected.logits_upsampling = "align_corners";
  SegmenterOptions options;
  options.threads = 1;
  Segmenter a(own, options), b(corrected, options);
  EXPECT_NE(b.network().final_resize_mode.find("align_corners"), std::string::npos) << b.network().final_resize_mode;
  const cv::Mat still = load_still("horses.jpg");
  const auto centroid_x = [&](const Segmentation& seg, double& area) {
    double sum = 0;
    std::size_t n = 0;
    for (int y = 0; y < seg.height; ++y)
      for (int x = 0; x < seg.width; ++x)
        if (seg.class_map[static_cast<std::size_t>(y) * seg.width + x] != 0) sum += x, ++n;
    area = static_cast<double>(n);
    return n ? sum / n : 0.0;
  };
  double area_a = 0, area_b = 0;
  const double xa = centroid_x(a.segment(bgr_frame(still)), area_a);
  const double xb = centroid_x(b.segment(bgr_frame(still)), area_b);
  const double cell = static_cast<double>(still.cols) / a.network().logits_width;
  std::printf("[segmenter] horses: foreground centroid x %.1f (model's Upsample) -> %.1f (align_corners), cell %.1f px\n",
              xa, xb, cell);
  ASSERT_GT(area_a, 0.02 * still.cols * still.rows);
  EXPECT_GT(xb - xa, 0.1 * cell);
  EXPECT_LT(xb - xa, 1.0 * cell);
  EXPECT_NEAR(area_b / area_a, 1.0, 0.1);
}
