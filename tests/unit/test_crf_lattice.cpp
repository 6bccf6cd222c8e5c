// The permutohedral-lattice dense CRF against a brute-force reference: exact Gaussian sums over
// all pixel pairs (O(N^2), double precision) with the same normalisation and mean field, on tiny
// images with structure. The lattice approximates the Gaussian (its effective kernel is a
// piecewise-linear, slightly anisotropic bump with about the same width), so the two differ by
// that approximation, not by float rounding; the bounds below are the measured differences with
// margin (docs/crf.md, "Accuracy of the lattice").
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <opencv2/imgproc.hpp>
#include <random>
#include <vector>

#include "crf/crf_kernel.h"
#include "crf/fast_exp.h"
#include "crf/gaussian_blur.h"
#include "crf/permutohedral.h"
#include "deeplab/crf.h"
#include "noisy_probabilities.h"
#include "stills.h"

using namespace deeplab;

namespace {

// A W x H RGB image with structure: a bright disc and a dark vertical band on a mid-grey
// gradient, plus noise.
std::vector<std::uint8_t> structured_image(int w, int h, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 6.0f);
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float base[3] = {90.0f + 40.0f * x / w, 110.0f, 130.0f - 30.0f * y / h};
      const float dx = x - 0.65f * w, dy = y - 0.45f * h;
      if (dx * dx + dy * dy < 0.09f * w * h) base[0] = 230, base[1] = 200, base[2] = 60;
      if (x >= w / 5 && x < w / 5 + std::max(2, w / 6)) base[0] = 30, base[1] = 40, base[2] = 150;
      for (int c = 0; c < 3; ++c)
        rgb[(static_cast<std::size_t>(y) * w + x) * 3 + c] =
            static_cast<std::uint8_t>(std::clamp(base[c] + noise(rng), 0.0f, 255.0f));
    }
  return rgb;
}

// Region of each pixel in structured_image: 0 background, 1 disc, 2 band.
int region(int w, int h, int x, int y) {
  const float dx = x - 0.65f * w, dy = y - 0.45f * h;
  if (x >= w / 5 && x < w / 5 + std::max(2, w / 6)) return 2;
  return dx * dx + dy * dy < 0.09f * w * h ? 1 : 0;
}

// Noisy softmax probabilities that mostly favour each pixel's region (class = region % classes),
// with a fraction of pixels favouring a random wrong class.
std::vector<float> noisy_probabilities(int w, int h, int classes, unsigned seed, float wrong_share = 0.2f) {
  return test::noisy_class_probabilities(w, h, classes, seed, wrong_share,
                                         [&](int x, int y) { return region(w, h, x, y) % classes; });
}

// ---- brute force --------------------------------------------------------------------------------

using crf::KernelNormalisation;

struct ExactKernel {
  int n = 0;
  KernelNormalisation normalisation;
  std::vector<double> k;     // n x n: exp(-|f_i - f_j|^2 / 2), self included
  std::vector<double> norm;  // 1 / sum_j k_ij (row) or 1 / sqrt(sum_j k_ij) (symmetric)

  ExactKernel(const std::vector<float>& f, int points, int dim,
              KernelNormalisation normalisation_ = KernelNormalisation::kRow)
      : n(points), normalisation(normalisation_), k(static_cast<std::size_t>(points) * points), norm(points) {
    for (int i = 0; i < n; ++i) {
      double sum = 0;
      for (int j = 0; j < n; ++j) {
        double d2 = 0;
        for (int c = 0; c < dim; ++c) {
          const double diff = static_cast<double>(f[i * dim + c]) - f[j * dim + c];
          d2 += diff * diff;
        }
        sum += k[static_cast<std::size_t>(i) * n + j] = std::exp(-0.5 * d2);
      }
      norm[i] = normalisation == KernelNormalisation::kRow ? 1.0 / sum : 1.0 / std::sqrt(sum);
    }
  }

  // out_i = n_i sum_j k_ij q_j (row) or n_i sum_j k_ij n_j q_j (symmetric)
  std::vector<double> filter(const std::vector<double>& q, int classes) const {
    std::vector<double> out(q.size(), 0.0);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        const double w = norm[i] * k[static_cast<std::size_t>(i) * n + j] *
                         (normalisation == KernelNormalisation::kRow ? 1.0 : norm[j]);
        for (int c = 0; c < classes; ++c) out[i * classes + c] += w * q[j * classes + c];
      }
    return out;
  }
};

