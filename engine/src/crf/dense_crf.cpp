// deeplab::DenseCrf (argument checks, then the backend), the option rules and the mode names.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "backend/registry.h"
#include "common/enum_names.h"
#include "crf/crf_backend.h"
#include "crf/permutohedral.h"
#include "deeplab/crf.h"
#include "deeplab/error.h"

namespace deeplab {

namespace {

std::string text(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

// The message is built only on failure: these checks run on every frame, which must not allocate.
template <class Message>
void require(bool ok, Message&& message) {
  if (!ok) throw Error(ErrorCode::kInvalidArgument, message());
}

void check_positive(float v, const char* name) {
  require(std::isfinite(v) && v > 0,
          [&] { return std::string(std::string("crf ") + name + " must be a finite number > 0, got " + text(v)); });
}

void check_weight(float v, const char* name) {
  require(std::isfinite(v) && v >= 0,
          [&] { return std::string(std::string("crf ") + name + " must be a finite number >= 0, got " + text(v)); });
}

constexpr int kMaxIterations = 1000;
constexpr int kMaxCrfSide = 16384;  // the largest image side DenseCrf::infer takes

void validate_params(const CrfParams& p) {
  require(p.iterations >= 1 && p.iterations <= kMaxIterations, [&] {
    return std::string("crf iterations must be in 1.." + std::to_string(kMaxIterations) + ", got " +
                       std::to_string(p.iterations));
  });
  check_weight(p.bilateral_weight, "bilateral_weight");
  check_positive(p.bilateral_xy_std, "bilateral_xy_std");
  check_positive(p.bilateral_rgb_std, "bilateral_rgb_std");
  check_weight(p.gaussian_weight, "gaussian_weight");
  check_positive(p.gaussian_xy_std, "gaussian_xy_std");
  require(std::isfinite(p.unary_temperature) && p.unary_temperature > 0 &&
              p.unary_temperature <= kMaxCrfUnaryTemperature,
          [&] {
            return std::string("crf unary_temperature must be in (0, " + text(kMaxCrfUnaryTemperature) + "], got " +
                               text(p.unary_temperature));
          });
}

void check_range(const char* option, float std_value, float position_scale, const float* max_feature, int dim,
                 int width, int height) {
  if (crf::PermutohedralLattice::max_lattice_coordinate(max_feature, dim) <= 32000.0) return;
  throw Error(ErrorCode::kInvalidArgument, std::string("crf: ") + option + " " + text(std_value) + " (working scale " +
                                               text(position_scale) + ") is too small for a " + std::to_string(width) +
                                               "x" + std::to_string(height) +
                                               " image: the permutohedral lattice's 16-bit coordinates would overflow");
}

}  // namespace

namespace crf {

void check_bilateral_range(int width, int height, const CrfParams& params, float position_scale) {
  const float xy_std = params.bilateral_xy_std * position_scale, rgb_std = params.bilateral_rgb_std;
  const float max_feature[5] = {(width - 1) / xy_std, (height - 1) / xy_std, 255 / rgb_std, 255 / rgb_std,
                                255 / rgb_std};
  check_range("bilateral_xy_std or bilateral_rgb_std", std::min(params.bilateral_xy_std, rgb_std), position_scale,
              max_feature, 5, width, height);
}

void check_lattice_ranges(int width, int height, const CrfParams& params, float position_scale) {
  require(width >= 1 && height >= 1 && width <= kMaxCrfSide && height <= kMaxCrfSide, [&] {
    return "crf: working size " + std::to_string(width) + "x" + std::to_string(height) + " is out of range 1.." +
           std::to_string(kMaxCrfSide) + " (lower the crf scale or set crf max-pixels)";
  });
  if (params.bilateral_weight > 0) check_bilateral_range(width, height, params, position_scale);
}

}  // namespace crf

constexpr EnumName<CrfMode> kCrfModeNames[] = {
    {CrfMode::kOff, "off"}, {CrfMode::kFull, "full"}, {CrfMode::kTemporal, "temporal"}};

CrfMode crf_mode_from_string(const std::string& name) {
  CrfMode mode;
  if (enum_from_name(kCrfModeNames, name, &mode)) return mode;
  throw Error(ErrorCode::kInvalidArgument, "unknown crf mode '" + name + "' (off, full or temporal)");
}

const char* crf_mode_name(CrfMode mode) { return enum_name(kCrfModeNames, mode); }

void validate_crf_options(const CrfOptions& o) {
  require(o.mode == CrfMode::kOff || o.mode == CrfMode::kFull || o.mode == CrfMode::kTemporal, [&] {
    return std::string("crf mode " + std::to_string(static_cast<int>(o.mode)) + " is not off, full or temporal");
  });
  validate_params(o.params);
  require(o.temporal_iterations >= 1 && o.temporal_iterations <= kMaxIterations, [&] {
    return std::string("crf temporal_iterations must be in 1.." + std::to_string(kMaxIterations) + ", got " +
                       std::to_string(o.temporal_iterations));
  });
  require(o.keyframe_interval >= 0, [&] {
    return std::string("crf keyframe_interval must be >= 0 (0 = never), got " + std::to_string(o.keyframe_interval));
  });
  require(std::isfinite(o.scale) && o.scale > 0 && o.scale <= 1,
          [&] { return std::string("crf scale must be in (0, 1], got " + text(o.scale)); });
  require(std::isfinite(o.scene_cut_threshold) && o.scene_cut_threshold >= 0, [&] {
    return std::string("crf scene_cut_threshold must be a finite number >= 0, got " + text(o.scene_cut_threshold));
  });
  require(o.max_pixels >= 0 && o.max_pixels <= kMaxCrfMaxPixels, [&] {
    return std::string("crf max_pixels must be in 0.." + std::to_string(kMaxCrfMaxPixels) + " (0 = no cap), got " +
                       std::to_string(o.max_pixels));
  });
}

CrfWorkingSize crf_working_size(int frame_width, int frame_height, const CrfOptions& options) {
  double scale = options.scale;
  const double pixels = static_cast<double>(frame_width) * frame_height * scale * scale;
  if (options.max_pixels > 0 && pixels > static_cast<double>(options.max_pixels))
    scale *= std::sqrt(static_cast<double>(options.max_pixels) / pixels);
  CrfWorkingSize size;
  size.width = std::max(1, static_cast<int>(std::lround(frame_width * scale)));
  size.height = std::max(1, static_cast<int>(std::lround(frame_height * scale)));
  // Rounding may overshoot the cap by a row or column: shrink until it fits.
  while (options.max_pixels > 0 && static_cast<std::int64_t>(size.width) * size.height > options.max_pixels &&
         (size.width > 1 || size.height > 1)) {
    scale *= 0.999;
    size.width = std::max(1, static_cast<int>(std::lround(frame_width * scale)));
    size.height = std::max(1, static_cast<int>(std::lround(frame_height * scale)));
  }
  size.position_scale = static_cast<float>(scale);
  return size;
}

// ---------------------------------------------------------------------------------------------

class DenseCrf::Impl {
 public:
  Impl(Device device, int threads) : backend(crf::make_crf_backend(device, threads)) {}
  std::unique_ptr<crf::CrfBackend> backend;
};

DenseCrf::DenseCrf(Device device, int threads) : impl_(std::make_unique<Impl>(device, threads)) {}
DenseCrf::~DenseCrf() = default;
DenseCrf::DenseCrf(DenseCrf&&) noexcept = default;
DenseCrf& DenseCrf::operator=(DenseCrf&&) noexcept = default;

Device DenseCrf::device() const { return impl_->backend->device(); }

void DenseCrf::infer(const CrfImage& image, const float* probabilities, int num_classes, const CrfParams& params,
                     int iterations, bool warm_start, float* q, float position_scale) {
  crf::validate_infer_arguments("DenseCrf::infer", image, probabilities, num_classes, params, iterations, q,
                                position_scale);
  impl_->backend->infer(image, probabilities, num_classes, params, iterations, warm_start, q, position_scale, 0.0f);
}

namespace crf {

void validate_infer_arguments(const char* who, const CrfImage& image, const float* probabilities, int num_classes,
                              const CrfParams& params, int iterations, const float* q, float position_scale) {
  validate_crf_input(image, probabilities, num_classes, who);
  require(q != nullptr, [&] { return std::string(who) + ": q (the output) is null"; });
  require(iterations >= 0 && iterations <= kMaxIterations, [&] {
    return std::string(who) + ": iterations must be in 0.." + std::to_string(kMaxIterations) + ", got " +
           std::to_string(iterations);
  });
  require(std::isfinite(position_scale) && position_scale > 0, [&] {
    return std::string(who) + ": position_scale must be a finite number > 0, got " + text(position_scale);
  });
  validate_params(params);
}

void validate_crf_input(const CrfImage& image, const float* probabilities, int num_classes, const char* who) {
  const auto w = [who] { return std::string(who); };
  require(image.rgb != nullptr, [&] { return std::string(w() + ": the image has no pixels (null rgb)"); });
  require(image.width >= 1 && image.height >= 1 && image.width <= kMaxCrfSide && image.height <= kMaxCrfSide, [&] {
    return std::string(w() + ": image size " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                       " is out of range 1.." + std::to_string(kMaxCrfSide));
  });
  require(image.stride >= 3 * image.width, [&] {
    return std::string(w() + ": image stride " + std::to_string(image.stride) + " is less than 3 x width " +
                       std::to_string(image.width));
  });
  require(probabilities != nullptr, [&] { return std::string(w() + ": probabilities is null"); });
  require(num_classes >= 1 && num_classes <= 256, [&] {
    return std::string(w() + ": num_classes " + std::to_string(num_classes) + " is out of range 1..256");
  });
}

std::unique_ptr<CrfBackend> make_crf_backend(Device device, int threads) {
  if (device == Device::kCpu) return make_cpu_crf_backend(threads);
  const BackendEntry* cuda = backend_registry().find(Device::kCuda);
  if (!cuda || !cuda->make_crf) {
    if (device == Device::kCuda)
      throw Error(ErrorCode::kDevice, "DenseCrf: the CUDA CRF is not built/available in this build (use Device::kCpu)");
    return make_cpu_crf_backend(threads);
  }
  if (device == Device::kCuda) return cuda->make_crf(threads);
  try {
    return cuda->make_crf(threads);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kDevice) throw;
    return make_cpu_crf_backend(threads);
  }
}

}  // namespace crf

}  // namespace deeplab
