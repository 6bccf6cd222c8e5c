// deeplab::DenseCrf properties on synthetic images: marginals are distributions, 0 iterations is
// the softmax of the unary, label noise on a uniform image is smoothed away, labels snap to a
// colour edge, results do not depend on the thread count; bad options and arguments are
// rejected with messages naming them; the vectorised exp is accurate.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "crf/crf_stage.h"
#include "crf/fast_exp.h"
#include "deeplab/crf.h"
#include "deeplab/error.h"

using namespace deeplab;

namespace deeplab {
bool cuda_device_available(std::string* why);  // engine/src/cuda/device_probe.cpp
}

namespace {

struct Image {
  int w, h;
  std::vector<std::uint8_t> rgb;
  CrfImage view() const { return CrfImage{rgb.data(), w, h, 3 * w}; }
};

Image uniform_image(int w, int h, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  Image im{w, h, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h * 3)};
  for (std::size_t p = 0; p < im.rgb.size(); p += 3) im.rgb[p] = r, im.rgb[p + 1] = g, im.rgb[p + 2] = b;
  return im;
}

Image random_image(int w, int h, unsigned seed) {
  std::mt19937 rng(seed);
  Image im{w, h, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h * 3)};
  for (auto& v : im.rgb) v = static_cast<std::uint8_t>(rng() % 256);
  return im;
}

std::vector<float> random_probabilities(int n, int classes, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 1.5f);
  std::vector<float> p(static_cast<std::size_t>(n) * classes);
  for (int i = 0; i < n; ++i) {
    float sum = 0;
    for (int c = 0; c < classes; ++c) sum += p[i * classes + c] = std::exp(noise(rng));
    for (int c = 0; c < classes; ++c) p[i * classes + c] /= sum;
  }
  return p;
}

int argmax(const float* v, int n) { return static_cast<int>(std::max_element(v, v + n) - v); }

std::vector<int> labels(const std::vector<float>& q, int classes) {
  std::vector<int> l(q.size() / classes);
  for (std::size_t i = 0; i < l.size(); ++i) l[i] = argmax(&q[i * classes], classes);
  return l;
}

// Q of a cold-started CPU CRF: `iterations` mean-field passes on `threads` threads.
std::vector<float> cpu_crf(const Image& im, const std::vector<float>& p, int classes, const CrfParams& params,
                           int iterations, int threads = 1) {
  std::vector<float> q(p.size());
  DenseCrf crf(Device::kCpu, threads);
  crf.infer(im.view(), p.data(), classes, params, iterations, false, q.data());
  return q;
}

std::string error_message(const std::function<void()>& fn, ErrorCode* code = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (code) *code = e.code();
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Crf, MarginalsAreDistributions) {
  const Image im = random_image(37, 23, 1);
  const int classes = 21, n = im.w * im.h;
  const auto p = random_probabilities(n, classes, 2);
  const std::vector<float> q = cpu_crf(im, p, classes, CrfParams{}, 5, 2);
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    double sum = 0;
    for (int c = 0; c < classes; ++c) {
      const float v = q[i * classes + c];
      ASSERT_TRUE(std::isfinite(v) && v >= 0.0f && v <= 1.0f) << "pixel " << i << " class " << c << ": " << v;
      sum += v;
    }
    worst = std::max(worst, std::fabs(sum - 1.0));
  }
  EXPECT_LT(worst, 1e-5);
}

// No iterations: Q is the softmax of the unary -log(max(p, 1e-8)), i.e. p floored and
// renormalised; with a warm start, the caller's Q comes back unchanged.
TEST(Crf, ZeroIterationsIsTheSoftmaxOfTheUnary) {
  const Image im = random_image(16, 11, 3);
  const int classes = 5, n = im.w * im.h;
  auto p = random_probabilities(n, classes, 4);
  p[0] = 0.0f;  // floored to 1e-8
  std::vector<float> q(p.size());
  DenseCrf crf(Device::kCpu, 1);
  crf.infer(im.view(), p.data(), classes, CrfParams{}, 0, false, q.data());
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    double sum = 0;
    for (int c = 0; c < classes; ++c) sum += std::max(p[i * classes + c], 1e-8f);
    for (int c = 0; c < classes; ++c)
      worst = std::max(worst, std::fabs(q[i * classes + c] - std::max(p[i * classes + c], 1e-8f) / sum));
  }
  EXPECT_LT(worst, 1e-6);
  EXPECT_GT(q[0], 0.0f);

  std::vector<float> warm = random_probabilities(n, classes, 5), out = warm;
  crf.infer(im.view(), p.data(), classes, CrfParams{}, 0, true, out.data());
  EXPECT_EQ(out, warm);
}