struct CrfCase {
  int w, h, classes;
  CrfParams params;
  const char* name;
};

std::vector<float> features_gaussian(int w, int h, float std) {
  std::vector<float> f(static_cast<std::size_t>(w) * h * 2);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      f[(y * w + x) * 2] = x / std;
      f[(y * w + x) * 2 + 1] = y / std;
    }
  return f;
}

std::vector<float> features_bilateral(const std::vector<std::uint8_t>& rgb, int w, int h, float xy, float col) {
  std::vector<float> f(static_cast<std::size_t>(w) * h * 5);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float* o = f.data() + (y * w + x) * 5;
      o[0] = x / xy;
      o[1] = y / xy;
      for (int c = 0; c < 3; ++c) o[2 + c] = rgb[(y * w + x) * 3 + c] / col;
    }
  return f;
}

// Mean field as DenseCrf defines it (crf_cpu.cpp), in double, with any pair of kernel filters.
template <class FilterG, class FilterB>
std::vector<double> reference_mean_field(FilterG&& filter_g, FilterB&& filter_b, int n, const std::vector<float>& p,
                                         int classes, const CrfParams& params, int iterations) {
  std::vector<double> u(p.size()), q(p.size());
  for (int i = 0; i < n; ++i) {
    double sum = 0;
    // exp(-T U) with U = -log(max(p, 1e-8)); the per-pixel factor cancels in the normalisation.
    for (int c = 0; c < classes; ++c)
      sum += u[i * classes + c] = std::pow(static_cast<double>(std::max(p[i * classes + c], 1e-8f)), params.unary_temperature);
    for (int c = 0; c < classes; ++c) q[i * classes + c] = u[i * classes + c] / sum;
  }
  for (int it = 0; it < iterations; ++it) {
    const std::vector<double> mg = filter_g(q), mb = filter_b(q);
    for (int i = 0; i < n; ++i) {
      double m[16], peak = -1e300, sum = 0;
      for (int c = 0; c < classes; ++c) {
        m[c] = params.gaussian_weight * mg[i * classes + c] + params.bilateral_weight * mb[i * classes + c];
        peak = std::max(peak, m[c]);
      }
      for (int c = 0; c < classes; ++c) sum += m[c] = u[i * classes + c] * std::exp(m[c] - peak);
      for (int c = 0; c < classes; ++c) q[i * classes + c] = m[c] / sum;
    }
  }
  return q;
}

int argmax(const float* v, int n) { return static_cast<int>(std::max_element(v, v + n) - v); }
int argmax(const double* v, int n) { return static_cast<int>(std::max_element(v, v + n) - v); }

// The lattice's own filter (float, classes padded to 8 lanes) as a double -> double function.
struct LatticeFilter {
  crf::CrfKernel kernel;
  int n, classes;
  LatticeFilter(const std::vector<float>& f, int points, int dim, int c,
                KernelNormalisation normalisation = KernelNormalisation::kRow)
      : kernel(normalisation), n(points), classes(c) {
    kernel.build(f.data(), points, dim, 1);
  }
  std::vector<double> operator()(const std::vector<double>& q) {
    std::vector<float> in(static_cast<std::size_t>(n) * 8, 0.0f), out(in.size());
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < classes; ++c) in[i * 8 + c] = static_cast<float>(q[i * classes + c]);
    kernel.filter(in.data(), 8, out.data());
    std::vector<double> r(q.size());
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < classes; ++c) r[i * classes + c] = out[i * 8 + c];
    return r;
  }
};

}  // namespace

