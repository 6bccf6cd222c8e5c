// What the CUDA Segmenter backend and the CUDA batch backend share on the host side: the network
// options every CUDA network of the process is built with, a frame staged in pinned memory, and a
// class map (and probabilities) from pinned memory into a Segmentation.
#pragma once

#include <chrono>
#include <cstdint>

#include "cuda/cuda_network.h"
#include "cuda/cuda_resources.h"
#include "deeplab/frame.h"
#include "deeplab/segmenter.h"

namespace deeplab::cuda {

// Milliseconds from `start` to now (the stages' wall times).
inline double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Every network of the process shares the device's algorithm cache: two instances run the same
// algorithms (equal results, bit for bit) and a key is searched once.
CudaNetworkOptions network_options(const SegmenterOptions& segmenter);

// The frame's planes, rows packed, in pinned memory: the upload then overlaps nothing on the host
// and runs at full bus speed, and the caller may reuse its frame as soon as this returns. The
// buffer grows only for a larger frame. Returns the staged view.
FrameView stage_frame(const FrameView& frame, PinnedBuffer<std::uint8_t>& staging);

// Downloaded results (pinned) into `result`, which reallocates only when a size changes.
struct HostResult {
  const std::uint8_t* classes = nullptr;
  int width = 0, height = 0;
  const float* probabilities = nullptr;  // nullptr: none asked for
  int prob_width = 0, prob_height = 0, channels = 0;
};
void write_result(const HostResult& from, Segmentation& result);

}  // namespace deeplab::cuda
