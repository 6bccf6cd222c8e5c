// CPU kernels: one object per graph node, built once at load with every pointer resolved, so that
// running the network is a loop of run() calls that allocates nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "graph/graph.h"

namespace dnnl {
class engine;
class stream;
}  // namespace dnnl

namespace deeplab {

// Where each value's data lives once memory is planned.
class TensorAccess {
 public:
  virtual ~TensorAccess() = default;
  virtual float* data(int value) = 0;
  // Per-logical-dimension strides (in floats) of the value's physical layout.
  virtual std::vector<std::int64_t> strides(int value) const = 0;
  // True if `a` and `b` share storage.
  virtual bool same_storage(int a, int b) const = 0;
};

struct CpuContext {
  dnnl::engine* engine = nullptr;
  dnnl::stream* stream = nullptr;
  int threads = 1;
  float* dnnl_scratchpad = nullptr;  // shared by all oneDNN primitives, sized by the network
};

class CpuKernel {
 public:
  virtual ~CpuKernel() = default;
  virtual void run() = 0;
  // oneDNN scratchpad bytes this kernel needs (shared buffer, set before the first run()).
  virtual std::size_t scratchpad_bytes() const { return 0; }
  virtual void bind_scratchpad(void* /*buffer*/) {}
};

std::vector<std::int64_t> physical_strides(const Value& v);
std::vector<std::int64_t> plain_strides(const std::vector<std::int64_t>& shape);  // row-major
// The activation a standalone elementwise node (Relu, Sigmoid, HardSwish, HardSigmoid, Clip) applies;
// Clip's bounds from attributes before opset 11, from constant inputs after. Kind kNone for other ops.
Activation activation_of(const Graph& g, const Node& n);

std::unique_ptr<CpuKernel> make_conv_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext& ctx);
std::unique_ptr<CpuKernel> make_pool_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext& ctx);
std::unique_ptr<CpuKernel> make_elementwise_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext& ctx);
std::unique_ptr<CpuKernel> make_data_movement_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext& ctx);
std::unique_ptr<CpuKernel> make_resize_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext& ctx);

// Dispatches on the op; throws kUnsupported naming the node for anything else.
std::unique_ptr<CpuKernel> make_cpu_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext& ctx);

// Strided N-d copy: dst[idx] = src[idx] over `shape`, each side with its own strides.
void copy_strided(float* dst, const std::vector<std::int64_t>& dst_strides, const float* src,
                  const std::vector<std::int64_t>& src_strides, const std::vector<std::int64_t>& shape);

}  // namespace deeplab
