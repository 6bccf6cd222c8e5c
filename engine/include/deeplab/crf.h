// Fully connected CRF (Krähenbühl & Koltun 2011, as used by DeepLab v1/v2) with temporal reuse.
//
//   deeplab::DenseCrf crf;                       // CPU, all cores
//   crf.infer(image, probabilities, num_classes, params, params.iterations, /*warm_start=*/false, q);
//
// Mean-field inference with Potts compatibility, a Gaussian smoothness kernel (position) and a
// bilateral appearance kernel (position + colour), filtered with the permutohedral lattice (linear
// in the pixel count per iteration). Unary = -log(network softmax probability).
//
// For video, CrfStream keeps the converged Q of the previous frame and starts the next frame's
// mean field from it, running only `temporal_iterations` passes; the first frame, a scene cut, a
// size change and every `keyframe_interval`-th frame run the full `params.iterations`. docs/crf.md
// explains the design.
//
// All arrays are pixel-major ("NHWC"): element (y, x, class) at (y * width + x) * num_classes + class.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "deeplab/device.h"

namespace deeplab {

enum class CrfMode { kOff, kFull, kTemporal };
CrfMode crf_mode_from_string(const std::string& name);  // "off" | "full" | "temporal"
const char* crf_mode_name(CrfMode mode);

// Kernel parameters: DeepLab's released defaults. Standard deviations are in pixels of the frame
// (and in 0..255 colour units); when the CRF runs at a fraction `scale` of the frame's resolution,
// the positional stds are multiplied by `scale`, so the kernels cover the same part of the scene.
struct CrfParams {
  int iterations = 10;
  float bilateral_weight = 4.0f;
  float bilateral_xy_std = 67.0f;
  float bilateral_rgb_std = 3.0f;
  float gaussian_weight = 3.0f;
  float gaussian_xy_std = 1.0f;
  // The unary is T * (-log p): T > 1 trusts the network more (the kernels move fewer labels), T < 1
  // less. 1 is DeepLab's CRF; in (0, kMaxCrfUnaryTemperature].
  float unary_temperature = 1.0f;
};
inline constexpr float kMaxCrfUnaryTemperature = 4.0f;  // (1e-8)^4 stays a normal float

// Some of CrfParams' values: a model manifest's `crf:` block, a tuned parameter file's (what
// deeplab-crf-tune writes), or the options a user gave. Absent values leave the others alone.
struct CrfParamOverrides {
  std::optional<int> iterations;
  std::optional<float> bilateral_weight;
  std::optional<float> bilateral_xy_std;
  std::optional<float> bilateral_rgb_std;
  std::optional<float> gaussian_weight;
  std::optional<float> gaussian_xy_std;
  std::optional<float> unary_temperature;

