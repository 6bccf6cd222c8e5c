#include "cuda/cuda_conv.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <vector>

#include "cuda/cuda_check.h"
#include "cuda/net_kernels.cuh"
#include "deeplab/error.h"

namespace deeplab::cuda {
namespace {

cudnnDataType_t cudnn_type(TensorType type) { return type == TensorType::kHalf ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT; }

// fp16: tensor cores (fp16 data, fp32 accumulation). fp32: FMA only, so that Ampere and later do
// not silently run TF32 (10-bit mantissa) under CUDNN_DEFAULT_MATH.
cudnnMathType_t wanted_math(TensorType type) {
  return type == TensorType::kHalf ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
}

}  // namespace

CudaConv::CudaConv(const ConvPlan& plan, const ConvBuffers& buffers, std::string name)
    : plan_(plan), buffers_(buffers), name_(std::move(name)) {
  if (!buffers_.x || !buffers_.weights || !buffers_.bias || !buffers_.y || (plan_.pre_pad() && !buffers_.padded) ||
      (plan_.has_residual && !buffers_.residual))
    throw Error(ErrorCode::kInternal, name_ + ": convolution buffers missing");
  act_ = activation_params(plan_.activation);
  const ConvShape& s = plan_.shape;
  pad_.batch = s.n;
  pad_.in_h = plan_.in_h;
  pad_.in_w = plan_.in_w;
  pad_.channels = s.c;
  pad_.out_h = s.h;
  pad_.out_w = s.w;
  pad_.top = plan_.extra_top;
  pad_.left = plan_.extra_left;
  set_descriptors();
}

void CudaConv::set_descriptors() {
  const ConvShape& s = plan_.shape;
  const cudnnDataType_t type = cudnn_type(s.type);
  DEEPLAB_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x_desc_.get(), CUDNN_TENSOR_NHWC, type, s.n, s.c, s.h, s.w));
  DEEPLAB_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w_desc_.get(), type, CUDNN_TENSOR_NHWC, s.k, s.c / s.groups, s.r, s.s));
  DEEPLAB_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv_desc_.get(), s.pad_h, s.pad_w, s.stride_h, s.stride_w,
                                                      s.dilation_h, s.dilation_w, CUDNN_CROSS_CORRELATION,
                                                      CUDNN_DATA_FLOAT));
  DEEPLAB_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv_desc_.get(), s.groups));
  DEEPLAB_CUDNN_CHECK(cudnnSetConvolutionMathType(conv_desc_.get(), wanted_math(s.type)));
  DEEPLAB_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y_desc_.get(), CUDNN_TENSOR_NHWC, type, s.n, s.k, s.out_h, s.out_w));
  DEEPLAB_CUDNN_CHECK(cudnnSetTensor4dDescriptor(bias_desc_.get(), CUDNN_TENSOR_NHWC, type, 1, s.k, 1, 1));
  const cudnnActivationMode_t mode =
      plan_.wanted == ConvEpilogue::kCudnnRelu ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY;
  DEEPLAB_CUDNN_CHECK(cudnnSetActivationDescriptor(act_desc_.get(), mode, CUDNN_NOT_PROPAGATE_NAN,
                                                   std::numeric_limits<double>::max()));
  int n = 0, c = 0, h = 0, w = 0;
  DEEPLAB_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(conv_desc_.get(), x_desc_.get(), w_desc_.get(), &n, &c, &h, &w));
  if (n != s.n || c != s.k || h != s.out_h || w != s.out_w)
    throw Error(ErrorCode::kInternal, name_ + ": cuDNN computes an output of " + std::to_string(n) + "x" +
                                          std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w) +
                                          " for " + s.describe());
}

// y = act(conv(x) + z + bias): z is the residual (possibly y itself), or y with alpha2 = 0.
cudnnStatus_t CudaConv::fused_call(cudnnHandle_t handle, const void* x, int algo, void* workspace,
                                   std::size_t bytes) const {
  const float alpha1 = 1.0f, alpha2 = plan_.has_residual ? 1.0f : 0.0f;
  const void* z = plan_.has_residual ? buffers_.residual : buffers_.y;
  return cudnnConvolutionBiasActivationForward(handle, &alpha1, x_desc_.get(), x, w_desc_.get(), buffers_.weights,
                                               conv_desc_.get(), static_cast<cudnnConvolutionFwdAlgo_t>(algo),
                                               workspace, bytes, &alpha2, y_desc_.get(), z, bias_desc_.get(),
                                               buffers_.bias, act_desc_.get(), y_desc_.get(), buffers_.y);
}

