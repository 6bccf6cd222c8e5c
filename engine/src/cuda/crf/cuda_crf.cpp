#include "cuda/crf/cuda_crf.h"

#include <memory>
#include <string>

#include "backend/registry.h"
#include "crf/crf_backend.h"
#include "crf/permutohedral.h"
#include "cuda/crf/crf_stage_steps.h"
#include "cuda/crf/gaussian_blur.cuh"
#include "cuda/crf/mean_field.cuh"
#include "cuda/device_probe.h"
#include "deeplab/error.h"

namespace deeplab {

namespace cuda {

void CudaCrf::infer(const CrfImage& image, const float* probabilities, int num_classes, const CrfParams& params,
                    int iterations, bool warm_start, float* q, float position_scale) {
  crf::validate_infer_arguments("CudaCrf::infer", image, probabilities, num_classes, params, iterations, q, position_scale);
  const std::size_t row = static_cast<std::size_t>(3) * image.width;
  const std::size_t values = static_cast<std::size_t>(image.width) * image.height * num_classes;
  rgb_.reserve(row * image.height);
  unary_.reserve(values);
  q_.reserve(values);
  cudaStream_t s = stream_.get();
  DEEPLAB_CUDA_CHECK(
      cudaMemcpy2DAsync(rgb_.data(), row, image.rgb, image.stride, row, image.height, cudaMemcpyHostToDevice, s));
  unary_.upload(probabilities, values, s);  // load turns it into p^ in place
  if (warm_start) q_.upload(q, values, s);
  CrfImage device_image = image;
  device_image.rgb = rgb_.data();
  device_image.stride = static_cast<int>(row);
  infer_device(device_image, unary_.data(), num_classes, params, iterations, warm_start, q_.data(), position_scale, s);
  q_.download(q, values, s);
  stream_.synchronize();
}

void CudaCrf::infer_device(const CrfImage& image, const float* probabilities, int num_classes, const CrfParams& params,
                           int iterations, bool warm_start, float* q, float position_scale, cudaStream_t stream) {
  crf::validate_infer_arguments("CudaCrf::infer_device", image, probabilities, num_classes, params, iterations, q, position_scale);
  // The buffers and the smoothness kernel's constants are shared by every call: a call on another stream
  // than the last one's must wait for that work.
  DEEPLAB_CUDA_CHECK(cudaStreamWaitEvent(stream, done_.get(), 0));
  enqueue(image, probabilities, num_classes, params, iterations, warm_start, q, position_scale, stream);
  done_.record(stream);
}

void CudaCrf::enqueue(const CrfImage& image, const float* probabilities, int num_classes, const CrfParams& params,
                      int iterations, bool warm_start, float* q, float position_scale, cudaStream_t stream) {
  const int points = image.width * image.height;
  unary_.reserve(static_cast<std::size_t>(points) * num_classes);
  launch_mean_field_load(probabilities, unary_.data(), q, points, num_classes, warm_start, params.unary_temperature,
                         stream);
  if (iterations == 0) return;
  const bool use_gaussian = params.gaussian_weight > 0, use_bilateral = params.bilateral_weight > 0;
  bilateral_.set_symmetric(kCrfSymmetricNormalisation);
  if (use_gaussian) configure_gaussian(image.width, image.height, num_classes, params, position_scale, stream);
  if (use_bilateral) build_bilateral(image, params, position_scale, stream);
  MeanFieldView v;
  v.points = points;
  v.classes = num_classes;
  v.group = mean_field_group(num_classes);
  v.unary = unary_.data();
  v.q = q;
  if (use_gaussian) v.gaussian = gaussian_slice(num_classes, params.gaussian_weight);
  for (int it = 0; it < iterations; ++it) {
    // Both kernels filter the same Q; the update then rewrites Q in place.
    if (use_gaussian) launch_blur_columns(v.gaussian.blur, q, gaussian_cols_.data(), stream);
    if (use_bilateral)
      v.bilateral = bilateral_.slice(bilateral_.splat_blur(q, num_classes, stream), params.bilateral_weight);
    launch_mean_field_update(v, stream);
  }
}

// The separable Gaussian's taps and normalisation (computed on the host by crf::GaussianBlur, the
// CPU's own code) are uploaded when the size or std changes; the horizontal pass's buffer follows
// the size and class count.
void CudaCrf::configure_gaussian(int width, int height, int classes, const CrfParams& params, float position_scale,
                                 cudaStream_t stream) {
  const float xy_std = params.gaussian_xy_std * position_scale;
  gaussian_cols_.reserve(static_cast<std::size_t>(width) * height * classes);
  if (gaussian_.matches(width, height, xy_std)) return;
  gaussian_.configure(width, height, xy_std);
  blur_taps_.reserve(gaussian_.radius() + 1);
  blur_inv_x_.reserve(width);
  blur_inv_y_.reserve(height);
  blur_taps_.upload(gaussian_.taps(), gaussian_.radius() + 1, stream);
  blur_inv_x_.upload(gaussian_.inv_sums_x(), width, stream);
  blur_inv_y_.upload(gaussian_.inv_sums_y(), height, stream);
  // The host vectors are pageable: cudaMemcpyAsync has copied them when it returns.
}

BlurSlice CudaCrf::gaussian_slice(int classes, float weight) {
  BlurSlice s;
  s.blur.width = gaussian_.width();
  s.blur.height = gaussian_.height();
  s.blur.radius = gaussian_.radius();
  s.blur.classes = classes;
  s.blur.taps = blur_taps_.data();
  s.blur.inv_x = blur_inv_x_.data();
  s.blur.inv_y = blur_inv_y_.data();
  s.cols = gaussian_cols_.data();
  s.weight = weight;
  return s;
}

void CudaCrf::build_bilateral(const CrfImage& image, const CrfParams& params, float position_scale,
                              cudaStream_t stream) {
  const float xy_std = params.bilateral_xy_std * position_scale, rgb_std = params.bilateral_rgb_std;
  crf::check_bilateral_range(image.width, image.height, params, position_scale);
  BilateralFeatures features;
  features.rgb = image.rgb;
  features.width = image.width;
  features.stride = image.stride;
  features.inv_xy = 1.0f / xy_std;
  features.inv_rgb = 1.0f / rgb_std;
  bilateral_.build(features, image.width * image.height, stream);
}

std::size_t CudaCrf::device_bytes() const {
  return bilateral_.device_bytes() + gaussian_cols_.bytes() + blur_taps_.bytes() + blur_inv_x_.bytes() +
         blur_inv_y_.bytes() + unary_.bytes() + q_.bytes() + rgb_.bytes();
}

}  // namespace cuda

// ---- the backend seam (crf/crf_backend.h) ---------------------------------------------------------

namespace crf {
namespace {

class CudaCrfBackend final : public CrfBackend {
 public:
  void infer(const CrfImage& image, const float* probabilities, int num_classes, const CrfParams& params,
             int iterations, bool warm_start, float* q, float position_scale, float warm_blend) override {
    // On the host before the upload, as CrfStream blended before the backends did (the CUDA
    // Segmenter's CRF stage blends on the device with the same steps).
    if (warm_start && warm_blend > 0)
      for (int i = 0; i < image.width * image.height; ++i)
        cuda::warm_start_pixel(q, probabilities, num_classes, warm_blend, i);
    crf_.infer(image, probabilities, num_classes, params, iterations, warm_start, q, position_scale);
  }
  Device device() const override { return Device::kCuda; }

 private:
  cuda::CudaCrf crf_;
};

}  // namespace

// `threads` is the CPU backend's; the CUDA one runs on the GPU.
std::unique_ptr<CrfBackend> make_cuda_crf_backend(int /*threads*/) {
  std::string why;
  if (!cuda::probe_device(&why))
    throw Error(ErrorCode::kDevice, "DenseCrf: the CUDA CRF needs a CUDA GPU, and none is usable: " + why);
  return std::make_unique<CudaCrfBackend>();
}

}  // namespace crf

// The CRF needs the toolkit only; the Segmenter's pipeline (cuDNN) is added by register_backends()
// where deeplab_cuda_net is built.
BackendEntry cuda_backend_entry() {
  BackendEntry entry;
  entry.device = Device::kCuda;
  entry.name = "cuda";
  entry.probe = cuda::probe_device;
  entry.make_crf = crf::make_cuda_crf_backend;
  return entry;
}

}  // namespace deeplab
