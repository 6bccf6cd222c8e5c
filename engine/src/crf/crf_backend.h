// The seam between deeplab::DenseCrf (public API, crf.h) and the device that runs the mean field.
//
// DenseCrf owns one CrfBackend, made by make_crf_backend(). The CPU backend (crf_cpu.cpp) is always
// built. A CUDA backend plugs in here: it implements CrfBackend, defines make_cuda_crf_backend()
// in the CUDA library and compiles the engine with DEEPLAB_HAVE_CUDA_CRF=1; until then
// Device::kCuda throws Error(kDevice) and kAuto means the CPU. The algorithm a backend must
// compute, constant for constant, is written out in docs/crf.md.
#pragma once

#include <memory>

#include "deeplab/crf.h"

namespace deeplab::crf {

class CrfBackend {
 public:
  virtual ~CrfBackend() = default;
  // DenseCrf::infer's contract (crf.h): arguments already validated by DenseCrf; `q` and
  // `probabilities` are host pointers, pixel-major.
  virtual void infer(const CrfImage& image, const float* probabilities, int num_classes, const CrfParams& params,
                     int iterations, bool warm_start, float* q, float position_scale) = 0;
  virtual Device device() const = 0;
};

// Throws Error(kInvalidArgument), prefixed with `who`, for a null or malformed image, null
// probabilities or a class count outside 1..256.
void validate_crf_input(const CrfImage& image, const float* probabilities, int num_classes, const char* who);

// The lattice keys are int16: a positional std far below a pixel on a large image overflows them.
// Each throws Error(kInvalidArgument) naming the option; both backends call them before building
// a lattice, and the Segmenter's CRF stages before sizing any buffer (check_lattice_ranges: the
// kernels whose weight is > 0), so that a size the CRF cannot take fails before gigabytes are
// allocated for it.
void check_gaussian_range(int width, int height, float gaussian_xy_std, float position_scale);
void check_bilateral_range(int width, int height, const CrfParams& params, float position_scale);
void check_lattice_ranges(int width, int height, const CrfParams& params, float position_scale);

std::unique_ptr<CrfBackend> make_cpu_crf_backend(int threads);
#if defined(DEEPLAB_HAVE_CUDA_CRF)
std::unique_ptr<CrfBackend> make_cuda_crf_backend(int threads);
#endif

// kCpu -> CPU; kCuda -> the CUDA backend, or Error(kDevice) when it is not built or no GPU is
// usable; kAuto -> CUDA when available, else the CPU.
std::unique_ptr<CrfBackend> make_crf_backend(Device device, int threads);

}  // namespace deeplab::crf
