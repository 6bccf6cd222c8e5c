#include "cuda/cuda_preprocess.h"

#include <vector>

#include "cuda/frame_planes.h"
#include "cuda/preprocess.cuh"

namespace deeplab::cuda {

CudaPreprocess::CudaPreprocess(const InputSpec& spec, const InputTensorLayout& layout)
    : layout_(layout), norm_(make_normalisation(spec)) {
  if (layout.width < 1 || layout.height < 1)
    throw Error(ErrorCode::kInvalidArgument, "CUDA pre-processing to a " + std::to_string(layout.width) + "x" +
                                                 std::to_string(layout.height) + " tensor");
}

void CudaPreprocess::prepare(int frame_width, int frame_height, cudaStream_t stream) {
  if (frame_width == frame_width_ && frame_height == frame_height_) return;
  frame_width_ = frame_height_ = -1;  // until the new tables are in place
  const int w = layout_.width, h = layout_.height;
  std::vector<int> x0, x1, y0, y1;
  std::vector<float> wx, wy;
  make_taps(frame_width, w, x0, x1, wx);
  make_taps(frame_height, h, y0, y1, wy);
  indices_.reserve(2 * static_cast<std::size_t>(w) + 2 * static_cast<std::size_t>(h));
  weights_.reserve(static_cast<std::size_t>(w) + h);
  // Pageable sources: each upload has read its vector when it returns.
  indices_.upload(x0.data(), w, stream, 0);
  indices_.upload(x1.data(), w, stream, w);
  indices_.upload(y0.data(), h, stream, 2 * static_cast<std::size_t>(w));
  indices_.upload(y1.data(), h, stream, 2 * static_cast<std::size_t>(w) + h);
  weights_.upload(wx.data(), w, stream, 0);
  weights_.upload(wy.data(), h, stream, w);
  taps_.x0 = indices_.data();
  taps_.x1 = indices_.data() + w;
  taps_.y0 = indices_.data() + 2 * w;
  taps_.y1 = indices_.data() + 2 * w + h;
  taps_.wx = weights_.data();
  taps_.wy = weights_.data() + w;
  frame_width_ = frame_width;
  frame_height_ = frame_height;
}

void CudaPreprocess::run(const FrameView& frame, float* dst, cudaStream_t stream) {
  validate_frame(frame);
  if (!dst) throw Error(ErrorCode::kInvalidArgument, "CUDA pre-processing into a null tensor");
  prepare(frame.width, frame.height, stream);
  launch_preprocess(frame, taps_, norm_, layout_, dst, stream);
}

void DeviceFrame::upload(const FrameView& host, cudaStream_t stream) {
  validate_frame(host);
  const int planes = plane_count(host.format);
  std::size_t offsets[3] = {0, 0, 0}, total = 0;
  for (int p = 0; p < planes; ++p) {
    const PlaneSize s = plane_size(host.format, host.width, host.height, p);
    offsets[p] = total;
    total += static_cast<std::size_t>(s.row_bytes) * s.rows;
  }
  bytes_.reserve(total);
  FrameView v;
  v.format = host.format;
  v.width = host.width;
  v.height = host.height;
  for (int p = 0; p < planes; ++p) {
    const PlaneSize s = plane_size(host.format, host.width, host.height, p);
    std::uint8_t* d = bytes_.data() + offsets[p];
    DEEPLAB_CUDA_CHECK(cudaMemcpy2DAsync(d, s.row_bytes, host.planes[p], host.strides[p], s.row_bytes, s.rows,
                                         cudaMemcpyHostToDevice, stream));
    v.planes[p] = d;
    v.strides[p] = s.row_bytes;
  }
  view_ = v;
}

}  // namespace deeplab::cuda