// A uniform image whose unary favours the true class (0) on 70% of the pixels and a random other
// class elsewhere: the CRF removes most of the label noise.
TEST(Crf, SmoothsLabelNoiseOnAUniformImage) {
  const Image im = uniform_image(48, 36, 120, 130, 140);
  const int classes = 4, n = im.w * im.h;
  std::mt19937 rng(6);
  std::vector<float> p(static_cast<std::size_t>(n) * classes);
  for (int i = 0; i < n; ++i) {
    const int favoured = rng() % 10 < 7 ? 0 : 1 + static_cast<int>(rng() % 3);
    for (int c = 0; c < classes; ++c) p[i * classes + c] = c == favoured ? 0.55f : 0.15f;
  }
  const std::vector<float> q = cpu_crf(im, p, classes, CrfParams{}, 10);
  const auto before = labels(p, classes), after = labels(q, classes);
  const auto wrong = [&](const std::vector<int>& l) {
    return std::count_if(l.begin(), l.end(), [](int v) { return v != 0; });
  };
  std::printf("[crf] uniform image, noisy unary: %ld -> %ld wrong labels of %d\n", static_cast<long>(wrong(before)),
              static_cast<long>(wrong(after)), n);
  EXPECT_GT(wrong(before), n / 5);
  EXPECT_LT(wrong(after), n / 100);
}

// Left part red, right part blue, the colour edge at x = 20; the unary's boundary is soft and
// 3 px to the right. The bilateral kernel moves the label boundary onto the colour edge.
TEST(Crf, LabelsSnapToAColourEdge) {
  const int w = 48, h = 32, classes = 2, edge = 20;
  Image im = uniform_image(w, h, 200, 30, 30);
  for (int y = 0; y < h; ++y)
    for (int x = edge; x < w; ++x) {
      std::uint8_t* px = &im.rgb[(static_cast<std::size_t>(y) * w + x) * 3];
      px[0] = 30, px[1] = 40, px[2] = 210;
    }
  std::vector<float> p(static_cast<std::size_t>(w) * h * classes);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const float left = 1.0f / (1.0f + std::exp((x - (edge + 2.5f)) / 2.0f));
      p[(y * w + x) * 2] = left;
      p[(y * w + x) * 2 + 1] = 1.0f - left;
    }
  const std::vector<float> q = cpu_crf(im, p, classes, CrfParams{}, 10);
  const auto misplaced = [&](const std::vector<float>& m) {
    int count = 0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) count += argmax(&m[(y * w + x) * 2], 2) != (x < edge ? 0 : 1);
    return count;
  };
  std::printf("[crf] colour edge: %d -> %d pixels on the wrong side\n", misplaced(p), misplaced(q));
  EXPECT_GE(misplaced(p), 2 * h);
  EXPECT_EQ(misplaced(q), 0);
}

// Each lattice vertex sums its points in a fixed order and each pixel is updated on its own, so
// the thread count does not change a single bit.
TEST(Crf, ResultDoesNotDependOnThreadCount) {
  const Image im = random_image(64, 41, 7);
  const int classes = 7, n = im.w * im.h;
  const auto p = random_probabilities(n, classes, 8);
  std::vector<float> one(p.size()), two(p.size());
  DenseCrf a(Device::kCpu, 1), b(Device::kCpu, 2);
  a.infer(im.view(), p.data(), classes, CrfParams{}, 4, false, one.data());
  b.infer(im.view(), p.data(), classes, CrfParams{}, 4, false, two.data());
  EXPECT_EQ(one, two);
  // And the same object again gives the same answer (the Gaussian lattice is cached).
  b.infer(im.view(), p.data(), classes, CrfParams{}, 4, false, two.data());
  EXPECT_EQ(one, two);
}

// Without pairwise weights the mean field keeps the unary's softmax whatever the iterations.
TEST(Crf, ZeroWeightsKeepTheUnary) {
  const Image im = random_image(20, 14, 9);
  const int classes = 3, n = im.w * im.h;
  const auto p = random_probabilities(n, classes, 10);
  CrfParams params;
  params.bilateral_weight = 0;
  params.gaussian_weight = 0;
  const std::vector<float> q = cpu_crf(im, p, classes, params, 5);
  double worst = 0;
  for (std::size_t k = 0; k < p.size(); ++k) worst = std::max(worst, std::fabs(static_cast<double>(q[k]) - p[k]));
  EXPECT_LT(worst, 1e-5);
}

