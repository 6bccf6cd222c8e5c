#include "crf/crf_stage.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

#include "crf/crf_backend.h"
#include "crf/fast_exp.h"
#include "crf/simd_clones.h"
#include "deeplab/error.h"

namespace deeplab::crf {

namespace {

typedef std::int32_t IntLanes __attribute__((vector_size(32)));
constexpr int kPixelsPerBlock = 8;  // one Lanes

// crf::fast_exp on 8 floats: the same operations lane by lane, so the same bits.
inline Lanes fast_exp_lanes(Lanes x) {
  // std::max(x, -87) then std::min(x, 88), as fast_exp (NaN included).
  x = x < -87.0f ? Lanes{} - 87.0f : x;
  x = 88.0f < x ? Lanes{} + 88.0f : x;
  const Lanes n = exp_round_to_ln2(x);
  const Lanes er = exp_of_remainder(x, n);
  const IntLanes whole = n == n ? __builtin_convertvector(n, IntLanes) : IntLanes{};  // NaN -> 0, as fast_exp
  const IntLanes bits = (whole + 127) << 23;
  Lanes scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return er * scale;
}

// Softmax of one pixel, in place.
inline void softmax_pixel(float* p, int classes) {
  float peak = p[0];
  for (int k = 1; k < classes; ++k) peak = std::max(peak, p[k]);
  for (int k = 0; k < classes; ++k) p[k] = fast_exp(p[k] - peak);
  float sum = 0;
  for (int k = 0; k < classes; ++k) sum += p[k];
  const float inv = 1.0f / sum;
  for (int k = 0; k < classes; ++k) p[k] *= inv;
}

}  // namespace

// Eight pixels at a time, transposed so that each class is one vector: the max, the sums and the
// scaling are vector code too (one pixel's 21 classes left most of them scalar). The same
// operations per pixel, in the same order, as softmax_pixel(), which does the remaining pixels.
DEEPLAB_SIMD_CLONES
void softmax_pixels(float* probabilities, int classes, int begin, int end) {
  Lanes v[256];
  int i = begin;
  for (; i + kPixelsPerBlock <= end && classes <= 256; i += kPixelsPerBlock) {
    float* block = probabilities + static_cast<std::size_t>(i) * classes;
    for (int k = 0; k < classes; ++k)
      for (int l = 0; l < kPixelsPerBlock; ++l) v[k][l] = block[l * classes + k];
    Lanes peak = v[0];
    for (int k = 1; k < classes; ++k) peak = peak < v[k] ? v[k] : peak;  // std::max(peak, p[k])
    Lanes sum = {};
    for (int k = 0; k < classes; ++k) {
      v[k] = fast_exp_lanes(v[k] - peak);
      sum += v[k];
    }
    const Lanes inv = 1.0f / sum;
    for (int k = 0; k < classes; ++k) {
      const Lanes out = v[k] * inv;
      for (int l = 0; l < kPixelsPerBlock; ++l) block[l * classes + k] = out[l];
    }
  }
  for (; i < end; ++i) softmax_pixel(probabilities + static_cast<std::size_t>(i) * classes, classes);
}


// The frame's own 0..255 values: no scaling, no mean, unit deviations.
InputSpec crf_image_spec() {
  InputSpec spec;
  spec.color = ColorOrder::kRGB;
  spec.scale = 1.0f;
  spec.mean.fill(0.0f);
  spec.std.fill(1.0f);
  return spec;
}

ResampleGeometry crf_to_frame_geometry(int working_width, int working_height, int classes, int frame_width,
                                       int frame_height) {
  ResizeAttrs attrs;
  attrs.mode = ResizeAttrs::kLinear;
  attrs.coord = ResizeAttrs::kHalfPixel;
  return make_resample_geometry(working_height, working_width, classes, frame_height, frame_width,
                                static_cast<float>(frame_height) / working_height,
                                static_cast<float>(frame_width) / working_width, attrs);
}

InputTensorLayout crf_image_layout(int width, int height) {
  InputTensorLayout layout;
  layout.width = width;
  layout.height = height;
  layout.channel_stride = 1;
  layout.col_stride = 3;
  layout.row_stride = static_cast<std::int64_t>(width) * 3;
  return layout;
}

CrfStage::CrfStage(const CrfOptions& options, int threads)
    : stream_(options, Device::kCpu, threads), threads_(threads > 0 ? threads : omp_get_num_procs()) {}

void CrfStage::prepare(int frame_width, int frame_height, int classes, const ResampleGeometry& to_working) {
  frame_width_ = frame_height_ = -1;  // until everything below is in place
  const CrfWorkingSize size = crf_working_size(frame_width, frame_height, stream_.options());
  check_lattice_ranges(size.width, size.height, stream_.options().params, size.position_scale);
  width_ = size.width;
  height_ = size.height;
  position_scale_ = size.position_scale;
  classes_ = classes;
  try {
    allocate(frame_width, frame_height, to_working);
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::kOutOfMemory, "out of memory for the dense CRF at " + std::to_string(width_) + "x" +
                                             std::to_string(height_) + " (" + std::to_string(classes) +
                                             " classes) for a " + std::to_string(frame_width) + "x" +
                                             std::to_string(frame_height) + " frame; lower crf-scale or crf-max-pixels");
  }
  frame_width_ = frame_width;
  frame_height_ = frame_height;
}

