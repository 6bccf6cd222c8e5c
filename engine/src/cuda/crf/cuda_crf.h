// The dense CRF's mean field on the GPU: the CPU backend's algorithm (crf/crf_cpu.cpp, docs/crf.md)
// with every step on the device — lattice builds (cuda/crf/cuda_lattice.h), splat / blur / slice,
// normalisation and the per-pixel update — on one stream. deeplab::DenseCrf(Device::kCuda) runs it
// through crf/crf_backend.h; a GPU pipeline can call infer_device() with device pointers.
//
// Buffers are DeviceBuffers kept between calls: after the first call at a given size and class
// count nothing is allocated (the bilateral lattice is sized for the worst case). The bilateral
// lattice's build waits for the stream once, to read back its vertex count. The smoothness kernel
// is crf/gaussian_blur.h's exact separable Gaussian (cuda/crf/gaussian_blur_steps.h): no lattice;
// its taps and normalisation are uploaded only when the size or its standard deviation changes.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "crf/gaussian_blur.h"
#include "cuda/crf/cuda_lattice.h"
#include "cuda/crf/gaussian_blur_steps.h"
#include "cuda/cuda_resources.h"
#include "deeplab/crf.h"

namespace deeplab::cuda {

class CudaCrf {
 public:
  CudaCrf() = default;  // creates its stream: throws Error(kDevice) without a usable GPU

  // DenseCrf::infer's contract (deeplab/crf.h) with host pointers: copies the image, the
  // probabilities (and a warm-start Q) in, runs on stream(), copies Q out and waits for it.
  void infer(const CrfImage& image, const float* probabilities, int num_classes, const CrfParams& params,
             int iterations, bool warm_start, float* q, float position_scale = 1.0f);

  // The same with device pointers: image.rgb (image.stride bytes per row), probabilities and q
  // (height * width * num_classes floats, pixel-major; q holds the start with warm_start, and the
  // result) in device memory; enqueued on `stream`, which is synchronised once per lattice build.
  // `probabilities` may be read after return until the stream's work is done. Calls on different
  // streams are ordered (each waits for the previous call's work).
  void infer_device(const CrfImage& image, const float* probabilities, int num_classes, const CrfParams& params,
                    int iterations, bool warm_start, float* q, float position_scale, cudaStream_t stream);

  cudaStream_t stream() const { return stream_.get(); }
  // Device memory held, in bytes.
  std::size_t device_bytes() const;
  // The bilateral lattice and the smoothness kernel's blur of the last call (for the tests).
  const CudaLattice& bilateral_lattice() const { return bilateral_; }
  const crf::GaussianBlur& gaussian_blur() const { return gaussian_; }

 private:
  void enqueue(const CrfImage& image, const float* probabilities, int num_classes, const CrfParams& params,
               int iterations, bool warm_start, float* q, float position_scale, cudaStream_t stream);
  void configure_gaussian(int width, int height, int classes, const CrfParams& params, float position_scale,
                          cudaStream_t stream);
  BlurSlice gaussian_slice(int classes, float weight);
  void build_bilateral(const CrfImage& image, const CrfParams& params, float position_scale, cudaStream_t stream);

  Stream stream_;
  Event done_;  // recorded after each call's work, waited for by the next call's stream
  CudaLattice bilateral_{true};  // depends on the image: built every call, sized for the worst case
  crf::GaussianBlur gaussian_;   // the smoothness kernel's taps and normalisation (host copies)
  DeviceBuffer<float> blur_taps_, blur_inv_x_, blur_inv_y_;  // their device copies
  DeviceBuffer<float> gaussian_cols_;  // Q's vertical pass
  DeviceBuffer<float> unary_;       // p^ (infer() uploads the probabilities into it)
  DeviceBuffer<float> q_;           // infer()'s Q
  DeviceBuffer<std::uint8_t> rgb_;  // infer()'s image, 3 * width bytes per row
};

}  // namespace deeplab::cuda
