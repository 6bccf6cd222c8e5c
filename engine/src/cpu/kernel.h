// CPU kernels: one object per graph node, built once at load with every pointer resolved, so that
// running the network is a loop of run() calls that allocates nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "graph/attrs.h"    // activation_of
#include "graph/graph.h"
#include "graph/strides.h"  // physical_strides, plain_strides, copy_strided

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

// The kernel factories, one per OpKernel family (graph/ops.h); make_cpu_kernel dispatches on the
// node's OpDef (cpu/kernel_table.cpp). One function type for all: each is defined with this signature
// in its kernel's file (conv_dnnl, pool, elementwise, data_movement).
using CpuKernelMaker = std::unique_ptr<CpuKernel>(const Graph& g, const Node& n, TensorAccess& t, CpuContext& ctx);
using CpuKernelFactory = CpuKernelMaker*;
CpuKernelMaker make_conv_kernel, make_pool_kernel, make_global_pool_kernel, make_resize_kernel, make_unary_kernel,
    make_binary_kernel, make_batchnorm_kernel, make_concat_kernel, make_transpose_kernel, make_pad_kernel,
    make_relayout_kernel;

// Dispatches on the node's OpDef::kernel; throws kUnsupported naming the node for ops with none.
std::unique_ptr<CpuKernel> make_cpu_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext& ctx);

}  // namespace deeplab
