#include "cuda/host_staging.h"

#include <cstring>

#include "cuda/conv_plan.h"
#include "cuda/frame_planes.h"

namespace deeplab::cuda {

CudaNetworkOptions network_options(const SegmenterOptions& segmenter) {
  CudaNetworkOptions options;
  options.precision = segmenter.precision;
  options.cuda_graph = segmenter.cuda_graph;
  options.profile = segmenter.profile;
  int device = 0;
  DEEPLAB_CUDA_CHECK(cudaGetDevice(&device));
  options.shared_algorithms = &process_algorithm_cache(device);
  return options;
}

FrameView stage_frame(const FrameView& frame, PinnedBuffer<std::uint8_t>& staging) {
  const int planes = plane_count(frame.format);
  std::size_t total = 0;
  for (int p = 0; p < planes; ++p) {
    const PlaneSize s = plane_size(frame.format, frame.width, frame.height, p);
    total += static_cast<std::size_t>(s.row_bytes) * s.rows;
  }
  staging.reserve(total);
  FrameView v = frame;
  std::uint8_t* dst = staging.data();
  for (int p = 0; p < planes; ++p) {
    const PlaneSize s = plane_size(frame.format, frame.width, frame.height, p);
    for (int row = 0; row < s.rows; ++row)
      std::memcpy(dst + static_cast<std::size_t>(row) * s.row_bytes,
                  frame.planes[p] + static_cast<std::size_t>(row) * frame.strides[p], s.row_bytes);
    v.planes[p] = dst;
    v.strides[p] = s.row_bytes;
    dst += static_cast<std::size_t>(s.row_bytes) * s.rows;
  }
  return v;
}

void write_result(const HostResult& from, Segmentation& result) {
  const std::size_t pixels = static_cast<std::size_t>(from.width) * from.height;
  if (result.width != from.width || result.height != from.height || result.class_map.size() != pixels) {
    result.width = from.width;
    result.height = from.height;
    result.class_map.assign(pixels, 0);
  }
  std::memcpy(result.class_map.data(), from.classes, pixels);
  if (!from.probabilities) {
    result.probabilities_width = result.probabilities_height = 0;
    return;
  }
  const std::size_t floats = static_cast<std::size_t>(from.prob_width) * from.prob_height * from.channels;
  if (result.probabilities.size() != floats) result.probabilities.assign(floats, 0.0f);
  std::memcpy(result.probabilities.data(), from.probabilities, floats * sizeof(float));
  result.probabilities_width = from.prob_width;
  result.probabilities_height = from.prob_height;
}

}  // namespace deeplab::cuda
