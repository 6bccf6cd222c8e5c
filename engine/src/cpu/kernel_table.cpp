// The CPU backend's op table: one kernel factory per OpKernel family of graph/ops.h.
#include <oneapi/dnnl/dnnl.hpp>

#include "cpu/kernel.h"
#include "deeplab/error.h"
#include "graph/ops.h"

namespace deeplab {
namespace {

CpuKernelFactory factory(OpKernel kernel) {
  switch (kernel) {
    case OpKernel::kConv: return make_conv_kernel;
    case OpKernel::kPool: return make_pool_kernel;
    case OpKernel::kGlobalPool: return make_global_pool_kernel;
    case OpKernel::kResize: return make_resize_kernel;
    case OpKernel::kUnary: return make_unary_kernel;
    case OpKernel::kBinary: return make_binary_kernel;
    case OpKernel::kBatchNorm: return make_batchnorm_kernel;
    case OpKernel::kConcat: return make_concat_kernel;
    case OpKernel::kTranspose: return make_transpose_kernel;
    case OpKernel::kRelayout: return make_relayout_kernel;
    case OpKernel::kPad: return make_pad_kernel;
    case OpKernel::kNone: break;
  }
  return nullptr;
}

}  // namespace

std::unique_ptr<CpuKernel> make_cpu_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext& ctx) {
  const CpuKernelFactory make = factory(op_def(n).kernel);
  if (make) {
    try {
      return make(g, n, t, ctx);
    } catch (const dnnl::error& e) {  // a primitive oneDNN has no implementation for
      throw Error(ErrorCode::kUnsupported, g.source + ": " + g.describe(n) + ": oneDNN cannot run it: " + e.what());
    }
  }
  throw Error(ErrorCode::kUnsupported, g.source + ": op " + n.op + " (" + g.describe(n) + ") has no CPU kernel");
}

}  // namespace deeplab