// Every point is the barycentric combination of its simplex's d+1 vertices, in the elevated
// (d+1)-dim space (Adams et al.'s E: elevated_j = sum_{i>=j} s_i f_i - j s_{j-1} f_{j-1}), with
// weights >= 0 summing to 1: the embedding, rounding, ranking and vertex keys are right.
TEST(CrfLattice, PointsAreBarycentricCombinationsOfTheirSimplex) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uni(0.0f, 30.0f);
  for (int d : {1, 2, 3, 5, 7}) {
    const int n = 500;
    std::vector<float> f(static_cast<std::size_t>(n) * d);
    for (float& v : f) v = uni(rng);
    crf::PermutohedralLattice lattice;
    lattice.build(f.data(), n, d, 1);
    double scale[crf::kMaxLatticeDim];
    for (int i = 0; i < d; ++i) scale[i] = std::sqrt(2.0 / 3.0) * (d + 1) / std::sqrt((i + 1.0) * (i + 2.0));
    double worst = 0, min_weight = 1, worst_sum = 0;
    for (int p = 0; p < n; ++p) {
      double elevated[crf::kMaxLatticeDim + 1], rebuilt[crf::kMaxLatticeDim + 1] = {}, sum = 0;
      for (int j = 0; j <= d; ++j) {
        elevated[j] = j ? -j * f[p * d + j - 1] * scale[j - 1] : 0.0;
        for (int i = j; i < d; ++i) elevated[j] += f[p * d + i] * scale[i];
      }
      for (int r = 0; r <= d; ++r) {
        int key[crf::kMaxLatticeDim];
        lattice.vertex_coordinates(lattice.point_vertices(p)[r], key);
        const double w = lattice.point_weights(p)[r];
        int last = 0;
        for (int i = 0; i < d; ++i) rebuilt[i] += w * key[i], last -= key[i];
        rebuilt[d] += w * last;
        sum += w;
        min_weight = std::min(min_weight, w);
      }
      for (int j = 0; j <= d; ++j) worst = std::max(worst, std::fabs(rebuilt[j] - elevated[j]));
      worst_sum = std::max(worst_sum, std::fabs(sum - 1.0));
    }
    std::printf("[crf] lattice d=%d: %d vertices for %d points; |point - sum w v| max %.1e, min weight %.1e\n", d,
                lattice.vertices(), n, worst, min_weight);
    EXPECT_LT(worst, 1e-4) << "d=" << d;  // float rounding of coordinates up to ~500
    EXPECT_GE(min_weight, -1e-6) << "d=" << d;
    EXPECT_LT(worst_sum, 1e-5) << "d=" << d;
  }
}

// The embedding runs 8 points at a time in vector code and the last n % 8 one by one: a point
// must get the same simplex and weights either way (bit for bit). Shifting the points by one
// moves every point between a block lane and, for some, the scalar tail.
TEST(CrfLattice, EmbeddingIsTheSameInVectorBlocksAndOneByOne) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uni(0.0f, 40.0f);
  for (int d : {1, 2, 3, 5, 7}) {
    const int n = 8 * 37 + 5;
    std::vector<float> f(static_cast<std::size_t>(n + 1) * d);
    for (float& v : f) v = uni(rng);
    crf::PermutohedralLattice whole, shifted;
    whole.build(f.data() + d, n, d, 1);  // points 1..n at positions 0..n-1
    shifted.build(f.data(), n + 1, d, 1);  // the same points at positions 1..n
    int mismatches = 0;
    for (int p = 0; p < n; ++p)
      for (int r = 0; r <= d; ++r) {
        int a[crf::kMaxLatticeDim], b[crf::kMaxLatticeDim];
        whole.vertex_coordinates(whole.point_vertices(p)[r], a);
        shifted.vertex_coordinates(shifted.point_vertices(p + 1)[r], b);
        const bool same_key = std::equal(a, a + d, b);
        const bool same_weight = whole.point_weights(p)[r] == shifted.point_weights(p + 1)[r];
        mismatches += !same_key || !same_weight;
      }
    EXPECT_EQ(mismatches, 0) << "d=" << d;
  }
}

