// Host-only tests of the CUDA dense CRF (label unit; no GPU needed): its sizes and launch shapes
// (cuda/crf/crf_plan.h), and its per-thread steps (cuda/crf/lattice_steps.h, mean_field_steps.h)
// run on the CPU thread index by thread index (crf_emulation.h) against the CPU CRF:
//   - the embedding, vertex numbering, offsets, weights, splat lists, neighbours, blur and
//     normalisation equal crf::PermutohedralLattice / crf::CrfKernel bit for bit, for any order in
//     which the GPU's threads win the hash table's races;
//   - the mean field's Q equals the CPU backend's within float rounding (only the order of the sum
//     over classes differs), labels agree (>= 99.5 % required; figures printed).
// What this cannot check is the device itself (atomics, shuffles, launches, copies, CUB):
// deeplab_gpu_tests compares the GPU with this emulation and with the CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend/registry.h"
#include "crf/crf_kernel.h"
#include "crf/fast_exp.h"
#include "crf/gaussian_blur.h"
#include "crf/permutohedral.h"
#include "crf_cases.h"
#include "crf_emulation.h"
#include "cuda/crf/crf_plan.h"
#include "cuda/crf/gaussian_blur_steps.h"
#include "cuda/crf/lattice_steps.h"
#include "cuda/crf/mean_field_steps.h"
#include "deeplab/crf.h"
#include "deeplab/error.h"

using namespace deeplab;
using namespace deeplab::test;

namespace {

constexpr double kMinAgreement = 0.995;  // the CPU-vs-CUDA label agreement

template <int D>
struct ArrayFeatures {
  static constexpr int kDim = D;
  const float* f = nullptr;
  void operator()(int i, float* out) const {
    for (int k = 0; k < D; ++k) out[k] = f[static_cast<std::size_t>(i) * D + k];
  }
};

std::size_t identical_floats(const float* a, const float* b, std::size_t n) {
  std::size_t same = 0;
  for (std::size_t i = 0; i < n; ++i) same += std::memcmp(a + i, b + i, sizeof(float)) == 0;
  return same;
}

// The emulated lattice of `features` against the CPU lattice built from the same features:
// vertices, each point's vertices, weights and vertex keys, and the splat + blur of `values`
// (stride floats per point) scaled by `point_scale`.
template <int D, typename Features>
void expect_lattice_equal(const Features& features, const std::vector<float>& cpu_features, int points,
                          unsigned race_seed, const std::string& what) {
  crf::PermutohedralLattice cpu;
  cpu.build(cpu_features.data(), points, D, 2);
  EmulatedLattice gpu;
  gpu.build_dim<D>(features, points, race_seed);
  ASSERT_EQ(gpu.vertices(), cpu.vertices()) << what;
  const cuda::LatticeView& v = gpu.view();
  std::size_t wrong_vertex = 0, wrong_key = 0;
  for (int p = 0; p < points; ++p)
    for (int r = 0; r <= D; ++r) {
      const int e = p * (D + 1) + r;
      const int vertex = cpu.point_vertices(p)[r];
      wrong_vertex += v.offsets[e] != vertex;
      int want[D], got[D];
      cpu.vertex_coordinates(vertex, want);
      cuda::unpack_key(cuda::entry_key<D>(v, e), D, got);
      wrong_key += !std::equal(want, want + D, got);
    }
  const std::size_t entries = static_cast<std::size_t>(points) * (D + 1);
  EXPECT_EQ(wrong_vertex, 0u) << what;
  EXPECT_EQ(wrong_key, 0u) << what;
  EXPECT_EQ(identical_floats(v.weights, cpu.point_weights(0), entries), entries) << what << ": barycentric weights";

  const int stride = 7;
  std::mt19937 rng(race_seed + 5);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  std::vector<float> values(static_cast<std::size_t>(points) * stride), scale(points);
  for (float& x : values) x = uni(rng);
  for (float& x : scale) x = 0.5f + uni(rng);
  const std::size_t rows = (static_cast<std::size_t>(cpu.vertices()) + 1) * stride;
  const float* want = cpu.splat_blur(values.data(), stride, scale.data());
  const float* got = gpu.splat_blur(values.data(), stride, scale.data());
  const std::size_t same = identical_floats(want, got, rows);
  std::printf("[crf-cuda] %s: %d vertices for %d points; blurred rows identical %zu of %zu\n", what.c_str(),
              cpu.vertices(), points, same, rows);
  EXPECT_EQ(same, rows) << what;
}

std::vector<float> random_features(int points, int d, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(0.0f, 30.0f);
  std::vector<float> f(static_cast<std::size_t>(points) * d);
  for (float& v : f) v = uni(rng);
  return f;
}

cuda::GaussianFeatures gaussian_source(int width, float xy_std) {
  cuda::GaussianFeatures f;
  f.width = width;
  f.inv_xy = 1.0f / xy_std;
  return f;
}

cuda::BilateralFeatures bilateral_source(const CrfImage& image, float xy_std, float rgb_std) {
  cuda::BilateralFeatures f;
  f.rgb = image.rgb;
  f.width = image.width;
  f.stride = image.stride;
  f.inv_xy = 1.0f / xy_std;
  f.inv_rgb = 1.0f / rgb_std;
  return f;
}

std::vector<float> cpu_crf(const CrfScene& scene, const std::vector<float>& p, int classes, const CrfParams& params,
                           int iterations, bool warm, std::vector<float> q = {}) {
  q.resize(p.size());
  DenseCrf crf(Device::kCpu, 2);
  crf.infer(scene.image(), p.data(), classes, params, iterations, warm, q.data());
  return q;
}

std::vector<float> emulated_crf(const CrfScene& scene, const std::vector<float>& p, int classes,
                                const CrfParams& params, int iterations, bool warm, std::vector<float> q = {},
                                unsigned race_seed = 3) {
  q.resize(p.size());
  EmulatedCrf crf(cuda::kCrfSymmetricNormalisation);
  crf.infer(scene.image(), p.data(), classes, params, iterations, warm, q.data(), 1.0f, race_seed);
  return q;
}

}  // namespace