  bool empty() const;
  void apply_to(CrfParams& params) const;  // the values present, over `params`
};

// The CRF's default working-size cap: 1920x1080 pixels. At a frame's full resolution a 4K frame
// (8.3 Mpx, 21 classes) would need several GiB of CRF buffers and ~4x a 1080p frame's time on the
// CPU, an 8K one ~16x, for masks that the CRF's 67-pixel appearance kernel barely sharpens further.
inline constexpr std::int64_t kDefaultCrfMaxPixels = 1920 * 1080;
inline constexpr std::int64_t kMaxCrfMaxPixels = std::int64_t{1} << 30;

struct CrfOptions {
  CrfMode mode = CrfMode::kOff;
  CrfParams params;
  // Per-model parameters (docs/crf.md, "Per-model parameters"). With `model_params` the Segmenter
  // runs params = DeepLab's defaults, then the model manifest's `crf:` block, then `params_file`'s
  // `crf:` block, then `overrides` (what the user set: tool options, element properties, pipeline
  // keys); `params` as set here is not used. Without it, `params` as given. (DenseCrf and CrfStream
  // always take their parameters as given.)
  bool model_params = true;
  std::string params_file;       // "" = none; a YAML file with a `crf:` block
  CrfParamOverrides overrides;
  int temporal_iterations = 2;   // mean-field passes per frame after a warm start
  int keyframe_interval = 30;    // temporal mode: full iterations every N frames (0 = never)
  float scale = 1.0f;            // the CRF's working resolution as a fraction of the frame's, (0, 1]
  // The most pixels the CRF works on (0 = no cap, at most kMaxCrfMaxPixels): a frame whose
  // scale x size exceeds it runs the CRF at the largest size of the frame's shape within it, and
  // the positional stds shrink with it as they do with `scale`.
  std::int64_t max_pixels = kDefaultCrfMaxPixels;
  // Temporal mode: a frame whose mean absolute luma difference from the previous frame (on a small
  // thumbnail, 0..1 of full range) exceeds this is a scene cut and runs full iterations.
  float scene_cut_threshold = 0.15f;
};

// Throws Error(kInvalidArgument) naming the offending option.
void validate_crf_options(const CrfOptions& options);

// Reads a CRF parameter file: YAML with a `crf:` mapping of CrfParams' names (iterations,
// bilateral_weight, ..., unary_temperature), the same block a manifest may carry. A missing file
// throws Error(kNotFound), an unknown or repeated key, a wrong type or a value out of range
// Error(kInvalidArgument) "FILE:LINE:COL: crf key 'KEY': why".
CrfParamOverrides load_crf_params_file(const std::string& path);

// `options` with the parameters a Segmenter runs for a model whose manifest has `model_block`
// (the order above; `options` unchanged without model_params). Reads params_file; throws as
// load_crf_params_file, and for values that are fine alone but not together, naming the source.
CrfOptions resolve_crf_options(const CrfOptions& options, const CrfParamOverrides& model_block);

// Where the CRF runs for a frame: round(frame size x scale), reduced (same aspect) to at most
// options.max_pixels pixels; at least 1 x 1. `position_scale` multiplies the positional stds.
struct CrfWorkingSize {
  int width = 0;
  int height = 0;
  float position_scale = 1.0f;
};
CrfWorkingSize crf_working_size(int frame_width, int frame_height, const CrfOptions& options);

// An 8-bit interleaved RGB image at the CRF's working resolution.
struct CrfImage {
  const std::uint8_t* rgb = nullptr;
  int width = 0;
  int height = 0;
  int stride = 0;  // bytes per row (>= 3 * width)
};

// Stateless mean-field inference on one image. Buffers (lattice, messages) are kept between calls
// and reallocated only when the image size or class count grows.
class DenseCrf {
 public:
  explicit DenseCrf(Device device = Device::kCpu, int threads = 0);
  ~DenseCrf();
  DenseCrf(DenseCrf&&) noexcept;
  DenseCrf& operator=(DenseCrf&&) noexcept;

  // `probabilities`: height*width*num_classes softmax probabilities (each pixel sums to 1).
  // `q`: the same shape; the result. With warm_start, q holds the initial marginals on entry;
  // otherwise the mean field starts from `probabilities`. `position_scale` multiplies the
  // positional stds (the CRF's working resolution / the frame's).
  void infer(const CrfImage& image, const float* probabilities, int num_classes, const CrfParams& params,
             int iterations, bool warm_start, float* q, float position_scale = 1.0f);

  Device device() const;
  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// What CrfStream::process() did for the last frame.
struct CrfFrameReport {
  int iterations = 0;
  bool warm_started = false;
  bool scene_cut = false;
  bool keyframe = false;
  double ms = 0;
};

// Per-stream temporal state around a DenseCrf. Not thread-safe; one per stream.
class CrfStream {
 public:
  CrfStream(const CrfOptions& options, Device device = Device::kCpu, int threads = 0);
  ~CrfStream();
  CrfStream(CrfStream&&) noexcept;
  CrfStream& operator=(CrfStream&&) noexcept;

  // Runs the CRF on the next frame of the stream. Returns Q (height*width*num_classes, pixel-major),
  // valid until the next call. Full mode always runs params.iterations from the unary.
  const float* process(const CrfImage& image, const float* probabilities, int num_classes);
  // The same, with the positional stds scaled by `position_scale` instead of options().scale (the
  // image is a frame reduced by crf_working_size()).
  const float* process(const CrfImage& image, const float* probabilities, int num_classes, float position_scale);

  // The next frame starts from scratch (seek, flush, caps change). Size changes reset by themselves.
  void reset();

  const CrfOptions& options() const;
  const CrfFrameReport& last_report() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace deeplab
