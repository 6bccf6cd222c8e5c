// Convolution through oneDNN: NHWC activations, weights reordered once into the layout the chosen
// implementation wants, bias + residual sum + activation fused as post-ops.
#include <oneapi/dnnl/dnnl.hpp>

#include <cstring>

#include "cpu/dnnl_execute.h"
#include "cpu/kernel.h"
#include "graph/attrs.h"

namespace deeplab {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

void append_activation(dnnl::post_ops& ops, const Activation& a) {
  switch (a.kind) {
    case Activation::kNone: break;
    case Activation::kRelu: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f); break;
    case Activation::kClip: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, a.alpha, a.beta); break;
    case Activation::kSigmoid: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_logistic, 0.0f, 0.0f); break;
    case Activation::kHardSwish: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_hardswish, 0.0f, 0.0f); break;
    case Activation::kHardSigmoid:  // clip(alpha * x + beta, 0, 1)
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, a.alpha, a.beta);
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 1.0f);
      break;
  }
}

class ConvKernel : public CpuKernel {
 public:
  ConvKernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext& ctx) : ctx_(ctx) {
    const ConvAttrs a = parse_conv(g, n);
    const Value& x = g.values[n.inputs[0]];
    const Value& w = g.values[n.inputs[1]];
    const Value& y = g.values[n.outputs[0]];
    const memory::dim N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
    const memory::dim O = a.out_channels, OH = y.shape[2], OW = y.shape[3];
    const memory::dim G = a.groups;
    memory::desc src_md({N, C, H, W}, dt::f32, tag::nhwc);
    memory::desc dst_md({N, O, OH, OW}, dt::f32, tag::nhwc);
    memory::dims w_dims = G == 1 ? memory::dims{O, C, a.kernel_h, a.kernel_w}
                                 : memory::dims{G, O / G, C / G, a.kernel_h, a.kernel_w};
    memory::desc w_user_md(w_dims, dt::f32, G == 1 ? tag::oihw : tag::goihw);
    memory::desc w_any_md(w_dims, dt::f32, tag::any);
    memory::desc b_md({O}, dt::f32, tag::x);

    dnnl::post_ops ops;
    if (n.residual >= 0) ops.append_sum(1.0f);
    append_activation(ops, n.activation);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);

    dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md, w_any_md, b_md,
        dst_md, {a.stride_h, a.stride_w}, {a.dilation_h - 1, a.dilation_w - 1}, {a.pad_top, a.pad_left},
        {a.pad_bottom, a.pad_right});
    pd_ = dnnl::convolution_forward::primitive_desc(desc, attr, *ctx.engine);
    conv_ = dnnl::convolution_forward(pd_);

    // Weights: reorder once into the implementation's preferred layout, owned by this kernel.
    memory w_user(w_user_md, *ctx.engine, const_cast<float*>(w.f.data()));
    weights_ = memory(pd_.weights_desc(), *ctx.engine);
    dnnl::reorder(w_user, weights_).execute(*ctx.stream, w_user, weights_);
    bias_data_.assign(static_cast<std::size_t>(O), 0.0f);
    if (n.inputs.size() > 2 && n.inputs[2] >= 0) bias_data_ = g.values[n.inputs[2]].f;
    bias_ = memory(b_md, *ctx.engine, bias_data_.data());
    src_ = memory(src_md, *ctx.engine, t.data(n.inputs[0]));
    dst_ = memory(dst_md, *ctx.engine, t.data(n.outputs[0]));
    if (n.residual >= 0 && !t.same_storage(n.residual, n.outputs[0])) {
      // The residual is still needed later: copy it into the output before the fused sum.
      residual_copy_src_ = t.data(n.residual);
      residual_copy_bytes_ = static_cast<std::size_t>(y.element_count()) * sizeof(float);
    }
    ctx.stream->wait();
  }

  std::size_t scratchpad_bytes() const override { return pd_.scratchpad_desc().get_size(); }
  void bind_scratchpad(void* buffer) override {
    scratchpad_ = memory(pd_.scratchpad_desc(), *ctx_.engine, buffer);
    // The C argument list is built once: dnnl::primitive::execute(stream, map) would allocate a
    // vector on every call, and a frame of an unchanged size must not allocate.
    c_args_ = {{DNNL_ARG_SRC, src_.get(true)}, {DNNL_ARG_WEIGHTS, weights_.get(true)}, {DNNL_ARG_BIAS, bias_.get(true)},
               {DNNL_ARG_DST, dst_.get(true)}, {DNNL_ARG_SCRATCHPAD, scratchpad_.get(true)}};
  }

  void run() override {
    if (residual_copy_src_)
      std::memcpy(dst_.get_data_handle(), residual_copy_src_, residual_copy_bytes_);
    execute_with_args(conv_, *ctx_.stream, c_args_, "could not execute a convolution");
  }

 private:
  CpuContext& ctx_;
  dnnl::convolution_forward::primitive_desc pd_;
  dnnl::convolution_forward conv_;
  memory weights_, bias_, src_, dst_, scratchpad_;
  std::vector<float> bias_data_;
  std::vector<dnnl_exec_arg_t> c_args_;
  const float* residual_copy_src_ = nullptr;
  std::size_t residual_copy_bytes_ = 0;
};

}  // namespace

std::unique_ptr<CpuKernel> make_conv_kernel(const Graph& g, const Node& n, TensorAccess& t, CpuContext& ctx) {
  return std::make_unique<ConvKernel>(g, n, t, ctx);
}

}  // namespace deeplab