TEST(Crf, FastExpIsAccurate) {
  double worst = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.0137f) {
    const double ref = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::fabs(crf::fast_exp(x) - ref) / ref);
  }
  std::printf("[crf] fast_exp relative error on [-87, 88]: %.2e\n", worst);
  EXPECT_LT(worst, 3e-7);
  EXPECT_EQ(crf::fast_exp(0.0f), 1.0f);
  EXPECT_GT(crf::fast_exp(-1000.0f), 0.0f);  // clamped, not 0 or NaN
}

// The CRF stage's softmax runs 8 pixels at a time in vector code; it must equal the plain
// per-pixel loop bit for bit, for any class count, pixel range (blocks and a tail) and values
// (large and tiny logits, ties, infinities, NaN: a NaN in, NaN out, without undefined behaviour,
// which the sanitizer build checks).
TEST(Crf, StageSoftmaxEqualsThePlainLoop) {
  std::mt19937 rng(21);
  std::normal_distribution<float> logit(0.0f, 8.0f);
  const float specials[] = {0.0f, -0.0f, 100.0f, -100.0f, 1e-30f, 88.5f, -90.0f,
                            INFINITY, -INFINITY, NAN};
  int mismatches = 0, compared = 0;
  for (int classes : {1, 2, 7, 8, 21, 33}) {
    const int pixels = 8 * 5 + 3;
    std::vector<float> input(static_cast<std::size_t>(pixels) * classes);
    for (std::size_t k = 0; k < input.size(); ++k)
      input[k] = k % 11 == 10 ? specials[(k / 11) % 10] : logit(rng);
    for (int begin : {0, 3}) {
      std::vector<float> fast = input, plain = input;
      crf::softmax_pixels(fast.data(), classes, begin, pixels);
      for (int i = begin; i < pixels; ++i) {
        float* p = plain.data() + static_cast<std::size_t>(i) * classes;
        float peak = p[0];
        for (int k = 1; k < classes; ++k) peak = std::max(peak, p[k]);
        for (int k = 0; k < classes; ++k) p[k] = crf::fast_exp(p[k] - peak);
        float sum = 0;
        for (int k = 0; k < classes; ++k) sum += p[k];
        for (int k = 0; k < classes; ++k) p[k] *= 1.0f / sum;
      }
      for (std::size_t k = 0; k < fast.size(); ++k) {
        ++compared;
        // Bit for bit, except that any NaN equals any NaN (which NaN an operation returns depends
        // on its operand order, which the compiler may choose differently in vector code).
        const bool both_nan = std::isnan(fast[k]) && std::isnan(plain[k]);
        mismatches += !both_nan && std::memcmp(&fast[k], &plain[k], sizeof(float)) != 0;
      }
    }
  }
  EXPECT_EQ(mismatches, 0) << "of " << compared;
}

TEST(Crf, ModeNames) {
  for (CrfMode m : {CrfMode::kOff, CrfMode::kFull, CrfMode::kTemporal})
    EXPECT_EQ(crf_mode_from_string(crf_mode_name(m)), m);
  ErrorCode code{};
  const std::string message = error_message([] { crf_mode_from_string("fast"); }, &code);
  EXPECT_EQ(code, ErrorCode::kInvalidArgument);
  EXPECT_NE(message.find("fast"), std::string::npos) << message;
}

TEST(Crf, BadOptionsAreRejectedByName) {
  struct Bad {
    const char* name;
    void (*spoil)(CrfOptions&);
  };
  const Bad cases[] = {
      {"iterations", [](CrfOptions& o) { o.params.iterations = 0; }},
      {"iterations", [](CrfOptions& o) { o.params.iterations = 5000; }},
      {"bilateral_weight", [](CrfOptions& o) { o.params.bilateral_weight = -1; }},
      {"bilateral_xy_std", [](CrfOptions& o) { o.params.bilateral_xy_std = 0; }},
      {"bilateral_rgb_std", [](CrfOptions& o) { o.params.bilateral_rgb_std = NAN; }},
      {"gaussian_weight", [](CrfOptions& o) { o.params.gaussian_weight = INFINITY; }},
      {"gaussian_xy_std", [](CrfOptions& o) { o.params.gaussian_xy_std = -2; }},
      {"temporal_iterations", [](CrfOptions& o) { o.temporal_iterations = 0; }},
      {"keyframe_interval", [](CrfOptions& o) { o.keyframe_interval = -1; }},
      {"scale", [](CrfOptions& o) { o.scale = 0; }},
      {"scale", [](CrfOptions& o) { o.scale = 1.5f; }},
      {"scene_cut_threshold", [](CrfOptions& o) { o.scene_cut_threshold = -0.1f; }},
      {"mode", [](CrfOptions& o) { o.mode = static_cast<CrfMode>(7); }},
  };
  validate_crf_options(CrfOptions{});
  for (const Bad& b : cases) {
    CrfOptions o;
    o.mode = CrfMode::kTemporal;
    b.spoil(o);
    ErrorCode code{};
    const std::string message = error_message([&] { validate_crf_options(o); }, &code);
    EXPECT_EQ(code, ErrorCode::kInvalidArgument) << b.name;
    EXPECT_NE(message.find(b.name), std::string::npos) << "'" << message << "' does not name " << b.name;
    EXPECT_NE(error_message([&] { CrfStream stream(o); }), "") << b.name << ": CrfStream accepted it";
  }
}

