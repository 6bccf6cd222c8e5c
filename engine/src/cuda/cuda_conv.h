// One convolution node on cuDNN's legacy API: NHWC tensor descriptors, a KRSC filter, the
// algorithm chosen once per shape (cudnnFindConvolutionForwardAlgorithmEx at load, shared through a
// ConvAlgorithmCache), and the epilogue: bias + residual (z) + ReLU fused into
// cudnnConvolutionBiasActivationForward when cuDNN accepts it, otherwise cudnnConvolutionForward
// followed by the bias_activation kernel.
#pragma once

#include <cudnn.h>

#include <string>
#include <vector>

#include "cuda/conv_plan.h"
#include "cuda/cuda_resources.h"
#include "cuda/cudnn_handles.h"
#include "cuda/net_ops.h"

namespace deeplab::cuda {

// Device pointers of one convolution (fixed at load; the forward is captured in a CUDA graph).
struct ConvBuffers {
  const void* x = nullptr;       // NHWC input, the graph's size
  void* padded = nullptr;        // scratch for the zero-bordered input when plan.pre_pad()
  const void* weights = nullptr; // KRSC
  const void* bias = nullptr;    // k values (zeros when the model has none: cuDNN's fused call needs one)
  const void* residual = nullptr;
  bool residual_in_place = false;  // residual == y: the sum accumulates in the output's storage
  void* y = nullptr;
};

class CudaConv {
 public:
  // `name` names the node in errors. Throws kDevice on a cuDNN failure, kInternal when cuDNN's
  // output size disagrees with the plan's.
  CudaConv(const ConvPlan& plan, const ConvBuffers& buffers, std::string name);

  // Takes the algorithm for this key from `cache`, or finds it: cudnnFindConvolutionForwardAlgorithmEx
  // lists the algorithms that run (with `workspace` as scratch), each is timed again in the calls
  // it would run in (plain with the real beta + the epilogue kernel, fused with the real z, each
  // with its own workspace size), decide_conv_algorithm picks, and the cache keeps the first
  // choice made for the key. At load only: it runs convolutions and synchronises.
  void choose_algorithm(cudnnHandle_t handle, cudaStream_t stream, ConvAlgorithmCache& cache, void* workspace,
                        std::size_t workspace_bytes);
  // Enqueues the convolution (and its pre-padding and epilogue kernels) on the handle's stream.
  void enqueue(cudnnHandle_t handle, cudaStream_t stream, void* workspace, std::size_t workspace_bytes) const;

  const ConvPlan& plan() const { return plan_; }
  const ConvBuffers& buffers() const { return buffers_; }
  const ConvAlgorithm& algorithm() const { return algorithm_; }
  bool searched() const { return searched_; }  // the last choose_algorithm() searched (cache miss)
  const std::string& name() const { return name_; }

 private:
  void set_descriptors();
  std::vector<cudnnConvolutionFwdAlgoPerf_t> find(cudnnHandle_t handle, const void* x, cudnnMathType_t math,
                                                  void* workspace, std::size_t workspace_bytes);
  cudnnStatus_t fused_call(cudnnHandle_t handle, const void* x, int algo, void* workspace, std::size_t bytes) const;
  cudnnStatus_t plain_call(cudnnHandle_t handle, const void* x, int algo, void* workspace, std::size_t bytes) const;
  const void* input_for_cudnn(cudaStream_t stream) const;
  bool needs_epilogue_kernel() const;
  void launch_epilogue(cudaStream_t stream) const;
  struct TrialTimer;  // two timing events, made only when a key is searched
  ConvTrial try_candidate(cudnnHandle_t handle, cudaStream_t stream, const void* x,
                          const cudnnConvolutionFwdAlgoPerf_t& p, void* workspace, std::size_t workspace_bytes,
                          TrialTimer& timer) const;

  ConvPlan plan_;
  ConvBuffers buffers_;
  std::string name_;
  TensorDescriptor x_desc_, y_desc_, bias_desc_;
  FilterDescriptor w_desc_;
  ConvolutionDescriptor conv_desc_;
  ActivationDescriptor act_desc_;
  ActivationParams act_;
  PadParams pad_;
  ConvAlgorithm algorithm_;
  bool chosen_ = false;
  bool searched_ = false;
};

}  // namespace deeplab::cuda
