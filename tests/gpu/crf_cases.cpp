#include "crf_cases.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "../support/noisy_probabilities.h"  // also built into deeplab-gpu-bench, without tests/support

namespace deeplab::test {

CrfImage CrfScene::image() const {
  CrfImage i;
  i.rgb = rgb.data();
  i.width = width;
  i.height = height;
  i.stride = stride;
  return i;
}

int crf_region(int w, int h, int x, int y, int shift, int layout) {
  const int sx = x - shift;
  const float cx = layout ? 0.3f : 0.65f, cy = layout ? 0.6f : 0.45f;
  const float dx = sx - cx * w, dy = y - cy * h;
  const int band0 = layout ? w / 2 : w / 5, band_w = std::max(2, w / 6);
  if (sx >= band0 && sx < band0 + band_w) return 2;
  if (dx * dx + dy * dy < 0.09f * w * h) return 1;
  if (sx >= w / 10 && sx < w / 10 + std::max(1, w / 8) && y >= 2 * h / 3) return 3;
  if (sx >= 3 * w / 4 && y < h / 5) return 4;
  return 0;
}

CrfScene crf_scene(int w, int h, unsigned seed, int shift, int layout, float noise) {
  static const float kColours[2][5][3] = {{{0, 0, 0}, {230, 200, 60}, {30, 40, 150}, {40, 160, 70}, {200, 60, 60}},
                                          {{0, 0, 0}, {60, 90, 220}, {220, 220, 210}, {150, 40, 150}, {20, 20, 20}}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> jitter(0.0f, noise);
  std::uniform_int_distribution<int> garbage(0, 255);
  CrfScene s;
  s.width = w;
  s.height = h;
  s.stride = 3 * w + 5;  // an odd pad: rows never start aligned
  s.rgb.resize(static_cast<std::size_t>(s.stride) * h);
  for (auto& b : s.rgb) b = static_cast<std::uint8_t>(garbage(rng));
  const int l = layout ? 1 : 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int region = crf_region(w, h, x, y, shift, layout);
      const float dark = l ? 70.0f : 0.0f;  // layout 1's darker background: a cut CrfStream detects
      float base[3] = {90.0f - dark + 40.0f * (x - shift) / w, 110.0f - dark, 130.0f - dark - 30.0f * y / h};
      if (region) std::copy(kColours[l][region], kColours[l][region] + 3, base);
      std::uint8_t* px = s.rgb.data() + static_cast<std::size_t>(y) * s.stride + 3 * x;
      for (int c = 0; c < 3; ++c) px[c] = static_cast<std::uint8_t>(std::clamp(base[c] + jitter(rng), 0.0f, 255.0f));
    }
  return s;
}

std::vector<float> crf_probabilities(int w, int h, int classes, unsigned seed, int shift, int layout,
                                     float wrong_share) {
  return noisy_class_probabilities(w, h, classes, seed, wrong_share,
                                   [&](int x, int y) { return crf_region(w, h, x, y, shift, layout) * 3 % classes; });
}

CrfScene crf_sequence_scene(int width, int height, int frame) {
  return crf_scene(width, height, 90 + frame, 3 * frame, frame >= kCrfSequenceCut ? 1 : 0);
}

std::vector<float> crf_sequence_probabilities(int width, int height, int classes, int frame) {
  return crf_probabilities(width, height, classes, 100 + frame, 3 * frame, frame >= kCrfSequenceCut ? 1 : 0);
}

std::vector<int> crf_labels(const std::vector<float>& q, int classes) {
  std::vector<int> labels(q.size() / classes);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const float* qi = q.data() + i * classes;
    labels[i] = static_cast<int>(std::max_element(qi, qi + classes) - qi);
  }
  return labels;
}

std::string QComparison::describe() const {
  char text[200];
  std::snprintf(text, sizeof text, "labels agree on %zu of %zu pixels (%.4f%%), Q max |diff| %.3g%s%s", same_label,
                pixels, 100.0 * agreement(), max_abs, finite ? "" : ", NON-FINITE values",
                normalised ? "" : ", pixels not summing to 1");
  return text;
}

QComparison compare_q(const std::vector<float>& want, const std::vector<float>& got, int classes) {
  QComparison c;
  if (want.size() != got.size() || want.size() % classes) {
    c.finite = false;
    return c;
  }
  const std::vector<int> a = crf_labels(want, classes), b = crf_labels(got, classes);
  c.pixels = a.size();
  for (std::size_t i = 0; i < a.size(); ++i) {
    c.same_label += a[i] == b[i];
    double sum = 0;
    for (int k = 0; k < classes; ++k) {
      const float g = got[i * classes + k];
      if (!std::isfinite(g)) c.finite = false;
      sum += g;
      c.max_abs = std::max(c.max_abs, std::fabs(static_cast<double>(g) - want[i * classes + k]));
    }
    if (std::fabs(sum - 1.0) > 1e-4) c.normalised = false;
  }
  return c;
}

}  // namespace deeplab::test
