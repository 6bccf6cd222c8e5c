// Class probabilities for the CRF tests: per pixel a noisy softmax that favours the pixel's true
// class, or (for a fraction `wrong_share` of the pixels) a random wrong one, as a network's output
// with errors the CRF should clean up. One copy for the unit tests and the CUDA emulation cases.
#pragma once

#include <cmath>
#include <random>
#include <vector>

namespace deeplab::test {

// W x H x classes floats, pixel-major; truth(x, y) is the class pixel (x, y) should get.
template <class Truth>
std::vector<float> noisy_class_probabilities(int w, int h, int classes, unsigned seed, float wrong_share,
                                             Truth truth) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  std::vector<float> p(static_cast<std::size_t>(w) * h * classes);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int favoured = uni(rng) < wrong_share ? static_cast<int>(rng() % classes) : truth(x, y);
      float* pi = p.data() + (static_cast<std::size_t>(y) * w + x) * classes;
      float sum = 0;
      for (int k = 0; k < classes; ++k) {
        pi[k] = std::exp(0.8f * noise(rng) + (k == favoured ? 1.5f : 0.0f));
        sum += pi[k];
      }
      for (int k = 0; k < classes; ++k) pi[k] /= sum;
    }
  return p;
}

}  // namespace deeplab::test