// The blur's neighbour table is looked up from one side only and mirrored: against a brute-force
// search over all vertex pairs, every vertex's neighbour on both sides of every direction is
// exactly the vertex at key +- u_j, or none when there is no such vertex.
TEST(CrfLattice, NeighboursAreExactlyTheVerticesOneStepAway) {
  const int w = 19, h = 13;
  const auto rgb = structured_image(w, h, 5);
  for (int d : {2, 5}) {
    const auto f = d == 2 ? features_gaussian(w, h, 3.0f) : features_bilateral(rgb, w, h, 6.0f, 12.0f);
    crf::PermutohedralLattice lattice;
    lattice.build(f.data(), w * h, d, 2, w);
    const int m = lattice.vertices();
    std::vector<std::vector<int>> keys(m, std::vector<int>(d));
    for (int v = 0; v < m; ++v) lattice.vertex_coordinates(v, keys[v].data());
    int wrong = 0, links = 0;
    for (int v = 0; v < m; ++v)
      for (int j = 0; j <= d; ++j)
        for (int side = 0; side < 2; ++side) {
          std::vector<int> want(keys[v]);
          for (int k = 0; k < d; ++k) want[k] += (side == 0 ? 1 : -1) * (k == j ? d : -1);
          const int expected = static_cast<int>(std::find(keys.begin(), keys.end(), want) - keys.begin());
          wrong += lattice.neighbour(j, v, side) != expected;
          links += expected < m;
        }
    std::printf("[crf] d=%d: %d vertices, %d neighbour links\n", d, m, links);
    EXPECT_EQ(wrong, 0) << "d=" << d;
    EXPECT_GT(links, m) << "d=" << d;  // not a lattice of isolated vertices
  }
}

// Symmetric normalisation: splat and slice are each other's transpose and each direction's blur is a
// symmetric matrix, but
// on a sparse lattice the d+1 blurs do not commute, so K is only nearly symmetric (densecrf
// blurs in reverse order for K^T). The asymmetry <a, K b> - <K a, b> measured 0.7% here; a
// mismatch between splat and slice weights would show as far more.
TEST(CrfLattice, FilterIsNearlySymmetric) {
  const int w = 23, h = 17, n = w * h, stride = 8;
  const auto rgb = structured_image(w, h, 4);
  const auto f = features_bilateral(rgb, w, h, 9.0f, 11.0f);
  crf::CrfKernel kernel(KernelNormalisation::kSymmetric);  // the row-normalised filter is not symmetric
  kernel.build(f.data(), n, 5, 2);
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  std::vector<float> a(static_cast<std::size_t>(n) * stride), b(a.size()), ka(a.size()), kb(a.size());
  for (std::size_t k = 0; k < a.size(); ++k) a[k] = uni(rng), b[k] = uni(rng);
  kernel.filter(a.data(), stride, ka.data());
  kernel.filter(b.data(), stride, kb.data());
  double worst = 0;
  for (int c = 0; c < stride; ++c) {
    double ab = 0, ba = 0;
    for (int i = 0; i < n; ++i) {
      ab += static_cast<double>(a[i * stride + c]) * kb[i * stride + c];
      ba += static_cast<double>(ka[i * stride + c]) * b[i * stride + c];
    }
    worst = std::max(worst, std::fabs(ab - ba) / std::fabs(ab));
  }
  std::printf("[crf] lattice filter asymmetry |<a,Kb> - <Ka,b>| / |<a,Kb>| <= %.2f%%\n", 100 * worst);
  EXPECT_LT(worst, 0.02);
}