// y = conv(x) + beta * y: beta = 1 adds a residual that lives in y's storage.
cudnnStatus_t CudaConv::plain_call(cudnnHandle_t handle, const void* x, int algo, void* workspace,
                                   std::size_t bytes) const {
  const float alpha = 1.0f, beta = plan_.has_residual && buffers_.residual_in_place ? 1.0f : 0.0f;
  return cudnnConvolutionForward(handle, &alpha, x_desc_.get(), x, w_desc_.get(), buffers_.weights, conv_desc_.get(),
                                 static_cast<cudnnConvolutionFwdAlgo_t>(algo), workspace, bytes, &beta, y_desc_.get(),
                                 buffers_.y);
}

const void* CudaConv::input_for_cudnn(cudaStream_t stream) const {
  if (!plan_.pre_pad()) return buffers_.x;
  launch_pad_input(pad_, plan_.shape.type, buffers_.x, buffers_.padded, stream);
  return buffers_.padded;
}

// Times every algorithm cuDNN has for the descriptors under `math` (fastest first).
std::vector<cudnnConvolutionFwdAlgoPerf_t> CudaConv::find(cudnnHandle_t handle, const void* x, cudnnMathType_t math,
                                                         void* workspace, std::size_t workspace_bytes) {
  DEEPLAB_CUDNN_CHECK(cudnnSetConvolutionMathType(conv_desc_.get(), math));
  std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(CUDNN_CONVOLUTION_FWD_ALGO_COUNT);
  int returned = 0;
  DEEPLAB_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(
      handle, x_desc_.get(), x, w_desc_.get(), buffers_.weights, conv_desc_.get(), y_desc_.get(), buffers_.y,
      static_cast<int>(perf.size()), &returned, perf.data(), workspace, workspace_bytes));
  perf.resize(static_cast<std::size_t>(returned));
  return perf;
}

struct CudaConv::TrialTimer {
  Event start{true}, end{true};

  // Times `call` over kRuns runs after an untimed one (cuDNN loads kernels on first use); -1 when
  // cuDNN refuses or fails it.
  template <typename Call>
  float time(cudaStream_t stream, Call call) {
    constexpr int kRuns = 3;
    if (call() != CUDNN_STATUS_SUCCESS) {
      cudaGetLastError();  // a refused call leaves nothing sticky; clear what it may have set
      return -1;
    }
    start.record(stream);
    for (int k = 0; k < kRuns; ++k)
      if (call() != CUDNN_STATUS_SUCCESS) {
        DEEPLAB_CUDA_CHECK(cudaStreamSynchronize(stream));
        return -1;
      }
    end.record(stream);
    end.synchronize();
    return Event::elapsed_ms(start, end) / kRuns;
  }
};

bool CudaConv::needs_epilogue_kernel() const {
  return plan_.has_bias || (plan_.has_residual && !buffers_.residual_in_place) ||
         plan_.activation.kind != Activation::kNone;
}

// The bias/activation kernel after the plain call: y = act(y + bias + z) (z only when the residual
// is not already in y).
void CudaConv::launch_epilogue(cudaStream_t stream) const {
  const void* z = plan_.has_residual && !buffers_.residual_in_place ? buffers_.residual : nullptr;
  const void* bias = plan_.has_bias ? buffers_.bias : nullptr;
  const ConvShape& s = plan_.shape;
  launch_bias_activation(act_, s.type, buffers_.y, bias, z, static_cast<std::int64_t>(s.n) * s.out_h * s.out_w * s.k,
                         s.k, stream);
}

// One candidate, in the calls it would run in (the plain call with the real beta, the fused call
// with the real z, which is y for an in-place residual), each with the workspace it would get.
ConvTrial CudaConv::try_candidate(cudnnHandle_t handle, cudaStream_t stream, const void* x,
                                  const cudnnConvolutionFwdAlgoPerf_t& p, void* workspace,
                                  std::size_t workspace_bytes, TrialTimer& timer) const {
  ConvTrial t;
  t.algo = static_cast<int>(p.algo);
  t.math_type = static_cast<int>(p.mathType);
  t.deterministic = p.determinism == CUDNN_DETERMINISTIC;
  DEEPLAB_CUDNN_CHECK(cudnnSetConvolutionMathType(conv_desc_.get(), p.mathType));
  // Find reports the plain call's workspace; the documentation sizes the fused call's with the same
  // query. The larger of the two is what the call is tried with and what the network provides.
  std::size_t need = 0;
  if (cudnnGetConvolutionForwardWorkspaceSize(handle, x_desc_.get(), w_desc_.get(), conv_desc_.get(), y_desc_.get(),
                                              p.algo, &need) != CUDNN_STATUS_SUCCESS)
    need = 0;
  need = std::max(need, p.memory);
  if (need > workspace_bytes) return t;
  t.plain_workspace_bytes = t.fused_workspace_bytes = need;
  t.plain_ms = timer.time(stream, [&] { return plain_call(handle, x, t.algo, workspace, need); });
  if (plan_.wanted != ConvEpilogue::kOwn)
    t.fused_ms = timer.time(stream, [&] { return fused_call(handle, x, t.algo, workspace, need); });
  return t;
}

