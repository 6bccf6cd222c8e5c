// The dense CRF as a stage of deeplab::Segmenter: from the frame and the network's low-resolution
// logits to the class map at the frame's size.
//
//   working size   = round(frame size * crf.scale), at least 1 x 1, capped at crf.max_pixels
//                    (crf_working_size(): a 4K frame runs the CRF at 1080p by default)
//   image          = the frame as 8-bit RGB at the working size (the pre-processing's own per-pixel
//                    fetch and bilinear blend, any pixel format, then rounded)
//   probabilities  = softmax of the logits resampled to the working size (the same geometry as the
//                    network-resolution class map), pixel-major
//   Q              = CrfStream::process(image, probabilities)
//   class map      = argmax of Q; when the working size is smaller than the frame, Q is upsampled
//                    (bilinear, half-pixel centres) and the argmax taken in the same pass.
// Buffers are sized when the frame size changes; frames of an unchanged size allocate nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "deeplab/crf.h"
#include "deeplab/frame.h"
#include "postprocess/interpolate.h"
#include "preprocess/preprocess.h"

namespace deeplab::crf {

// How the CRF's image is made by the pre-processing (CPU Preprocessor or CUDA kernel): identity
// normalisation, so RGB floats 0..255, pixel-major at width x height. Shared by CrfStage and the
// CUDA CRF stage so that both read the same pixels.
InputSpec crf_image_spec();
InputTensorLayout crf_image_layout(int width, int height);
// Q from the working size back to the frame, like an image: bilinear with half-pixel centres. At
// equal sizes it samples every pixel with weight 0 on its neighbour: the plain argmax. Shared by
// CrfStage, the CUDA CRF stage and its host emulation.
ResampleGeometry crf_to_frame_geometry(int working_width, int working_height, int classes, int frame_width,
                                       int frame_height);

// Softmax of each of the pixels [begin, end) of `probabilities` (`classes` floats per pixel), in
// place, with crf::fast_exp; bit for bit the plain per-pixel loop (max, exp, sum in class order,
// scale), in vector code over eight pixels at a time.
void softmax_pixels(float* probabilities, int classes, int begin, int end);

class CrfStage {
 public:
  CrfStage(const CrfOptions& options, int threads);

  // True if prepare() was called for frames of this size.
  bool prepared_for(int frame_width, int frame_height) const {
    return frame_width == frame_width_ && frame_height == frame_height_;
  }
  // `to_working`: the logits' geometry resampled to crf_working_size() of this frame size. Checks
  // the lattice's range for that size before sizing any buffer; Error(kOutOfMemory) when the
  // buffers cannot be had.
  void prepare(int frame_width, int frame_height, int classes, const ResampleGeometry& to_working);

  // `logits`: the network's NHWC logits. Writes frame_width x frame_height class ids.
  const CrfFrameReport& run(const FrameView& frame, const float* logits, std::uint8_t* class_map);

  void reset() { stream_.reset(); }
  const CrfOptions& options() const { return stream_.options(); }

 private:
  void allocate(int frame_width, int frame_height, const ResampleGeometry& to_working);
  void make_image(const FrameView& frame);
  void make_probabilities(const float* logits);
  void class_map_from(const float* q, std::uint8_t* class_map);

  CrfStream stream_;
  int threads_;
  int frame_width_ = -1, frame_height_ = -1, width_ = 0, height_ = 0, classes_ = 0;
  float position_scale_ = 1.0f;
  std::unique_ptr<Preprocessor> to_rgb_;
  ResampleGeometry to_working_, to_frame_;
  std::vector<float> rgb_float_, probabilities_, scratch_;
  std::vector<std::uint8_t> rgb_;
};

}  // namespace deeplab::crf