// The filtered messages against exact Gaussian sums, with either normalisation. The lattice's
// kernel is an approximation: measured over 11 random images per case, the mean |difference| is
// at most 0.0064 (Gaussian) and 0.017 (bilateral), the largest single one 0.047 and 0.20
// (DeepLab's bilateral, colour std 3 on noise of std 6: its 5-D kernel is effectively ~0.8x
// narrower than the nominal Gaussian, as in densecrf); bounds with about 50% margin.
TEST(CrfLattice, FilterMatchesExactGaussianSums) {
  struct Case {
    int w, h, dim;
    float xy, col;
    const char* name;
    double row_mean, row_single, symmetric_mean, symmetric_single;  // bounds
  };
  const Case cases[] = {
      {12, 9, 2, 1.0f, 0, "gaussian std 1 (DeepLab)", 0.010, 0.075, 0.010, 0.075},
      {20, 15, 2, 3.0f, 0, "gaussian std 3", 0.006, 0.04, 0.006, 0.04},
      {20, 15, 5, 67.0f, 3.0f, "bilateral 67/3 (DeepLab)", 0.026, 0.30, 0.026, 0.30},
      {20, 15, 5, 5.0f, 13.0f, "bilateral 5/13", 0.006, 0.06, 0.011, 0.12},
      {12, 9, 5, 3.0f, 20.0f, "bilateral 3/20", 0.008, 0.06, 0.012, 0.12},
  };
  for (KernelNormalisation normalisation : {KernelNormalisation::kRow, KernelNormalisation::kSymmetric})
    for (const Case& k : cases) {
      const bool row = normalisation == KernelNormalisation::kRow;
      double worst_mean = 0, worst_single = 0, norm_lo = 1e9, norm_hi = 0;
      int vertices = 0;
      for (unsigned seed = 1; seed <= 11; ++seed) {
        const int n = k.w * k.h, classes = 4;
        const auto rgb = structured_image(k.w, k.h, seed);
        const auto f = k.dim == 2 ? features_gaussian(k.w, k.h, k.xy) : features_bilateral(rgb, k.w, k.h, k.xy, k.col);
        const auto p = noisy_probabilities(k.w, k.h, classes, seed + 100);
        LatticeFilter lattice(f, n, k.dim, classes, normalisation);
        const ExactKernel exact(f, n, k.dim, normalisation);
        const std::vector<double> q(p.begin(), p.end());
        const auto got = lattice(q), ref = exact.filter(q, classes);
        double mean = 0;
        for (std::size_t e = 0; e < q.size(); ++e) {
          const double diff = std::fabs(got[e] - ref[e]);
          mean += diff / q.size();
          worst_single = std::max(worst_single, diff);
        }
        worst_mean = std::max(worst_mean, mean);
        for (int i = 0; i < n; ++i) {
          norm_lo = std::min(norm_lo, lattice.kernel.norm(i) / exact.norm[i]);
          norm_hi = std::max(norm_hi, lattice.kernel.norm(i) / exact.norm[i]);
        }
        vertices = std::max(vertices, lattice.kernel.lattice().vertices());
      }
      std::printf(
          "[crf] %-9s %-26s %dx%d: up to %d vertices; |lattice - exact| mean <= %.4f, max %.4f; "
          "lattice/exact normaliser %.2f..%.2f\n",
          row ? "row" : "symmetric", k.name, k.w, k.h, vertices, worst_mean, worst_single, norm_lo, norm_hi);
      EXPECT_LE(worst_mean, row ? k.row_mean : k.symmetric_mean) << k.name;
      EXPECT_LE(worst_single, row ? k.row_single : k.symmetric_single) << k.name;
    }
}

// Whole mean field (10 iterations) against the exact-kernel mean field. Labels near a tie between
// two classes can flip a whole region when the messages differ by the lattice's approximation,
// so the bound is on agreement averaged over 11 random images (measured >= 97.1%), with a floor
// per image (measured >= 84%), and on the mean |Q difference|.
TEST(CrfLattice, MeanFieldMatchesBruteForce) {
  CrfParams deeplab;  // the released defaults
  CrfParams local = deeplab;
  local.bilateral_xy_std = 5.0f;
  local.bilateral_rgb_std = 13.0f;
  local.gaussian_xy_std = 2.0f;
  const CrfCase setups[] = {{12, 9, 3, deeplab, "DeepLab defaults"},
                            {20, 15, 5, deeplab, "DeepLab defaults"},
                            {20, 15, 4, local, "local (5/13, 2)"},
                            {12, 9, 5, local, "local (5/13, 2)"}};
  for (const CrfCase& s : setups) {
    const int n = s.w * s.h;
    double agreement = 0, worst_agreement = 1, mean_q = 0;
    int changed = 0;
    const int seeds = 11;
    for (unsigned seed = 1; seed <= seeds; ++seed) {
      const auto rgb = structured_image(s.w, s.h, seed);
      const auto p = noisy_probabilities(s.w, s.h, s.classes, seed + 50, 0.3f);
      DenseCrf crf(Device::kCpu, 1);
      std::vector<float> q(p.size());
      crf.infer(CrfImage{rgb.data(), s.w, s.h, 3 * s.w}, p.data(), s.classes, s.params, 10, false, q.data());
      const ExactKernel g(features_gaussian(s.w, s.h, s.params.gaussian_xy_std), n, 2);
      const ExactKernel b(features_bilateral(rgb, s.w, s.h, s.params.bilateral_xy_std, s.params.bilateral_rgb_std), n,
                          5);
      const auto ref = reference_mean_field([&](const std::vector<double>& v) { return g.filter(v, s.classes); },
                                            [&](const std::vector<double>& v) { return b.filter(v, s.classes); }, n, p,
                                            s.classes, s.params, 10);
      int agree = 0;
      for (int i = 0; i < n; ++i) {
        for (int c = 0; c < s.classes; ++c)
          mean_q +=
              std::fabs(q[i * s.classes + c] - ref[i * s.classes + c]) / (static_cast<double>(n) * s.classes * seeds);
        agree += argmax(&q[i * s.classes], s.classes) == argmax(&ref[i * s.classes], s.classes);
        changed += argmax(&p[i * s.classes], s.classes) != argmax(&ref[i * s.classes], s.classes);
      }
      agreement += static_cast<double>(agree) / n / seeds;
      worst_agreement = std::min(worst_agreement, static_cast<double>(agree) / n);
    }
    std::printf(
        "[crf] mean field vs brute force, %-17s %dx%d, %d classes: labels agree %.1f%% (worst image %.1f%%), "
        "mean |dQ| %.4f; the exact CRF changed %.0f%% of the labels\n",
        s.name, s.w, s.h, s.classes, 100 * agreement, 100 * worst_agreement, mean_q, 100.0 * changed / (n * seeds));
    EXPECT_GE(agreement, 0.95) << s.name;
    EXPECT_GE(worst_agreement, 0.75) << s.name;
    EXPECT_LE(mean_q, 0.05) << s.name;
  }
}

