// Host-only tests of the CUDA backend's pre/post-processing (label unit; no GPU needed): launch
// shapes, upsampling plans, plane sizes, and the kernels' per-pixel code (common/preprocess_pixel.h,
// cuda/upsample_pixel.h) run on the CPU — block by block and thread by thread as the kernels run it —
// against the CPU references, exactly. What this cannot check is the device itself (its
// arithmetic, the launches, the copies): deeplab_gpu_tests does, on a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cuda/frame_planes.h"
#include "cuda/launch_geometry.h"
#include "common/preprocess_pixel.h"
#include "cuda/upsample_pixel.h"
#include "cuda/upsample_plan.h"
#include "common/yuv_bt601.h"
#include "deeplab/error.h"
#include "gpu_cases.h"
#include "kernel_emulation.h"
#include "postprocess/interpolate.h"
#include "preprocess/preprocess.h"

using namespace deeplab;
using namespace deeplab::cuda;
using namespace deeplab::pixel;
using namespace deeplab::test;

namespace {

std::size_t first_difference(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return i;
  return a.size();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

TEST(CudaLaunchShape, GridCoversTheRangeAndEmptyRangesLaunchNothing) {
  EXPECT_TRUE(shape_1d(0, 256).empty());
  const LaunchShape one = shape_1d(1, 256);
  EXPECT_FALSE(one.empty());
  EXPECT_EQ(one.grid.x, 1u);
  EXPECT_EQ(one.block.x, 256u);
  EXPECT_EQ(shape_1d(256, 256).grid.x, 1u);
  EXPECT_EQ(shape_1d(257, 256).grid.x, 2u);
  EXPECT_EQ(shape_1d(int64_t{1} << 33, 1024).grid.x, 1u << 23);

  const LaunchShape hd = shape_2d(1920, 1080, 32, 8, 840);
  EXPECT_EQ(hd.grid.x, 60u);
  EXPECT_EQ(hd.grid.y, 135u);
  EXPECT_EQ(hd.block.x * hd.block.y, 256u);
  EXPECT_EQ(hd.shared_bytes, 840u);
  EXPECT_EQ(hd.describe(), "grid 60x135x1, block 32x8x1, 840 B shared");
  const LaunchShape odd = shape_2d(513, 321, 32, 8);
  EXPECT_EQ(odd.grid.x, 17u);  // 513 = 16 * 32 + 1
  EXPECT_EQ(odd.grid.y, 41u);  // 321 = 40 * 8 + 1
  EXPECT_TRUE(shape_2d(0, 5, 32, 8).empty());
  EXPECT_TRUE(shape_2d(5, 0, 32, 8).empty());
}

TEST(CudaLaunchShape, RefusesWhatNoGpuCanLaunch) {
  auto refuses = [](auto f) {
    try {
      f();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
      return true;
    }
    return false;
  };
  EXPECT_TRUE(refuses([] { shape_1d(-1, 256); }));
  EXPECT_TRUE(refuses([] { shape_1d(10, 0); }));
  EXPECT_TRUE(refuses([] { shape_1d(10, 1025); }));
  EXPECT_TRUE(refuses([] { shape_2d(10, 10, 64, 32); }));       // 2048 threads
  EXPECT_TRUE(refuses([] { shape_2d(10, 70000, 128, 1); }));    // grid.y > 65535
  EXPECT_FALSE(refuses([] { shape_2d(10, 65535, 128, 1); }));
  EXPECT_TRUE(refuses([] { shape_1d(int64_t{1} << 42, 1); }));  // grid.x > 2^31 - 1
}

TEST(CudaFramePlanes, SizesMatchWhatValidateFrameAccepts) {
  EXPECT_EQ(plane_count(PixelFormat::kRGB), 1);
  EXPECT_EQ(plane_count(PixelFormat::kNV12), 2);
  EXPECT_EQ(plane_count(PixelFormat::kI420), 3);
  for (PixelFormat format : all_pixel_formats())
    for (auto [w, h] : {std::pair{1, 1}, {37, 29}, {640, 480}}) {
      const OwnedFrame f = make_random_frame(format, w, h, 1);
      for (int p = 0; p < plane_count(format); ++p) {
        const PlaneSize s = plane_size(format, w, h, p);
        EXPECT_EQ(f.planes[p].size(), static_cast<std::size_t>(f.view.strides[p]) * s.rows) << pixel_format_name(format);
        // A stride of exactly row_bytes is the minimum validate_frame accepts.
        FrameView tight = f.view;
        tight.strides[p] = s.row_bytes;
        EXPECT_NO_THROW(validate_frame(tight)) << pixel_format_name(format) << " plane " << p;
        tight.strides[p] = s.row_bytes - 1;
        EXPECT_THROW(validate_frame(tight), Error) << pixel_format_name(format) << " plane " << p;
      }
    }
  const PlaneSize chroma = plane_size(PixelFormat::kNV12, 37, 29, 1);
  EXPECT_EQ(chroma.row_bytes, 38);
  EXPECT_EQ(chroma.rows, 15);
}

TEST(CudaYuv, EqualsTheCpuReferenceOnAllInputs) {
  int mismatches = 0;
  for (int y = 0; y < 256; ++y)
    for (int u = 0; u < 256; ++u)
      for (int v = 0; v < 256; ++v) {
        std::uint8_t want[3];
        yuv_to_rgb(y, u, v, want);
        int got[3];
        yuv_to_rgb_bt601(y, u, v, got);
        if (got[0] != want[0] || got[1] != want[1] || got[2] != want[2]) {
          if (++mismatches <= 5) ADD_FAILURE() << "YUV " << y << "," << u << "," << v;
        }
      }
  EXPECT_EQ(mismatches, 0);
}

// The kernel's per-pixel code, run over every pixel on the CPU, equals Preprocessor::run bit for
// bit — every format with padded strides, every layout, both colour orders, up and down.
TEST(CudaPreprocessPixel, EqualsPreprocessorExactly) {
  unsigned seed = 100;
  for (PixelFormat format : all_pixel_formats())
    for (const PreprocessCase& k : preprocess_cases(false))
      for (const LayoutCase& lc : layout_cases(k.net_w, k.net_h))
        for (const InputSpec& spec : {imagenet_rgb_spec(), caffe_bgr_spec()}) {
          // Both colour orders on the first layout; the others with the RGB model (a unit test's time).
          if (spec.color == ColorOrder::kBGR && lc.name != "NCHW") continue;
          SCOPED_TRACE(std::string(pixel_format_name(format)) + " " + std::to_string(k.frame_w) + "x" +
                       std::to_string(k.frame_h) + " -> " + std::to_string(k.net_w) + "x" + std::to_string(k.net_h) +
                       " " + lc.name + (spec.color == ColorOrder::kBGR ? " BGR model" : " RGB model"));
          const OwnedFrame f = make_random_frame(format, k.frame_w, k.frame_h, ++seed);
          std::vector<float> want(lc.floats, kSentinel), got(lc.floats, kSentinel);
          Preprocessor cpu(spec, lc.layout);
          cpu.run(f.view, want.data());
          emulate_preprocess(f.view, spec, lc.layout, got.data());
          const FloatComparison c = compare_floats(want, got, 0.0, 0.0);
          ASSERT_EQ(c.bad, 0u) << c.describe(0.0, 0.0);
        }
}

TEST(CudaUpsamplePlan, SpansCoverEveryColumnEachBlockReads) {
  for (const UpsampleCase& k : upsample_cases(true))
    for (const ResizeCase& rc : resize_cases()) {
      SCOPED_TRACE(k.describe() + " " + rc.name);
      const ResampleGeometry geo = upsample_geometry(k, rc.attrs);
      for (int bw : {32, 128, 1000}) {
        const UpsamplePlan plan = make_upsample_plan(geo.cols, k.channels, bw);
        ASSERT_EQ(plan.span_begin.size(), static_cast<std::size_t>((k.out_w + bw - 1) / bw));
        int widest = 0;
        for (int x = 0; x < k.out_w; ++x) {
          const int b = x / bw, lo = plan.span_begin[b], hi = lo + plan.span_count[b] - 1;
          ASSERT_GE(lo, 0);
          ASSERT_LT(hi, k.in_w);
          ASSERT_TRUE(geo.cols.index0[x] >= lo && geo.cols.index0[x] <= hi) << "x " << x;
          ASSERT_TRUE(geo.cols.index1[x] >= lo && geo.cols.index1[x] <= hi) << "x " << x;
          widest = std::max(widest, plan.span_count[b]);
        }
        EXPECT_EQ(plan.max_span, widest);
        EXPECT_EQ(plan.staged_bytes, static_cast<std::size_t>(widest) * k.channels * sizeof(float));
        EXPECT_EQ(plan.staged, plan.staged_bytes <= kDefaultStagingBytes);
      }
    }
}

TEST(CudaUpsamplePlan, HdFromLogitsStagesAFewColumnsPerBlock) {
  ResizeAttrs a;
  a.mode = ResizeAttrs::kLinear;
  a.coord = ResizeAttrs::kHalfPixel;
  const ResampleGeometry geo = make_resample_geometry(65, 65, 21, 1080, 1920, 1080.0f / 65, 1920.0f / 65, a);
  const UpsamplePlan plan = make_upsample_plan(geo.cols, 21);
  EXPECT_TRUE(plan.staged);
  EXPECT_EQ(plan.span_begin.size(), 15u);
  EXPECT_LE(plan.max_span, 7);  // 128 pixels cover ~4.3 source columns, plus the two neighbours
  EXPECT_LE(plan.staged_bytes, 7u * 21 * 4);
  // A budget of 0 forces the direct kernels; wide downscales fall back on their own.
  EXPECT_FALSE(make_upsample_plan(geo.cols, 21, kUpsampleBlockWidth, 0).staged);
  const ResampleGeometry wide = make_resample_geometry(9, 1000, 64, 9, 130, 1.0f, 0.13f, a);
  EXPECT_FALSE(make_upsample_plan(wide.cols, 64).staged);
  EXPECT_THROW(make_upsample_plan(geo.cols, 0), Error);
  EXPECT_THROW(make_upsample_plan(geo.cols, 21, 0), Error);
  EXPECT_THROW(make_upsample_plan(AxisSampling{}, 21), Error);
}

// The kernels' code, run block by block on the CPU, gives upsample_argmax()'s class map exactly:
// staged and direct, every case and resize mode, with and without exact ties.
TEST(CudaUpsampleEmulation, ArgmaxEqualsCpuExactly) {
  unsigned seed = 7;
  for (const UpsampleCase& k : upsample_cases(false))
    for (const ResizeCase& rc : resize_cases())
      for (bool ties : {false, true}) {
        // Ties with every linear transform and one nearest one (a unit test's time).
        if (ties && rc.attrs.mode == ResizeAttrs::kNearest && rc.name != "nearest/half_pixel/round_prefer_floor")
          continue;
        SCOPED_TRACE(k.describe() + " " + rc.name + (ties ? " ties" : ""));
        const std::vector<float> logits = random_logits(k.in_h, k.in_w, k.channels, ++seed, ties);
        const ResampleGeometry geo = upsample_geometry(k, rc.attrs);
        const std::vector<std::uint8_t> want = cpu_upsample_argmax(geo, logits);
        const UpsamplePlan plan = make_upsample_plan(geo.cols, k.channels, kUpsampleBlockWidth, SIZE_MAX);
        const UpsampleView v = host_view(geo, plan, logits.data());
        for (bool staged : {true, false}) {
          const std::vector<std::uint8_t> got = emulate_argmax(v, plan, staged);
          const std::size_t at = first_difference(want, got);
          ASSERT_EQ(at, want.size()) << (staged ? "staged" : "direct") << ": pixel " << at << " class "
                                     << int(got[at]) << ", CPU " << int(want[at]);
        }
      }
}

TEST(CudaUpsampleEmulation, SoftmaxEqualsCpuExactly) {
  unsigned seed = 70;
  for (const UpsampleCase& k : upsample_cases(false))
    for (const ResizeCase& rc : resize_cases()) {
      if (rc.attrs.mode == ResizeAttrs::kNearest && rc.attrs.nearest != ResizeAttrs::kRoundPreferFloor) continue;
      SCOPED_TRACE(k.describe() + " " + rc.name);
      const std::vector<float> logits = random_logits(k.in_h, k.in_w, k.channels, ++seed);
      const ResampleGeometry geo = upsample_geometry(k, rc.attrs);
      const std::vector<float> want = cpu_upsample_softmax(geo, logits);
      const UpsamplePlan plan = make_upsample_plan(geo.cols, k.channels, kUpsampleBlockWidth, SIZE_MAX);
      const UpsampleView v = host_view(geo, plan, logits.data());
      for (bool staged : {true, false}) {
        const FloatComparison c = compare_floats(want, emulate_softmax(v, plan, staged), 0.0, 0.0);
        ASSERT_EQ(c.bad, 0u) << (staged ? "staged: " : "direct: ") << c.describe(0.0, 0.0);
      }
    }
}

// The batching engine's CUDA pre-processing (issue 15): each stream's kernel writes its frame into
// its slot of a three-item staging tensor (the slot's offset, item after item). Three frames of
// different sizes and formats, written one after another into a sentinel-filled batch: every write
// stays inside its slot (the later slots are untouched), and each slot equals Preprocessor::run of
// its frame alone, bit for bit, in every layout.
TEST(CudaPreprocessPixel, FramesOfMixedSizesIntoTheirSlotsOfABatch) {
  const int net_w = 65, net_h = 49;
  struct Item {
    PixelFormat format;
    int width, height;
  };
  const Item items[] = {{PixelFormat::kRGB, 640, 360}, {PixelFormat::kNV12, 320, 240}, {PixelFormat::kBGRx, 33, 97}};
  constexpr int kItems = 3;
  const InputSpec spec = imagenet_rgb_spec();
  unsigned seed = 300;
  for (const LayoutCase& lc : layout_cases(net_w, net_h)) {
    SCOPED_TRACE(lc.name);
    std::vector<float> batch(lc.floats * kItems, kSentinel);
    for (int k = 0; k < kItems; ++k) {
      const OwnedFrame f = make_random_frame(items[k].format, items[k].width, items[k].height, ++seed);
      emulate_preprocess(f.view, spec, lc.layout, batch.data() + k * lc.floats);
      for (std::size_t i = (k + 1) * lc.floats; i < batch.size(); ++i)
        ASSERT_EQ(batch[i], kSentinel) << "item " << k << " wrote float " << i << " of a later slot";
      std::vector<float> want(lc.floats, kSentinel);
      Preprocessor(spec, lc.layout).run(f.view, want.data());
      const std::vector<float> slot(batch.begin() + k * lc.floats, batch.begin() + (k + 1) * lc.floats);
      const FloatComparison c = compare_floats(want, slot, 0.0, 0.0);
      EXPECT_EQ(c.bad, 0u) << "item " << k << ": " << c.describe(0.0, 0.0);
    }
  }
}
