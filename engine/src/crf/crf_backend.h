// The seam between deeplab::DenseCrf (public API, crf.h) and the device that runs the mean field.
//
// DenseCrf owns one CrfBackend, made by make_crf_backend(). The CPU backend (crf_cpu.cpp) is always
// built. A device backend plugs in here: it implements CrfBackend and its registry entry
// (backend/registry.h) names its factory; without one Device::kCuda throws Error(kDevice) and kAuto
// means the CPU. The algorithm a backend must
// compute, constant for constant, is written out in docs/crf.md.
#pragma once

#include <memory>

#include "deeplab/crf.h"

namespace deeplab::crf {

class CrfBackend {
 public:
  virtual ~CrfBackend() = default;
  // DenseCrf::infer's contract (crf.h): arguments already validated (validate_infer_arguments); `q`
  // and `probabilities` are host pointers, pixel-major. With warm_start and `warm_blend` > 0 the mean
  // field starts from normalise((1 - warm_blend) q + warm_blend max(p, 1e-8)) instead of q itself:
  // CrfStream's warm start (crf/temporal_schedule.h), done by the backend so that the CPU one can
  // blend while it loads Q instead of in a pass of its own over the frame. 0 = start from q as given.
  virtual void infer(const CrfImage& image, const float* probabilities, int num_classes, const CrfParams& params,
                     int iterations, bool warm_start, float* q, float position_scale, float warm_blend) = 0;
  virtual Device device() const = 0;
};

// Throws Error(kInvalidArgument), prefixed with `who`, for a null or malformed image, null
// probabilities or a class count outside 1..256.
void validate_crf_input(const CrfImage& image, const float* probabilities, int num_classes, const char* who);
// DenseCrf::infer's checks (crf.h), for every backend's entry points: validate_crf_input, then a null
// `q`, iterations outside 0..1000, a position_scale that is not finite and > 0, and the params'
// weights (>= 0) and standard deviations (> 0), each message naming the argument.
void validate_infer_arguments(const char* who, const CrfImage& image, const float* probabilities, int num_classes,
                              const CrfParams& params, int iterations, const float* q, float position_scale);

// The bilateral lattice's keys are int16: a positional std far below a pixel on a large image
// overflows them. check_bilateral_range throws Error(kInvalidArgument) naming the option; both
// backends call it before building the lattice. check_lattice_ranges (the Segmenter's CRF stages,
// before sizing any buffer) also refuses a working size outside 1..16384 per side (DenseCrf::infer's
// limit), so that a size the CRF cannot take fails before gigabytes are allocated for it. (The
// smoothness kernel, crf/gaussian_blur.h, has no lattice and no range to check.)
void check_bilateral_range(int width, int height, const CrfParams& params, float position_scale);
void check_lattice_ranges(int width, int height, const CrfParams& params, float position_scale);

std::unique_ptr<CrfBackend> make_cpu_crf_backend(int threads);
// In the CUDA library (cuda/crf/cuda_crf.cpp), registered through backend/registry.h.
std::unique_ptr<CrfBackend> make_cuda_crf_backend(int threads);

// kCpu -> CPU; kCuda -> the registry's CUDA CRF, or Error(kDevice) when it is not built or no GPU
// is usable; kAuto -> CUDA when available, else the CPU.
std::unique_ptr<CrfBackend> make_crf_backend(Device device, int threads);

}  // namespace deeplab::crf