namespace {

// 5 mean-field iterations of DenseCrf (float, `threads`) and of the double-precision reference with
// the lattice's own filters (and the smoothness kernel's blur), on the same image and probabilities.
struct SameKernelRun {
  std::vector<float> q;
  std::vector<double> ref;
};
SameKernelRun run_on_same_kernels(const std::vector<std::uint8_t>& rgb, const std::vector<float>& p, int w, int h,
                                  int classes, const CrfParams& params, int threads) {
  const int n = w * h;
  SameKernelRun r;
  r.q.resize(p.size());
  DenseCrf crf(Device::kCpu, threads);
  crf.infer(CrfImage{rgb.data(), w, h, 3 * w}, p.data(), classes, params, 5, false, r.q.data());
  // The smoothness kernel is a separable blur, not a lattice (crf/gaussian_blur.h): its own filter too.
  crf::GaussianBlur blur;
  blur.configure(w, h, params.gaussian_xy_std);
  const auto g = [&](const std::vector<double>& q) {
    std::vector<float> in(static_cast<std::size_t>(n) * 8, 0.0f), cols(in.size()), out(in.size());
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < classes; ++c) in[i * 8 + c] = static_cast<float>(q[i * classes + c]);
    blur.filter(in.data(), 8, cols.data(), out.data(), 1);
    std::vector<double> f(q.size());
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < classes; ++c) f[i * classes + c] = out[i * 8 + c];
    return f;
  };
  LatticeFilter b(features_bilateral(rgb, w, h, params.bilateral_xy_std, params.bilateral_rgb_std), n, 5, classes);
  r.ref = reference_mean_field(g, b, n, p, classes, params, 5);
  return r;
}

template <class A, class B>
double max_difference(const std::vector<A>& a, const std::vector<B>& b) {
  double worst = 0;
  for (std::size_t e = 0; e < a.size(); ++e) worst = std::max(worst, std::fabs(static_cast<double>(a[e]) - b[e]));
  return worst;
}

}  // namespace

// With the lattice's own filters in the double-precision reference, only DenseCrf's float
// arithmetic and fast exp differ: the mean-field update (weights, normalisation, unary floor,
// padding) must then agree to float precision.
TEST(CrfLattice, MeanFieldUpdateMatchesReferenceOnSameKernels) {
  CrfParams params;
  params.bilateral_xy_std = 6.0f;
  params.bilateral_rgb_std = 10.0f;
  const int w = 21, h = 16, classes = 5;
  const auto r = run_on_same_kernels(structured_image(w, h, 21), noisy_probabilities(w, h, classes, 22, 0.3f), w, h,
                                     classes, params, 2);
  const double worst = max_difference(r.q, r.ref);
  std::printf("[crf] mean field vs double-precision reference on the same lattice: Q max |diff| %.2e\n", worst);
  EXPECT_LT(worst, 1e-4);
}

