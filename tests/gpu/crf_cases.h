// Inputs and comparisons shared by the CUDA CRF's tests (host emulation in deeplab_cuda_host_tests,
// GPU parity in deeplab_gpu_tests) and its benchmark: synthetic scenes with structure (regions with
// edges, a colour gradient, noise) that can move from frame to frame or cut to another scene, noisy
// network-like probabilities that mostly favour each region's class, and CPU-vs-other comparisons of
// Q. Everything from fixed seeds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "deeplab/crf.h"

namespace deeplab::test {

// An RGB image with rows padded past 3 * width with garbage (the CRF must not read it).
struct CrfScene {
  int width = 0, height = 0, stride = 0;
  std::vector<std::uint8_t> rgb;
  CrfImage image() const;
};

// Regions (background gradient, a disc, a band, two boxes) shifted right by `shift` pixels, plus
// noise of standard deviation `noise`; `layout` 1 is another scene (colours and shapes moved: a cut).
CrfScene crf_scene(int width, int height, unsigned seed, int shift = 0, int layout = 0, float noise = 6.0f);

// The region (0..4) of pixel (x, y) in crf_scene(width, height, *, shift, layout).
int crf_region(int width, int height, int x, int y, int shift = 0, int layout = 0);

// Softmax probabilities, pixel-major: each pixel favours its region's class (region * 3 % classes)
// except a `wrong_share` of pixels favouring a random class, with log-normal noise.
std::vector<float> crf_probabilities(int width, int height, int classes, unsigned seed, int shift = 0, int layout = 0,
                                     float wrong_share = 0.2f);

// Per-pixel argmax of Q (first maximum wins).
std::vector<int> crf_labels(const std::vector<float>& q, int classes);

// The temporal test sequence (GPU test and its host check): 9 frames of crf_scene at width x height,
// moving 3 px a frame, cutting to layout 1 at frame 5; probabilities for `classes` classes.
inline constexpr int kCrfSequenceFrames = 9;
inline constexpr int kCrfSequenceCut = 5;
CrfScene crf_sequence_scene(int width, int height, int frame);
std::vector<float> crf_sequence_probabilities(int width, int height, int classes, int frame);

// `got` against `want` (both Q, pixel-major): the share of pixels with the same label, the largest
// |difference| of Q, whether every value is finite and every pixel sums to 1 within 1e-4.
struct QComparison {
  std::size_t pixels = 0, same_label = 0;
  double max_abs = 0;
  bool finite = true, normalised = true;
  double agreement() const { return pixels ? static_cast<double>(same_label) / pixels : 1.0; }
  std::string describe() const;
};
QComparison compare_q(const std::vector<float>& want, const std::vector<float>& got, int classes);

}  // namespace deeplab::test
