// The dense CRF's mean field on the GPU: the CPU backend's algorithm (crf/crf_cpu.cpp, docs/crf.md)
// with every step on the device — lattice builds (cuda/crf/cuda_lattice.h), splat / blur / slice,
// normalisation and the per-pixel update — on one stream. deeplab::DenseCrf(Device::kCuda) runs it
// through crf/crf_backend.h; a GPU pipeline can call infer_device() with device pointers.
//
// Buffers are DeviceBuffers kept between calls: after the first call at a given size and class
// count nothing is allocated (the bilateral lattice is sized for the worst case). Each lattice
// build waits for the stream once, to read back its vertex count; the Gaussian lattice is built
// only when the size or its standard deviation changes.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cuda/crf/cuda_lattice.h"
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
  // The lattices of the last call (for the tests).
  const CudaLattice& gaussian_lattice() const { return gaussian_; }
  const CudaLattice& bilateral_lattice() const { return bilateral_; }

 private:
  void enqueue(const CrfImage& image, const float* probabilities, int num_classes, const CrfParams& params,
               int iterations, bool warm_start, float* q, float position_scale, cudaStream_t stream);
  void build_gaussian(int width, int height, float option_std, float position_scale, cudaStream_t stream);
  void build_bilateral(const CrfImage& image, const CrfParams& params, float position_scale, cudaStream_t stream);

  Stream stream_;
  Event done_;  // recorded after each call's work, waited for by the next call's stream
  CudaLattice gaussian_{false};  // positions only: built once per size and std
  CudaLattice bilateral_{true};  // depends on the image: built every call, sized for the worst case
  int gaussian_width_ = -1, gaussian_height_ = -1;
  float gaussian_std_ = 0;
  DeviceBuffer<float> unary_;       // p^ (infer() uploads the probabilities into it)
  DeviceBuffer<float> q_;           // infer()'s Q
  DeviceBuffer<std::uint8_t> rgb_;  // infer()'s image, 3 * width bytes per row
};

}  // namespace deeplab::cuda