// ---- sizes and shapes -------------------------------------------------------------------------------

TEST(CudaCrfPlan, HashTableHasTwiceTheSlotsOfEntries) {
  struct Case {
    std::int64_t points;
    int dim;
    std::int64_t slots;
  } cases[] = {{1, 2, 64},
               {1, 5, 64},
               {7 * 13, 5, 2048},
               {480 * 360, 2, 1 << 20},
               {480 * 360, 5, 1 << 21},
               {1920 * 1080, 5, 1 << 25},
               {16384LL * 16384, 2, 1LL << 31}};
  for (const Case& c : cases) {
    const cuda::LatticeSizes s = cuda::lattice_sizes(c.points, c.dim);
    EXPECT_EQ(s.entries, c.points * (c.dim + 1));
    EXPECT_EQ(s.table_slots, c.slots) << c.points << " points, d=" << c.dim;
    EXPECT_GE(s.table_slots, 2 * s.entries);
    EXPECT_EQ(std::uint64_t{1} << (64 - s.slot_shift), static_cast<std::uint64_t>(s.table_slots));
  }
}

TEST(CudaCrfPlan, SizesBeyondTheTableAreRefusedByName) {
  for (int dim : {0, 8}) {
    try {
      cuda::lattice_sizes(10, dim);
      ADD_FAILURE() << "dim " << dim << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(std::to_string(dim) + " feature dimensions"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(cuda::lattice_sizes(0, 5), Error);
  try {
    cuda::lattice_sizes(16384LL * 16384, 5);  // 1.6e9 entries: 3.2e9 slots
    ADD_FAILURE() << "a 16384x16384 bilateral lattice accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("268435456 points"), std::string::npos) << e.what();
  }
}

TEST(CudaCrfPlan, SortBitsCoverEveryVertexId) {
  EXPECT_EQ(cuda::bits_for(0), 1);
  EXPECT_EQ(cuda::bits_for(1), 1);
  EXPECT_EQ(cuda::bits_for(2), 2);
  EXPECT_EQ(cuda::bits_for(255), 8);
  EXPECT_EQ(cuda::bits_for(256), 9);
  EXPECT_EQ(cuda::bits_for((std::int64_t{1} << 30) - 1), 30);
  for (std::int64_t v : {3, 100, 12441599}) EXPECT_LT(v, std::int64_t{1} << cuda::bits_for(v));
}

TEST(CudaCrfPlan, MeanFieldGroupsCoverTheClassesInWholeWarps) {
  static_assert(cuda::kCrfBlock % 32 == 0, "blocks of whole warps");
  for (int c = 1; c <= cuda::kMaxCrfClasses; ++c) {
    const int g = cuda::mean_field_group(c), per_lane = cuda::classes_per_lane(c);
    EXPECT_TRUE(g >= 1 && g <= 32 && (g & (g - 1)) == 0) << c << " classes: group " << g;
    EXPECT_EQ(32 % g, 0);
    EXPECT_GE(g * per_lane, c) << c << " classes";
    EXPECT_LE(per_lane, cuda::kMaxClassesPerLane) << c << " classes";
    if (c <= 32) EXPECT_LT(g, 2 * c) << c << " classes: half the group idle";
    else EXPECT_EQ(g, 32);
  }
  EXPECT_EQ(cuda::mean_field_group(21), 32);
  EXPECT_EQ(cuda::mean_field_group(7), 8);
  EXPECT_EQ(cuda::mean_field_group(2), 2);
}

// ---- steps against the CPU lattice, bit for bit ----------------------------------------------------

TEST(CudaCrfHostSteps, FastExpIsTheCpuFastExpBitForBit) {
  std::size_t checked = 0, different = 0;
  const auto check = [&](float x) {
    const float a = cuda::fast_exp_rn(x), b = crf::fast_exp(x);
    different += std::memcmp(&a, &b, sizeof a) != 0;
    ++checked;
  };
  for (float x = -100.0f; x <= 100.0f; x += 0.0137f) check(x);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uni(-90.0f, 0.0f);  // the update's range: m - max m <= 0
  for (int i = 0; i < 200000; ++i) check(uni(rng));
  for (float x : {0.0f, -0.0f, -87.0f, 88.0f, -1e30f, 1e30f}) check(x);
  EXPECT_EQ(different, 0u) << "of " << checked;
}

TEST(CudaCrfHostSteps, RandomLatticesAreTheCpuLatticeBitForBit) {
  const int points = 500;
  for (unsigned race : {0u, 7u, 1234u}) {
    {
      const auto f = random_features(points, 1, 11);
      ArrayFeatures<1> src{};
      src.f = f.data();
      expect_lattice_equal<1>(src, f, points, race, "random d=1, race " + std::to_string(race));
    }
    {
      const auto f = random_features(points, 3, 12);
      ArrayFeatures<3> src{};
      src.f = f.data();
      expect_lattice_equal<3>(src, f, points, race, "random d=3, race " + std::to_string(race));
    }
    {
      const auto f = random_features(points, 7, 13);
      ArrayFeatures<7> src{};
      src.f = f.data();
      expect_lattice_equal<7>(src, f, points, race, "random d=7, race " + std::to_string(race));
    }
  }
}

TEST(CudaCrfHostSteps, CrfLatticesAreTheCpuLatticeBitForBit) {
  struct Case {
    int w, h;
    float xy_g, xy_b, rgb;
  } cases[] = {{1, 1, 1, 67, 3}, {7, 13, 1, 67, 3}, {127, 65, 1, 67, 3}, {127, 65, 3, 20, 13}};
  for (const Case& c : cases) {
    const CrfScene scene = crf_scene(c.w, c.h, 21);
    const int n = c.w * c.h;
    const std::string size = std::to_string(c.w) + "x" + std::to_string(c.h);
    std::vector<float> fg(static_cast<std::size_t>(n) * crf::kGaussianDim),
        fb(static_cast<std::size_t>(n) * crf::kBilateralDim);
    crf::gaussian_features(c.w, c.h, c.xy_g, fg.data(), 1);
    crf::bilateral_features(scene.image(), c.xy_b, c.rgb, fb.data(), 1);
    expect_lattice_equal<cuda::kCrfGaussianDim>(gaussian_source(c.w, c.xy_g), fg, n, 9, "gaussian " + size);
    expect_lattice_equal<cuda::kCrfBilateralDim>(bilateral_source(scene.image(), c.xy_b, c.rgb), fb, n, 9,
                                                 "bilateral " + size);
  }
}

TEST(CudaCrfHostSteps, NormalisationAndFilterAreTheCpuKernelsBitForBit) {
  const int w = 127, h = 65, n = w * h, stride = 8;
  const CrfScene scene = crf_scene(w, h, 5);
  std::vector<float> fg(static_cast<std::size_t>(n) * crf::kGaussianDim),
      fb(static_cast<std::size_t>(n) * crf::kBilateralDim);
  crf::gaussian_features(w, h, 1.0f, fg.data(), 1);
  crf::bilateral_features(scene.image(), 67.0f, 3.0f, fb.data(), 1);
  std::mt19937 rng(6);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  std::vector<float> q(static_cast<std::size_t>(n) * stride);
  for (float& x : q) x = uni(rng);
  for (bool symmetric : {true, false}) {
    const auto mode = symmetric ? crf::KernelNormalisation::kSymmetric : crf::KernelNormalisation::kRow;
    crf::CrfKernel cpu_g(mode), cpu_b(mode);
    cpu_g.build(fg.data(), n, crf::kGaussianDim, 2);
    cpu_b.build(fb.data(), n, crf::kBilateralDim, 2);
    EmulatedLattice gpu_g, gpu_b;
    gpu_g.set_symmetric(symmetric);
    gpu_b.set_symmetric(symmetric);
    gpu_g.build(gaussian_source(w, 1.0f), n, 4);
    gpu_b.build(bilateral_source(scene.image(), 67.0f, 3.0f), n, 4);
    std::vector<float> want_g(n), want_b(n);
    for (int i = 0; i < n; ++i) want_g[i] = cpu_g.norm(i), want_b[i] = cpu_b.norm(i);
    const char* name = symmetric ? "symmetric" : "row";
    EXPECT_EQ(identical_floats(want_g.data(), gpu_g.view().norm, n), static_cast<std::size_t>(n)) << name;
    EXPECT_EQ(identical_floats(want_b.data(), gpu_b.view().norm, n), static_cast<std::size_t>(n)) << name;
    // The mean field's splat: n_j Q_j (symmetric) or Q_j (row).
    for (auto [cpu, gpu] : {std::pair{&cpu_g, &gpu_g}, std::pair{&cpu_b, &gpu_b}}) {
      const std::size_t rows = (static_cast<std::size_t>(gpu->vertices()) + 1) * stride;
      const float* want = cpu->splat_blur(q.data(), stride);
      const float* got = gpu->splat_blur(q.data(), stride);
      EXPECT_EQ(identical_floats(want, got, rows), rows) << name << ", d=" << gpu->view().dim;
    }
  }
}

TEST(CudaCrfHostSteps, ThreadRacesDoNotChangeTheResult) {
  const int w = 61, h = 37, classes = 7;
  const CrfScene scene = crf_scene(w, h, 8);
  const auto p = crf_probabilities(w, h, classes, 8);
  const CrfParams params;
  const auto a = emulated_crf(scene, p, classes, params, 5, false, {}, 0);
  const auto b = emulated_crf(scene, p, classes, params, 5, false, {}, 99);
  EXPECT_EQ(identical_floats(a.data(), b.data(), a.size()), a.size());
}

// ---- the mean field against the CPU backend -------------------------------------------------------

TEST(CudaCrfHostEmulation, MeanFieldMatchesTheCpu) {
  struct Case {
    int w, h, classes;
  } cases[] = {{1, 1, 2},    {1, 1, 21},   {7, 13, 2},    {7, 13, 7},    {7, 13, 21},
               {127, 65, 2}, {127, 65, 7}, {127, 65, 21}, {240, 180, 21}};  // 480x360: test_cuda_host_crf_real.cpp
  const CrfParams params;                                                   // DeepLab's defaults, 10 iterations
  for (const Case& c : cases) {
    const CrfScene scene = crf_scene(c.w, c.h, 31);
    const auto p = crf_probabilities(c.w, c.h, c.classes, 32);
    const auto want = cpu_crf(scene, p, c.classes, params, params.iterations, false);
    const auto got = emulated_crf(scene, p, c.classes, params, params.iterations, false);
    const QComparison r = compare_q(want, got, c.classes);
    std::printf("[crf-cuda] emulated vs CPU %dx%d, %d classes, 10 iterations: %s\n", c.w, c.h, c.classes,
                r.describe().c_str());
    EXPECT_GE(r.agreement(), kMinAgreement) << r.describe();
    EXPECT_TRUE(r.finite && r.normalised) << r.describe();
    EXPECT_LT(r.max_abs, 1e-3) << r.describe();  // float rounding, not an algorithmic difference
  }
}

TEST(CudaCrfHostEmulation, WarmStartMatchesTheCpu) {
  const int w = 127, h = 65, classes = 21;
  const CrfParams params;
  const CrfScene first = crf_scene(w, h, 40), next = crf_scene(w, h, 41, /*shift=*/3);
  const auto p0 = crf_probabilities(w, h, classes, 42), p1 = crf_probabilities(w, h, classes, 43, 3);
  const auto q0 = cpu_crf(first, p0, classes, params, params.iterations, false);
  const auto want = cpu_crf(next, p1, classes, params, 2, true, q0);
  const auto got = emulated_crf(next, p1, classes, params, 2, true, q0);
  const QComparison r = compare_q(want, got, classes);
  std::printf("[crf-cuda] emulated vs CPU, warm start, 2 iterations: %s\n", r.describe().c_str());
  EXPECT_GE(r.agreement(), kMinAgreement) << r.describe();
  EXPECT_LT(r.max_abs, 1e-3) << r.describe();
}

TEST(CudaCrfHostEmulation, OneKernelOrNoIterationsMatchTheCpu) {
  const int w = 45, h = 31, classes = 7;
  const CrfScene scene = crf_scene(w, h, 50);
  const auto p = crf_probabilities(w, h, classes, 51);
  CrfParams gaussian_only, bilateral_only;
  gaussian_only.bilateral_weight = 0;
  bilateral_only.gaussian_weight = 0;
  for (const CrfParams& params : {gaussian_only, bilateral_only}) {
    const auto want = cpu_crf(scene, p, classes, params, 4, false);
    const auto got = emulated_crf(scene, p, classes, params, 4, false);
    const QComparison r = compare_q(want, got, classes);
    EXPECT_GE(r.agreement(), kMinAgreement) << r.describe();
    EXPECT_LT(r.max_abs, 1e-4) << r.describe();
  }
  // No iterations: Q0 = p^ normalised, the same operations in the same order.
  const auto want = cpu_crf(scene, p, classes, CrfParams{}, 0, false);
  const auto got = emulated_crf(scene, p, classes, CrfParams{}, 0, false);
  EXPECT_EQ(identical_floats(want.data(), got.data(), want.size()), want.size());
}

// The sequence the GPU's temporal test runs exercises every decision: warm starts, a keyframe and
// the scene cut (frame 5 of 0..8, keyframes every 4 frames).
TEST(CudaCrfHostSequence, TemporalTestSequenceHasWarmStartsAKeyframeAndACut) {
  const int w = 160, h = 120, classes = 21;
  CrfOptions options;
  options.mode = CrfMode::kTemporal;
  options.keyframe_interval = 4;
  CrfStream stream(options, Device::kCpu, 2);
  std::string decisions;
  for (int frame = 0; frame < kCrfSequenceFrames; ++frame) {
    const CrfScene scene = crf_sequence_scene(w, h, frame);
    const auto p = crf_sequence_probabilities(w, h, classes, frame);
    stream.process(scene.image(), p.data(), classes);
    const CrfFrameReport& r = stream.last_report();
    decisions += r.scene_cut ? 'C' : r.keyframe ? 'K' : r.warm_started ? 'w' : 'F';
  }
  EXPECT_EQ(decisions, "FwwwKCwww");  // F full (first), w warm, K keyframe, C cut
}

// ---- the backend seam ----------------------------------------------------------------------------

// Without a GPU (as on the development machine) DenseCrf(kCuda) refuses with a device error that
// says why, and kAuto falls back to the CPU; with one, both run on the GPU.
TEST(CudaCrfBackend, DeviceChoiceFollowsTheGpu) {
  std::string why;
  if (!cuda_device_available(&why)) {
    try {
      DenseCrf crf(Device::kCuda);
      ADD_FAILURE() << "DenseCrf(kCuda) without a GPU";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kDevice);
      EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos) << e.what();
      std::printf("[crf-cuda] DenseCrf(kCuda) without a GPU: %s\n", e.what());
    }
    EXPECT_EQ(DenseCrf(Device::kAuto).device(), Device::kCpu);
  } else {
#if defined(DEEPLAB_HAVE_CUDA)
    EXPECT_EQ(DenseCrf(Device::kCuda).device(), Device::kCuda);
    EXPECT_EQ(DenseCrf(Device::kAuto).device(), Device::kCuda);
#else
    EXPECT_THROW(DenseCrf(Device::kCuda), Error);
#endif
  }
}

// The smoothness kernel's steps (cuda/crf/gaussian_blur_steps.h: the vertical pass, then the
// horizontal one with the normalisation and weight) against the CPU's crf::GaussianBlur::filter, bit
// for bit: borders, a std below a pixel, the Cityscapes block's 3.67 px and a size narrower than the
// taps.
TEST(CudaHostCrf, SmoothnessBlurStepsEqualTheCpuBlurBitForBit) {
  constexpr int kClasses = 8;  // the CPU's stride: whole blocks of 8 lanes, no padding
  struct Case {
    int w, h;
    float std;
  };
  for (const Case c : {Case{37, 23, 1.0f}, Case{20, 31, 3.67f}, Case{9, 5, 0.6f}, Case{3, 40, 5.0f}}) {
    const std::size_t values = static_cast<std::size_t>(c.w) * c.h * kClasses;
    std::mt19937 rng(c.w * 100 + c.h);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    std::vector<float> q(values), cols(values), cpu(values), scratch(values);
    for (float& v : q) v = u(rng);
    crf::GaussianBlur blur;
    blur.configure(c.w, c.h, c.std);
    blur.filter(q.data(), kClasses, scratch.data(), cpu.data(), 1);
    cuda::BlurSlice s;
    s.blur = {c.w, c.h, blur.radius(), kClasses, blur.taps(), blur.inv_sums_x(), blur.inv_sums_y()};
    s.cols = cols.data();
    s.weight = 1.0f;
    for (std::size_t idx = 0; idx < values; ++idx) cuda::blur_column_step(s.blur, q.data(), cols.data(), idx);
    std::size_t differ = 0;
    for (int i = 0; i < c.w * c.h; ++i)
      for (int k = 0; k < kClasses; ++k)
        differ += cuda::blur_message(s, i, k) != cpu[static_cast<std::size_t>(i) * kClasses + k];
    EXPECT_EQ(differ, 0u) << c.w << "x" << c.h << " std " << c.std;
  }
}
