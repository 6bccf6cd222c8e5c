// Max/average pooling through oneDNN (NHWC); global average pooling as a plain channel-sum loop.
#include <oneapi/dnnl/dnnl.hpp>

#include "cpu/dnnl_execute.h"
#include "cpu/kernel.h"
#include "graph/attrs.h"

namespace deeplab {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

class PoolKernel : public CpuKernel {
 public:
  PoolKernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext& ctx) : ctx_(ctx) {
    const PoolAttrs a = parse_pool(g, n);
    const Value& x = g.values[n.inputs[0]];
    const auto& s = x.shape;
    memory::desc src_md({s[0], s[1], s[2], s[3]}, dt::f32, tag::nhwc);
    memory::desc dst_md({s[0], s[1], a.out_h, a.out_w}, dt::f32, tag::nhwc);
    // ceil_mode: extend the right/bottom padding so oneDNN's floor formula yields the same size.
    const memory::dim pad_b = std::max<memory::dim>(a.pad_bottom, (a.out_h - 1) * a.stride_h + a.kernel_h - s[2] - a.pad_top);
    const memory::dim pad_r = std::max<memory::dim>(a.pad_right, (a.out_w - 1) * a.stride_w + a.kernel_w - s[3] - a.pad_left);
    const auto alg = a.max ? dnnl::algorithm::pooling_max
                     : a.count_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                           : dnnl::algorithm::pooling_avg_exclude_padding;
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, alg, src_md, dst_md,
                                     {a.stride_h, a.stride_w}, {a.kernel_h, a.kernel_w},
                                     {a.pad_top, a.pad_left}, {pad_b, pad_r});
    pd_ = dnnl::pooling_forward::primitive_desc(desc, attr, *ctx.engine);
    pool_ = dnnl::pooling_forward(pd_);
    src_ = memory(src_md, *ctx.engine, t.data(n.inputs[0]));
    dst_ = memory(dst_md, *ctx.engine, t.data(n.outputs[0]));
  }
  std::size_t scratchpad_bytes() const override { return pd_.scratchpad_desc().get_size(); }
  void bind_scratchpad(void* buffer) override {
    scratchpad_ = memory(pd_.scratchpad_desc(), *ctx_.engine, buffer);
    // Built once: dnnl::primitive::execute(stream, map) would allocate on every call.
    c_args_ = {{DNNL_ARG_SRC, src_.get(true)}, {DNNL_ARG_DST, dst_.get(true)}, {DNNL_ARG_SCRATCHPAD, scratchpad_.get(true)}};
  }
  void run() override {
    execute_with_args(pool_, *ctx_.stream, c_args_, "could not execute a pooling");
  }

 private:
  CpuContext& ctx_;
  dnnl::pooling_forward::primitive_desc pd_;
  dnnl::pooling_forward pool_;
  memory src_, dst_, scratchpad_;
  std::vector<dnnl_exec_arg_t> c_args_;
};

class GlobalPoolKernel : public CpuKernel {
 public:
  GlobalPoolKernel(const Graph& g, const Node& n, TensorAccess& t) {
    const PoolAttrs a = parse_pool(g, n);
    const auto& s = g.values[n.inputs[0]].shape;
    batch_ = s[0];
    channels_ = s[1];
    pixels_ = s[2] * s[3];
    max_ = a.max;
    src_ = t.data(n.inputs[0]);
    dst_ = t.data(n.outputs[0]);
  }
  void run() override {
    for (std::int64_t b = 0; b < batch_; ++b) {
      const float* in = src_ + b * pixels_ * channels_;
      float* out = dst_ + b * channels_;
      for (std::int64_t c = 0; c < channels_; ++c) out[c] = max_ ? in[c] : 0.0f;
      for (std::int64_t p = max_ ? 1 : 0; p < pixels_; ++p) {
        const float* row = in + p * channels_;
        if (max_) {
          for (std::int64_t c = 0; c < channels_; ++c) out[c] = std::max(out[c], row[c]);
        } else {
#pragma omp simd
          for (std::int64_t c = 0; c < channels_; ++c) out[c] += row[c];
        }
      }
      if (!max_)
        for (std::int64_t c = 0; c < channels_; ++c) out[c] /= static_cast<float>(pixels_);
    }
  }

 private:
  std::int64_t batch_ = 1, channels_ = 0, pixels_ = 0;
  bool max_ = false;
  const float* src_ = nullptr;
  float* dst_ = nullptr;
};

}  // namespace

std::unique_ptr<CpuKernel> make_global_pool_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext&) {
  return std::make_unique<GlobalPoolKernel>(g, n, t);
}

std::unique_ptr<CpuKernel> make_pool_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext& ctx) {
  return std::make_unique<PoolKernel>(g, n, t, ctx);
}

}  // namespace deeplab
