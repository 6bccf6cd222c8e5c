// The CUDA network's steps: one object per graph node, built once at load with every device
// pointer resolved (the arena is planned first), so that a forward pass is a loop of enqueue()
// calls that allocates nothing — and can be captured in a CUDA graph.
#pragma once

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <memory>
#include <string>
#include <vector>

#include "cuda/cuda_conv.h"
#include "cuda/cuda_network.h"
#include "graph/graph.h"

namespace deeplab::cuda {

class CudaNetwork::Step {
 public:
  virtual ~Step() = default;
  virtual void enqueue(cudaStream_t stream) = 0;
  virtual CudaConv* conv() { return nullptr; }  // convolution steps: their algorithm is chosen at load
  std::string label;                           // what the profile groups by ("Conv 3x3", "Concat", ...)
};

// What the steps need from the network while they are built.
class StepContext {
 public:
  virtual ~StepContext() = default;
  virtual const Graph& graph() const = 0;
  virtual TensorType type() const = 0;
  virtual const MemoryPlan& plan() const = 0;
  virtual void* data(int value) = 0;                  // activation storage in the arena
  virtual const void* constant(int value) = 0;        // a constant, uploaded once in type()
  virtual const void* upload(const std::vector<float>& values) = 0;  // parameters in type()
  virtual const float* upload_floats(const std::vector<float>& values) = 0;
  virtual const int* upload_ints(const std::vector<int>& values) = 0;
  virtual void* pad_scratch() = 0;                    // shared by the convs that pre-pad
  virtual cudnnHandle_t cudnn() = 0;
  virtual void* workspace() = 0;                      // valid once algorithms are chosen
  virtual std::size_t workspace_bytes() const = 0;

  // An operand's device pointer: a constant's upload (row-major, cuda/step_params.h's
  // operand_strides) or the activation's storage.
  const void* operand(int value);
};

// The step for `n` (classify_node decides which); nullptr for nodes that alias their input.
std::unique_ptr<CudaNetwork::Step> make_step(const Node& n, StepContext& ctx);

// A flat conversion of `count` elements between the network's type and float (the fp16 edges).
std::unique_ptr<CudaNetwork::Step> make_convert_step(std::int64_t count, TensorType src_type, const void* src,
                                                     TensorType dst_type, void* dst, const std::string& label);

}  // namespace deeplab::cuda