namespace {

// horses.jpg (a real photograph: textures, edges, smooth sky) as W x H packed RGB.
std::vector<std::uint8_t> photo_rgb(int w, int h) {
  cv::Mat sized, rgb;
  cv::resize(test::load_still("horses.jpg"), sized, cv::Size(w, h), 0, 0, cv::INTER_AREA);
  cv::cvtColor(sized, rgb, cv::COLOR_BGR2RGB);
  return std::vector<std::uint8_t>(rgb.data, rgb.data + rgb.total() * 3);
}

// Everything a built lattice holds, for bit-for-bit comparison: per point its vertex ids and
// weights, per vertex its coordinates and neighbours.
std::vector<double> lattice_contents(const crf::PermutohedralLattice& lattice) {
  const int d = lattice.dim();
  std::vector<double> out;
  for (int i = 0; i < lattice.points(); ++i)
    for (int r = 0; r <= d; ++r) {
      out.push_back(lattice.point_vertices(i)[r]);
      out.push_back(lattice.point_weights(i)[r]);
    }
  for (int v = 0; v < lattice.vertices(); ++v) {
    int key[crf::kMaxLatticeDim];
    lattice.vertex_coordinates(v, key);
    out.insert(out.end(), key, key + d);
    for (int j = 0; j <= d; ++j) out.push_back(lattice.neighbour(j, v, 0)), out.push_back(lattice.neighbour(j, v, 1));
  }
  return out;
}

}  // namespace

// The vertex insertion runs in parallel over ranges of points and merges the ranges' tables: the
// lattice (vertex numbering included) must be the serial one for any thread count, so that the
// CRF's results do not depend on it and the CUDA lattice (which numbers as the serial build) stays
// comparable bit for bit. 200x150 points make 1 to 7 ranges.
TEST(CrfLattice, SameLatticeForAnyThreadCount) {
  const int w = 200, h = 150;
  const auto rgb = photo_rgb(w, h);
  for (int d : {2, 5}) {
    const auto f = d == 2 ? features_gaussian(w, h, 1.0f) : features_bilateral(rgb, w, h, 67.0f, 3.0f);
    crf::PermutohedralLattice serial;
    serial.build(f.data(), w * h, d, 1, w);
    const auto want = lattice_contents(serial);
    for (int threads : {2, 3, 7}) {
      crf::PermutohedralLattice parallel;
      parallel.build(f.data(), w * h, d, threads, w);
      EXPECT_EQ(parallel.vertices(), serial.vertices()) << "d=" << d << ", threads " << threads;
      EXPECT_TRUE(lattice_contents(parallel) == want) << "d=" << d << ", threads " << threads;
    }
  }
}

// The splat written as the definition, from the lattice's public accessors: each vertex sums its
// points in point order (0 + w x, then + w x), as the CUDA lattice's gather does; then the blur
// along directions 0..d. splat_blur scatters (each thread owns the vertices first used in its range
// and adds every later point's share), which must give these floats bit for bit for any thread count.
std::vector<float> gather_splat_blur(const crf::PermutohedralLattice& lattice, const std::vector<float>& in,
                                     int stride, const float* scale) {
  const int n = lattice.points(), m = lattice.vertices(), d = lattice.dim();
  std::vector<float> rows(static_cast<std::size_t>(m + 1) * stride, 0.0f);
  std::vector<char> touched(m, 0);
  for (int i = 0; i < n; ++i)  // points in order: each vertex's sum in point order
    for (int r = 0; r <= d; ++r) {
      const int v = lattice.point_vertices(i)[r];
      const float w = scale ? lattice.point_weights(i)[r] * scale[i] : lattice.point_weights(i)[r];
      for (int k = 0; k < stride; ++k) {
        float& acc = rows[static_cast<std::size_t>(v) * stride + k];
        acc = (touched[v] ? acc : 0.0f) + w * in[static_cast<std::size_t>(i) * stride + k];
      }
      touched[v] = 1;
    }
  std::vector<float> next(rows.size(), 0.0f);
  for (int j = 0; j <= d; ++j) {
    for (int v = 0; v < m; ++v)
      for (int k = 0; k < stride; ++k) {
        const float a = rows[static_cast<std::size_t>(lattice.neighbour(j, v, 0)) * stride + k];
        const float b = rows[static_cast<std::size_t>(lattice.neighbour(j, v, 1)) * stride + k];
        next[static_cast<std::size_t>(v) * stride + k] = rows[static_cast<std::size_t>(v) * stride + k] + 0.5f * (a + b);
      }
    rows.swap(next);
  }
  return rows;
}

