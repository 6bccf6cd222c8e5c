// The temporal CRF's decision for each frame (docs/crf.md, "Temporal reuse"): a full run on the
// first frame, after a size or class-count change or reset(), at a scene cut and every
// keyframe_interval-th frame; otherwise a warm start from the previous frame's Q blended with the
// new probabilities. Shared by CrfStream (crf/crf_stream.cpp) and the CUDA Segmenter's CRF stage
// (cuda/crf/cuda_crf_stage.cpp), so that both streams decide alike from the same thumbnails.
#pragma once

#include "crf/scene_cut.h"
#include "deeplab/crf.h"

namespace deeplab::crf {

// A warm-started frame begins from normalise((1 - b) Q_prev + b max(p, 1e-8)). The previous Q is
// nearly saturated after a full run, and a saturated Q is a fixed point that a few passes never
// leave: without the blend the labels freeze and lag motion (docs/crf.md, "Blend or not").
inline constexpr float kWarmStartBlend = 0.75f;

struct TemporalStep {
  bool warm_start = false;  // blend into the previous Q, then options.temporal_iterations
  bool scene_cut = false;
  bool keyframe = false;
  int iterations = 0;
};

class TemporalSchedule {
 public:
  // `same_shape`: the previous frame's converged Q is there, of this frame's size and class count.
  // `thumbnail`: this frame's make_luma_thumbnail(), kept for the next frame's scene-cut test.
  TemporalStep next(const CrfOptions& options, bool same_shape, const LumaThumbnail& thumbnail) {
    TemporalStep step;
    step.scene_cut = same_shape && thumbnail_difference(thumbnail, previous_) > options.scene_cut_threshold;
    step.keyframe = same_shape && !step.scene_cut && options.keyframe_interval > 0 &&
                    frames_since_full_ + 1 >= options.keyframe_interval;
    step.warm_start = same_shape && !step.scene_cut && !step.keyframe;
    step.iterations = step.warm_start ? options.temporal_iterations : options.params.iterations;
    frames_since_full_ = step.warm_start ? frames_since_full_ + 1 : 0;
    previous_ = thumbnail;
    return step;
  }

 private:
  LumaThumbnail previous_;
  int frames_since_full_ = 0;
};

}  // namespace deeplab::crf