void CudaConv::choose_algorithm(cudnnHandle_t handle, cudaStream_t stream, ConvAlgorithmCache& cache, void* workspace,
                                std::size_t workspace_bytes) {
  const ConvKey key = conv_key(plan_, buffers_.residual_in_place);
  searched_ = false;
  if (const std::optional<ConvAlgorithm> cached = cache.find(key)) {
    algorithm_ = *cached;
  } else {
    searched_ = true;
    const void* x = input_for_cudnn(stream);
    auto runs = [&](const cudnnConvolutionFwdAlgoPerf_t& p) {
      return p.status == CUDNN_STATUS_SUCCESS && p.memory <= workspace_bytes;
    };
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf = find(handle, x, wanted_math(plan_.shape.type), workspace,
                                                           workspace_bytes);
    // Should no algorithm run under FMA-only (fp32) or tensor-op (fp16) math, take what cuDNN's
    // default math allows (TF32 on Ampere and later) rather than refuse the network.
    if (std::none_of(perf.begin(), perf.end(), runs))
      perf = find(handle, x, CUDNN_DEFAULT_MATH, workspace, workspace_bytes);
    // Find timed the plain call with beta = 0 and no epilogue: every candidate is timed again in
    // the form it would run in (finding 3 of issue 17), and the fused call taken only if it wins.
    TrialTimer timer;
    std::vector<ConvTrial> trials;
    std::string statuses;
    for (std::size_t i = 0; i < perf.size(); ++i) {
      const auto& p = perf[i];
      statuses += std::string(i ? ", " : "") + std::to_string(static_cast<int>(p.algo)) + ":" + cudnnGetErrorString(p.status);
      if (runs(p)) trials.push_back(try_candidate(handle, stream, x, p, workspace, workspace_bytes, timer));
    }
    float epilogue_ms = 0;
    if (plan_.wanted != ConvEpilogue::kOwn && needs_epilogue_kernel())
      epilogue_ms = timer.time(stream, [&] {
        launch_epilogue(stream);
        return CUDNN_STATUS_SUCCESS;
      });
    const ConvAlgorithm chosen = decide_conv_algorithm(trials, plan_.wanted, epilogue_ms);
    if (chosen.algo < 0)
      throw Error(ErrorCode::kUnsupported, name_ + ": cuDNN has no algorithm for " + plan_.shape.describe() +
                                               " that runs within " + std::to_string(workspace_bytes >> 20) +
                                               " MiB of workspace (Find: " + statuses + ")");
    DEEPLAB_CUDA_CHECK(cudaStreamSynchronize(stream));
    // Another network may have stored a choice for the key meanwhile: everyone runs the first one.
    algorithm_ = cache.insert(key, chosen);
  }
  DEEPLAB_CUDNN_CHECK(cudnnSetConvolutionMathType(conv_desc_.get(), static_cast<cudnnMathType_t>(algorithm_.math_type)));
  chosen_ = true;
}

void CudaConv::enqueue(cudnnHandle_t handle, cudaStream_t stream, void* workspace, std::size_t workspace_bytes) const {
  if (!chosen_) throw Error(ErrorCode::kInternal, name_ + ": convolution enqueued before its algorithm was chosen");
  const void* x = input_for_cudnn(stream);
  if (algorithm_.epilogue != ConvEpilogue::kOwn) {
    DEEPLAB_CUDNN_CHECK(fused_call(handle, x, algorithm_.algo, workspace, workspace_bytes));
    return;
  }
  DEEPLAB_CUDNN_CHECK(plain_call(handle, x, algorithm_.algo, workspace, workspace_bytes));
  if (needs_epilogue_kernel()) launch_epilogue(stream);
}

}  // namespace deeplab::cuda