// Every thread count gives the definition's floats, so the same floats as any other count; with a
// scale per point and without, for a stride of whole lane blocks and another.
TEST(CrfLattice, SplatBlurIsTheSameForAnyThreadCount) {
  const int w = 200, h = 150, n = w * h;  // 30 k points: 2, 3 and 7 threads build in that many ranges
  const auto rgb = photo_rgb(w, h);
  const auto f = features_bilateral(rgb, w, h, 67.0f, 3.0f);
  for (const int stride : {24, 3}) {
    std::vector<float> in(static_cast<std::size_t>(n) * stride), scale(n);
    for (std::size_t k = 0; k < in.size(); ++k) in[k] = static_cast<float>((k * 2654435761u) % 1000) / 1000.0f;
    for (int i = 0; i < n; ++i) scale[i] = 0.5f + static_cast<float>(i % 7) / 8.0f;
    for (const int threads : {1, 2, 3, 7}) {
      crf::PermutohedralLattice lattice;
      lattice.build(f.data(), n, 5, threads, w);
      for (const int scaled : {0, 1}) {
        const float* point_scale = scaled ? scale.data() : nullptr;
        const auto want = gather_splat_blur(lattice, in, stride, point_scale);
        const float* rows = lattice.splat_blur(in.data(), stride, point_scale);
        EXPECT_EQ(std::memcmp(rows, want.data(), want.size() * sizeof(float)), 0)
            << "stride " << stride << ", threads " << threads << (scaled ? ", scaled" : "");
      }
    }
  }
}

// The dense CRF on a real photograph with 1 and 2 threads: the same marginals bit for bit (so the
// same class map), in full mode and warm-started.
TEST(CrfLattice, DenseCrfIsTheSameWithOneAndTwoThreads) {
  const int w = 240, h = 160, classes = 21;
  const auto rgb = photo_rgb(w, h);
  const CrfImage image{rgb.data(), w, h, 3 * w};
  const auto p = noisy_probabilities(w, h, classes, 21);
  std::vector<float> q1(p.size()), q2(p.size());
  DenseCrf one(Device::kCpu, 1), two(Device::kCpu, 2);
  for (const bool warm : {false, true}) {
    one.infer(image, p.data(), classes, CrfParams{}, warm ? 2 : 10, warm, q1.data());
    two.infer(image, p.data(), classes, CrfParams{}, warm ? 2 : 10, warm, q2.data());
    EXPECT_EQ(std::memcmp(q1.data(), q2.data(), q1.size() * sizeof(float)), 0) << (warm ? "warm" : "full");
  }
}

// The unary temperature (U = T x -log p) against the same reference on a tiny image: the CPU raises
// p / max p to T per pixel, which must give the same marginals; and T moves them.
TEST(CrfLattice, UnaryTemperatureMatchesReference) {
  const int w = 9, h = 7, classes = 4;
  const auto rgb = structured_image(w, h, 31);
  const auto p = noisy_probabilities(w, h, classes, 32, 0.3f);
  CrfParams params;
  params.bilateral_xy_std = 4.0f;
  params.bilateral_rgb_std = 20.0f;
  const auto untempered = run_on_same_kernels(rgb, p, w, h, classes, params, 1);
  for (float t : {0.5f, 2.0f, 3.5f}) {
    params.unary_temperature = t;
    const auto r = run_on_same_kernels(rgb, p, w, h, classes, params, 1);
    EXPECT_LT(max_difference(r.q, r.ref), 1e-4) << "T " << t;
    EXPECT_GT(max_difference(untempered.ref, r.ref), 1e-2) << "T " << t << " should change the marginals";
  }
}