void CrfStage::allocate(int frame_width, int frame_height, const ResampleGeometry& to_working) {
  const int classes = classes_;
  to_working_ = to_working;
  to_rgb_ = std::make_unique<Preprocessor>(crf_image_spec(), crf_image_layout(width_, height_));
  const std::size_t pixels = static_cast<std::size_t>(width_) * height_;
  rgb_float_.assign(pixels * 3, 0.0f);
  rgb_.assign(pixels * 3, 0);
  probabilities_.assign(pixels * classes, 0.0f);
  std::size_t scratch = resample_scratch_floats(to_working_, threads_);
  if (width_ != frame_width || height_ != frame_height) {
    to_frame_ = crf_to_frame_geometry(width_, height_, classes, frame_width, frame_height);
    scratch = std::max(scratch, resample_scratch_floats(to_frame_, threads_));
  }
  scratch_.assign(scratch, 0.0f);
}

const CrfFrameReport& CrfStage::run(const FrameView& frame, const float* logits, std::uint8_t* class_map) {
  make_image(frame);
  make_probabilities(logits);
  const CrfImage image{rgb_.data(), width_, height_, 3 * width_};
  const float* q = stream_.process(image, probabilities_.data(), classes_, position_scale_);
  class_map_from(q, class_map);
  return stream_.last_report();
}

void CrfStage::make_image(const FrameView& frame) {
  to_rgb_->run(frame, rgb_float_.data());
  const std::int64_t count = static_cast<std::int64_t>(rgb_.size());
  const float* src = rgb_float_.data();
  std::uint8_t* dst = rgb_.data();
#pragma omp parallel for num_threads(threads_) schedule(static)
  for (std::int64_t k = 0; k < count; ++k) dst[k] = static_cast<std::uint8_t>(std::clamp(src[k] + 0.5f, 0.0f, 255.0f));
}

// The logits resampled to the working size, then a softmax per pixel (in place). fast_exp: the
// per-class loop vectorises (glibc's expf is a scalar call, and 21 of them per pixel made this a
// tenth of a warm-started frame's CRF time).
void CrfStage::make_probabilities(const float* logits) {
  resample_nhwc(to_working_, logits, probabilities_.data(), scratch_.data());
  const int c = classes_;
  const int pixels = width_ * height_;
#pragma omp parallel num_threads(threads_)
  {
    int begin, end;
    thread_range(pixels, omp_get_thread_num(), omp_get_num_threads(), begin, end);
    softmax_pixels(probabilities_.data(), c, begin, end);
  }
}

void CrfStage::class_map_from(const float* q, std::uint8_t* class_map) {
  if (width_ != frame_width_ || height_ != frame_height_) {
    upsample_argmax(to_frame_, q, class_map, scratch_.data());
    return;
  }
  const int c = classes_;
  const int pixels = width_ * height_;
#pragma omp parallel for num_threads(threads_) schedule(static)
  for (int i = 0; i < pixels; ++i) {
    const float* qi = q + static_cast<std::size_t>(i) * c;
    class_map[i] = static_cast<std::uint8_t>(std::max_element(qi, qi + c) - qi);
  }
}

}  // namespace deeplab::crf
