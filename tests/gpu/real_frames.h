// Real video frames for the CRF-stage and pipeline tests: a short sequence from two of the shared
// clips (../shared/media), so that it has motion, a scene cut (the clip changes) and keyframes.
// Decoded with OpenCV where the build has it; the GPU machine has no OpenCV, so the same frames can
// be written once as binary PPMs (deeplab-gpu-frames, built here) and carried there
// (DEEPLAB_GPU_FRAMES_DIR).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deeplab/frame.h"

namespace deeplab::test {

struct RealFrame {
  std::string name;
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // packed RGB
  FrameView view() const { return FrameView::packed(PixelFormat::kRGB, rgb.data(), width, height, width * 3); }
};

// The sequence: `per_clip` frames (every 3rd) of bottle-detection.mp4, then 3 of car-detection.mp4,
// scaled to width x height. From `ppm_dir` when it holds *.ppm files (sorted by name, any size),
// else decoded from `shared_dir`/media when the build has OpenCV; empty when neither works, with
// `why` saying what is missing.
std::vector<RealFrame> crf_test_sequence(const std::string& shared_dir, const std::string& ppm_dir, int width,
                                         int height, int per_clip, std::string* why);

std::vector<RealFrame> read_ppm_frames(const std::string& dir);
void write_ppm(const RealFrame& frame, const std::string& path);

}  // namespace deeplab::test
