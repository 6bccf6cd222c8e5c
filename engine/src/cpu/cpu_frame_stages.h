// What one stream's frame goes through on the CPU around the network: the pre-processing into its
// slot of the network input, and from its logits the class map at the frame's size (upsample +
// argmax, or the dense CRF stage), plus probabilities when asked. The Segmenter's CPU backend has
// one; each stream of the batching engine (deeplab/batching.h) has its own, so that every stream
// keeps its own sampling tables, output geometry and CRF temporal state while the network is shared.
// Allocates only when the frame (or probability) size changes.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/segmenter_backend.h"
#include "cpu/cpu_network.h"
#include "crf/crf_stage.h"

namespace deeplab {

using CpuClock = std::chrono::steady_clock;
inline double ms_since(CpuClock::time_point t) {
  return std::chrono::duration<double, std::milli>(CpuClock::now() - t).count();
}

// Item `item` of the network's logits as dense NHWC floats (what the post-processing reads).
class LogitsReader {
 public:
  LogitsReader(const CpuNetwork& net, bool nhwc);
  // The network's own memory where the item already lies so, else a copy in this reader.
  const float* view(CpuNetwork& net, int item);
  // Always a copy into `dst` (item_floats() floats): the batching engine's streams keep their
  // logits while the next batch runs.
  void copy(CpuNetwork& net, int item, float* dst) const;
  std::size_t item_floats() const { return item_floats_; }

 private:
  bool dense_nhwc_ = true;
  std::vector<std::int64_t> item_shape_, nhwc_strides_, src_strides_;  // kept: strides() allocates
  std::size_t item_floats_ = 0;
  std::vector<float> copy_;
};

class CpuFrameStages {
 public:
  // `input`: where the pre-processing writes within one batch item of the network input.
  CpuFrameStages(const BackendSetup& setup, const InputTensorLayout& input, int threads);

  void preprocess(const FrameView& frame, float* input_item, StageTimes& times);
  // `logits`: this frame's dense NHWC logits. Fills `out` and times' post-processing and CRF parts.
  void finish(const FrameView& frame, const float* logits, const SegmentRequest& request, Segmentation& out,
              StageTimes& times);

  void set_crf(const CrfOptions& options);
  void reset_crf();

 private:
  void prepare_output(int width, int height, Segmentation& out);
  void prepare_probabilities(int width, int height, Segmentation& out);
  void run_crf(const FrameView& frame, const float* logits, Segmentation& out, StageTimes& times);

  const BackendSetup& setup_;
  int threads_;
  Preprocessor preprocessor_;
  std::unique_ptr<crf::CrfStage> crf_;
  ResampleGeometry class_geometry_, prob_geometry_;
  int class_width_ = -1, class_height_ = -1, prob_width_ = -1, prob_height_ = -1;
  std::vector<float> scratch_;
};

}  // namespace deeplab
