#include "cuda/cuda_postprocess.h"

#include <vector>

#include "cuda/upsample_argmax.cuh"
#include "cuda/upsample_softmax.cuh"
#include "deeplab/error.h"

namespace deeplab::cuda {

void CudaPostprocess::prepare(const ResampleGeometry& geo, cudaStream_t stream, std::size_t max_shared_bytes) {
  const int out_h = geo.rows.size(), out_w = geo.cols.size();
  if (geo.in_h < 1 || geo.in_w < 1 || geo.channels < 1 || out_h < 1 || out_w < 1)
    throw Error(ErrorCode::kInvalidArgument, "CUDA post-processing of " + std::to_string(geo.in_h) + "x" +
                                                 std::to_string(geo.in_w) + "x" + std::to_string(geo.channels) +
                                                 " logits to " + std::to_string(out_h) + "x" + std::to_string(out_w));
  prepared_ = false;
  plan_ = make_upsample_plan(geo.cols, geo.channels, kUpsampleBlockWidth, max_shared_bytes);
  const std::size_t blocks = plan_.span_begin.size();

  // One upload per buffer, from contiguous host copies (pageable: read by the time upload returns).
  std::vector<int> indices;
  indices.reserve(2 * static_cast<std::size_t>(out_h) + 2 * static_cast<std::size_t>(out_w) + 2 * blocks);
  const std::vector<int>* parts[] = {&geo.rows.index0, &geo.rows.index1, &geo.cols.index0,
                                     &geo.cols.index1, &plan_.span_begin, &plan_.span_count};
  for (const std::vector<int>* part : parts) indices.insert(indices.end(), part->begin(), part->end());
  std::vector<float> weights(geo.rows.weight1);
  weights.insert(weights.end(), geo.cols.weight1.begin(), geo.cols.weight1.end());
  indices_.reserve(indices.size());
  weights_.reserve(weights.size());
  indices_.upload(indices.data(), indices.size(), stream);
  weights_.upload(weights.data(), weights.size(), stream);

  UpsampleView v;
  v.in_h = geo.in_h;
  v.in_w = geo.in_w;
  v.channels = geo.channels;
  v.out_h = out_h;
  v.out_w = out_w;
  v.nearest = geo.mode == ResizeAttrs::kNearest;
  const int* ip = indices_.data();
  v.row0 = ip;
  v.row1 = ip + out_h;
  v.col0 = ip + 2 * out_h;
  v.col1 = ip + 2 * out_h + out_w;
  v.span_begin = ip + 2 * out_h + 2 * out_w;
  v.span_count = v.span_begin + blocks;
  v.row_w1 = weights_.data();
  v.col_w1 = weights_.data() + out_h;
  v.block_width = plan_.block_width;
  view_ = v;
  prepared_ = true;
}

UpsampleView CudaPostprocess::view_for(const float* logits) const {
  if (!prepared_) throw Error(ErrorCode::kInternal, "CudaPostprocess used before prepare()");
  if (!logits) throw Error(ErrorCode::kInvalidArgument, "CUDA post-processing of null logits");
  UpsampleView v = view_;
  v.logits = logits;
  return v;
}

void CudaPostprocess::run(const float* logits, std::uint8_t* classes, cudaStream_t stream) const {
  const UpsampleView v = view_for(logits);
  if (!classes) throw Error(ErrorCode::kInvalidArgument, "CUDA class map into a null buffer");
  launch_upsample_argmax(v, plan_, classes, stream);
}

void CudaPostprocess::run_softmax(const float* logits, float* planes, cudaStream_t stream, SoftmaxLayout layout) const {
  const UpsampleView v = view_for(logits);
  if (!planes) throw Error(ErrorCode::kInvalidArgument, "CUDA probabilities into a null buffer");
  launch_upsample_softmax(v, plan_, planes, stream, layout);
}

}  // namespace deeplab::cuda