TEST(Crf, BadArgumentsAreRejectedByName) {
  const Image im = random_image(8, 6, 11);
  const auto p = random_probabilities(48, 3, 12);
  std::vector<float> q(p.size());
  DenseCrf crf(Device::kCpu, 1);
  const CrfParams params;
  struct Bad {
    const char* what;
    std::function<void()> call;
  };
  const Bad cases[] = {
      {"null rgb",
       [&] {
         crf.infer(CrfImage{nullptr, 8, 6, 24}, p.data(), 3, params, 1, false, q.data());
       }},
      {"size",
       [&] {
         crf.infer(CrfImage{im.rgb.data(), 0, 6, 24}, p.data(), 3, params, 1, false, q.data());
       }},
      {"stride",
       [&] {
         crf.infer(CrfImage{im.rgb.data(), 8, 6, 20}, p.data(), 3, params, 1, false, q.data());
       }},
      {"probabilities", [&] { crf.infer(im.view(), nullptr, 3, params, 1, false, q.data()); }},
      {"q (the output)", [&] { crf.infer(im.view(), p.data(), 3, params, 1, false, nullptr); }},
      {"num_classes", [&] { crf.infer(im.view(), p.data(), 0, params, 1, false, q.data()); }},
      {"iterations", [&] { crf.infer(im.view(), p.data(), 3, params, -1, false, q.data()); }},
      {"position_scale", [&] { crf.infer(im.view(), p.data(), 3, params, 1, false, q.data(), 0.0f); }},
  };
  for (const Bad& b : cases) {
    ErrorCode code{};
    const std::string message = error_message(b.call, &code);
    EXPECT_EQ(code, ErrorCode::kInvalidArgument) << b.what << ": " << message;
    EXPECT_NE(message.find(b.what), std::string::npos) << "'" << message << "' does not name " << b.what;
  }
  // A positional std far below a pixel overflows the appearance lattice's 16-bit coordinates: named.
  // (The smoothness kernel has no lattice since it became a separable blur: any std > 0 is fine.)
  CrfParams tiny;
  tiny.bilateral_xy_std = 0.01f;
  const Image big = random_image(400, 300, 13);
  const auto pb = random_probabilities(400 * 300, 2, 14);
  std::vector<float> qb(pb.size());
  ErrorCode code{};
  const std::string message =
      error_message([&] { crf.infer(big.view(), pb.data(), 2, tiny, 1, false, qb.data()); }, &code);
  EXPECT_EQ(code, ErrorCode::kInvalidArgument);
  EXPECT_NE(message.find("bilateral_xy_std"), std::string::npos) << message;
  CrfParams tiny_smoothness;
  tiny_smoothness.gaussian_xy_std = 0.01f;
  EXPECT_NO_THROW(crf.infer(big.view(), pb.data(), 2, tiny_smoothness, 1, false, qb.data()));
}

TEST(Crf, CudaWithoutAGpuIsADeviceError) {
  std::string why;
  if (cuda_device_available(&why)) GTEST_SKIP() << "a GPU is present";
  ErrorCode code{};
  const std::string message = error_message([] { DenseCrf crf(Device::kCuda); }, &code);
  EXPECT_EQ(code, ErrorCode::kDevice) << message;
  EXPECT_NE(message.find("CUDA"), std::string::npos) << message;
  std::printf("[crf] Device::kCuda without a GPU: %s\n", message.c_str());
  EXPECT_EQ(DenseCrf(Device::kAuto).device(), Device::kCpu);
}
