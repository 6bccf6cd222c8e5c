// The CUDA CRF's kernels run on the CPU: every step of cuda/crf/lattice_steps.h and
// cuda/crf/mean_field_steps.h called for every thread index, the CUB scan and sort replaced by
// std::exclusive_scan and std::stable_sort, and the update's warp shuffles by the same butterfly
// on an array. The hash-table steps run over the entries in a shuffled order, standing for any
// interleaving of the GPU's threads. The host tests compare this with the CPU CRF; the GPU tests
// compare the GPU with this (bit for bit: both round every operation the same way).
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

#include "crf/gaussian_blur.h"
#include "cuda/crf/crf_plan.h"
#include "cuda/crf/gaussian_blur_steps.h"
#include "cuda/crf/lattice_steps.h"
#include "cuda/crf/mean_field_steps.h"
#include "deeplab/crf.h"
#include "deeplab/error.h"

namespace deeplab::test {

template <class T>
using HostVector = std::vector<T>;  // LatticeBuffers takes a one-parameter template

class EmulatedLattice {
 public:
  // Builds the lattice and the normalisation as cuda/crf/cuda_lattice.cpp does. race_seed != 0
  // shuffles the order of the insert and claim steps (0: entry order).
  // The kernel's normalisation (cuda::LatticeView::symmetric), for the next build.
  void set_symmetric(bool symmetric) { symmetric_ = symmetric; }

  template <typename Features>
  void build(const Features& features, int points, unsigned race_seed = 0) {
    build_dim<Features::kDim>(features, points, race_seed);
  }

  // Splats in * point_scale (point_scale null = 1, in null = ones) and blurs; returns the rows
  // ((vertices + 1) x stride), valid until the next call.
  const float* splat_blur(const float* in, int stride, const float* point_scale);
  // CudaLattice::splat_blur: scaled by the normalisation when it is symmetric.
  const float* splat_blur(const float* in, int stride) {
    return splat_blur(in, stride, view_.symmetric ? view_.norm : nullptr);
  }

  cuda::KernelSlice slice(const float* blurred, float weight) const;
  const cuda::LatticeView& view() const { return view_; }
  int vertices() const { return view_.vertices; }
  int worst_coordinate() const { return buffers_.counters[cuda::kCounterWorstCoordinate]; }

  template <int D, typename Features>
  void build_dim(const Features& features, int points, unsigned race_seed);

 private:
  void point_view();
  void number(unsigned race_seed);
  template <int D>
  void lists_and_neighbours();
  template <int D>
  void splat_blur_dim(const float* in, int stride, const float* point_scale);
  template <int D>
  void normalise();

  bool symmetric_ = true;
  cuda::LatticeSizes sizes_;
  cuda::LatticeView view_;
  cuda::LatticeBuffers<HostVector> buffers_;
  std::vector<float> rows_, other_;
};

// CudaCrf::infer_device on the CPU (no option checks, no cache of the smoothness kernel's taps).
class EmulatedCrf {
 public:
  // symmetric: the bilateral kernel's normalisation (CudaCrf's, which follows the CPU backend's);
  // the smoothness kernel is row-normalised either way (crf/gaussian_blur.h).
  explicit EmulatedCrf(bool symmetric) : symmetric_(symmetric) {}

  void infer(const CrfImage& image, const float* probabilities, int num_classes, const CrfParams& params,
             int iterations, bool warm_start, float* q, float position_scale = 1.0f, unsigned race_seed = 0);

  const crf::GaussianBlur& gaussian() const { return gaussian_; }
  const EmulatedLattice& bilateral() const { return bilateral_; }

 private:
  void update(const cuda::MeanFieldView& v);

  bool symmetric_;
  crf::GaussianBlur gaussian_;
  EmulatedLattice bilateral_;
  std::vector<float> unary_, gaussian_cols_;
};

// ---- templates -------------------------------------------------------------------------------------

template <int D, typename Features>
void EmulatedLattice::build_dim(const Features& features, int points, unsigned race_seed) {
  sizes_ = cuda::lattice_sizes(points, D);
  const std::size_t entries = static_cast<std::size_t>(sizes_.entries);
  buffers_.base.assign(points, {});
  buffers_.ranks.assign(points, 0);
  buffers_.norm.assign(points, 0.0f);
  buffers_.weights.assign(entries, 0.0f);
  for (std::vector<int>* b : {&buffers_.entry_slot, &buffers_.entry_flag, &buffers_.entry_first, &buffers_.offsets,
                              &buffers_.splat_entry, &buffers_.vertex_owner})
    b->assign(entries, 0);
  buffers_.slots.assign(static_cast<std::size_t>(sizes_.table_slots), -1);
  buffers_.counters.assign(cuda::kCounterCount, 0);
  view_.vertices = 0;
  view_.symmetric = symmetric_;
  point_view();
  for (int i = 0; i < points; ++i) cuda::embed_step<D, cuda::SequentialAtomics>(view_, features, i);
  std::vector<int> order(entries);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(race_seed);
  if (race_seed) std::shuffle(order.begin(), order.end(), rng);
  for (int e : order) cuda::insert_step<D, cuda::SequentialAtomics>(view_, e);
  if (race_seed) std::shuffle(order.begin(), order.end(), rng);
  for (int e : order) cuda::claim_step<cuda::SequentialAtomics>(view_, e);
  number(race_seed);
  lists_and_neighbours<D>();
  normalise<D>();
}

template <int D>
void EmulatedLattice::lists_and_neighbours() {
  const int m = view_.vertices;
  buffers_.starts.assign(static_cast<std::size_t>(m) + 1, 0);
  buffers_.neighbours.assign(static_cast<std::size_t>(D + 1) * m * 2, 0);
  // CUB's stable radix sort: the entry ids (left in entry_slot by the numbering) by vertex id,
  // the sorted ids into splat_entry and the sorted vertex ids into entry_flag.
  buffers_.splat_entry = buffers_.entry_slot;
  std::stable_sort(buffers_.splat_entry.begin(), buffers_.splat_entry.end(),
                   [&](int a, int b) { return buffers_.offsets[a] < buffers_.offsets[b]; });
  for (std::size_t p = 0; p < buffers_.splat_entry.size(); ++p)
    buffers_.entry_flag[p] = buffers_.offsets[buffers_.splat_entry[p]];
  point_view();
  for (int p = 0; p < view_.entries; ++p) cuda::starts_step(view_, p);
  for (std::int64_t t = 0; t < static_cast<std::int64_t>(m) * (D + 1); ++t) cuda::neighbours_step<D>(view_, t);
}

template <int D>
void EmulatedLattice::splat_blur_dim(const float* in, int stride, const float* point_scale) {
  const std::size_t values = static_cast<std::size_t>(view_.vertices) * stride;
  rows_.assign(values + stride, 0.0f);  // row m: zero
  other_.assign(values + stride, 0.0f);
  for (std::size_t idx = 0; idx < values; ++idx) cuda::splat_step<D>(view_, in, stride, point_scale, rows_.data(), idx);
  for (int j = 0; j <= D; ++j) {
    for (std::size_t idx = 0; idx < values; ++idx) cuda::blur_step(view_, j, rows_.data(), other_.data(), stride, idx);
    rows_.swap(other_);
  }
}

template <int D>
void EmulatedLattice::normalise() {
  splat_blur_dim<D>(nullptr, 1, nullptr);
  for (int i = 0; i < view_.points; ++i) cuda::norm_step<D>(view_, rows_.data(), i);
}

}  // namespace deeplab::test
