#include "cuda/cuda_steps.h"

#include "cuda/net_kernels.cuh"
#include "cuda/step_params.h"
#include "deeplab/error.h"
#include "graph/attrs.h"  // activation_of
#include "graph/ops.h"

namespace deeplab::cuda {

using Step = CudaNetwork::Step;

const void* StepContext::operand(int value) {
  return graph().values[value].is_constant ? constant(value) : data(value);
}

namespace {

class ConvStep : public Step {
 public:
  ConvStep(const Node& n, StepContext& ctx) : ctx_(ctx) {
    const Graph& g = ctx.graph();
    const ConvPlan plan = plan_conv(g, n, ctx.type());
    const ConvShape& s = plan.shape;
    const Value& w = g.values[n.inputs[1]];
    ConvBuffers b;
    b.x = ctx.data(n.inputs[0]);
    b.padded = plan.pre_pad() ? ctx.pad_scratch() : nullptr;
    b.weights = ctx.upload(to_krsc(w.f, s.k, s.c / s.groups, s.r, s.s));
    b.bias = ctx.upload(plan.has_bias ? g.values[n.inputs[2]].f : std::vector<float>(s.k, 0.0f));
    b.residual = plan.has_residual ? ctx.data(n.residual) : nullptr;
    b.residual_in_place = ctx.plan().residual_in_place(g, n);
    b.y = ctx.data(n.outputs[0]);
    conv_ = std::make_unique<CudaConv>(plan, b, g.source + ": " + g.describe(n));
    label = s.depthwise() ? "Conv depthwise" : "Conv " + std::to_string(s.r) + "x" + std::to_string(s.s);
  }
  void enqueue(cudaStream_t stream) override {
    conv_->enqueue(ctx_.cudnn(), stream, ctx_.workspace(), ctx_.workspace_bytes());
  }
  CudaConv* conv() override { return conv_.get(); }

 private:
  StepContext& ctx_;
  std::unique_ptr<CudaConv> conv_;
};

// One input and one output in the network's element type: what the element-wise, pooling, resize
// and batch-norm steps hold besides their own parameters (made once, at load).
class OneInputStep : public Step {
 protected:
  OneInputStep(const Node& n, StepContext& ctx)
      : type_(ctx.type()), src_(ctx.data(n.inputs[0])), dst_(ctx.data(n.outputs[0])) {
    label = n.op;
  }
  TensorType type_;
  const void* src_;
  void* dst_;
};

class UnaryStep : public OneInputStep {
 public:
  UnaryStep(const Node& n, StepContext& ctx)
      : OneInputStep(n, ctx), act_(activation_params(activation_of(ctx.graph(), n))),
        count_(ctx.graph().values[n.outputs[0]].element_count()) {}
  void enqueue(cudaStream_t stream) override { launch_unary(act_, type_, src_, dst_, count_, stream); }

 private:
  ActivationParams act_;
  std::int64_t count_;
};

class BinaryStep : public Step {
 public:
  BinaryStep(const Node& n, StepContext& ctx)
      : type_(ctx.type()), params_(binary_params(ctx.graph(), n)), a_(ctx.operand(n.inputs[0])),
        b_(ctx.operand(n.inputs[1])), dst_(ctx.data(n.outputs[0])) {
    label = n.op;
  }
  void enqueue(cudaStream_t stream) override { launch_binary(params_, type_, a_, b_, dst_, stream); }

 private:
  TensorType type_;
  BinaryParams params_;
  const void* a_;
  const void* b_;
  void* dst_;
};

class BatchNormStep : public OneInputStep {
 public:
  BatchNormStep(const Node& n, StepContext& ctx) : OneInputStep(n, ctx) {
    const ChannelAffine a = batchnorm_affine(ctx.graph(), n);
    channels_ = a.channels;
    count_ = a.count;
    scale_ = ctx.upload_floats(a.scale);
    shift_ = ctx.upload_floats(a.shift);
  }
  void enqueue(cudaStream_t stream) override {
    launch_channel_affine(type_, src_, dst_, scale_, shift_, count_, channels_, stream);
  }

 private:
  int channels_ = 0;
  std::int64_t count_ = 0;
  const float* scale_ = nullptr;
  const float* shift_ = nullptr;
};

class PoolStep : public OneInputStep {
 public:
  PoolStep(const Node& n, StepContext& ctx) : OneInputStep(n, ctx), p_(pool_params(ctx.graph(), n)) {}
  void enqueue(cudaStream_t stream) override { launch_pool(p_, type_, src_, dst_, stream); }

 private:
  PoolParams p_;
};

class GlobalPoolStep : public OneInputStep {
 public:
  GlobalPoolStep(const Node& n, StepContext& ctx) : OneInputStep(n, ctx), s_(global_pool_shape(ctx.graph(), n)) {}
  void enqueue(cudaStream_t stream) override {
    launch_global_pool(type_, s_.max, src_, dst_, s_.batch, s_.pixels, s_.channels, stream);
  }

 private:
  GlobalPoolShape s_;
};

// The CPU's ResizeKernel: dense NHWC (physically) in and out, make_resample_geometry's tables,
// uploaded once and used by every item of the batch (one launch over all of them).
class ResizeStep : public OneInputStep {
 public:
  ResizeStep(const Node& n, StepContext& ctx) : OneInputStep(n, ctx) {
    const ResampleGeometry geo = resize_geometry(ctx.graph(), n);
    p_ = resize_params(geo, static_cast<int>(ctx.graph().values[n.inputs[0]].shape[0]));
    p_.row0 = ctx.upload_ints(geo.rows.index0);
    p_.row1 = ctx.upload_ints(geo.rows.index1);
    p_.row_w1 = ctx.upload_floats(geo.rows.weight1);
    p_.col0 = ctx.upload_ints(geo.cols.index0);
    p_.col1 = ctx.upload_ints(geo.cols.index1);
    p_.col_w1 = ctx.upload_floats(geo.cols.weight1);
  }
  void enqueue(cudaStream_t stream) override { launch_resize(p_, type_, src_, dst_, stream); }

 private:
  ResizeParams p_;
};

// Strided copies of whole inputs into (slices of) the output: Concat, Transpose, Reorder, reshapes,
// and the float/half conversions at the network's edges.
class CopyStep : public Step {
 public:
  struct Part {
    CopyParams params;
    const void* src;
    void* dst;
  };
  CopyStep(TensorType src_type, TensorType dst_type, std::vector<Part> parts, std::string name)
      : src_type_(src_type), dst_type_(dst_type), parts_(std::move(parts)) {
    label = std::move(name);
  }
  void enqueue(cudaStream_t stream) override {
    for (const Part& p : parts_) launch_copy(p.params, src_type_, p.src, dst_type_, p.dst, stream);
  }

 private:
  TensorType src_type_, dst_type_;
  std::vector<Part> parts_;
};

std::unique_ptr<Step> make_concat(const Node& n, StepContext& ctx) {
  std::vector<CopyStep::Part> parts;
  char* out = static_cast<char*>(ctx.data(n.outputs[0]));
  const auto bytes = static_cast<std::int64_t>(tensor_type_bytes(ctx.type()));
  for (const ConcatPart& part : concat_parts(ctx.graph(), n))
    parts.push_back({part.params, ctx.operand(part.value), out + part.dst_offset * bytes});
  return std::make_unique<CopyStep>(ctx.type(), ctx.type(), std::move(parts), n.op);
}

std::unique_ptr<Step> make_copy(const Node& n, StepContext& ctx) {
  const CopyParams params =
      op_def(n).kernel == OpKernel::kTranspose ? transpose_params(ctx.graph(), n) : relayout_params(ctx.graph(), n);
  std::vector<CopyStep::Part> parts{{params, ctx.operand(n.inputs[0]), ctx.data(n.outputs[0])}};
  return std::make_unique<CopyStep>(ctx.type(), ctx.type(), std::move(parts), n.op);
}

}  // namespace

std::unique_ptr<Step> make_convert_step(std::int64_t count, TensorType src_type, const void* src, TensorType dst_type,
                                        void* dst, const std::string& label) {
  std::vector<CopyStep::Part> parts{{make_copy_params({count}, {1}, {1}), src, dst}};
  return std::make_unique<CopyStep>(src_type, dst_type, std::move(parts), label);
}

std::unique_ptr<Step> make_step(const Node& n, StepContext& ctx) {
  const Graph& g = ctx.graph();
  switch (classify_node(g, n)) {
    case NodeKernel::kConv: return std::make_unique<ConvStep>(n, ctx);
    case NodeKernel::kPool: return std::make_unique<PoolStep>(n, ctx);
    case NodeKernel::kGlobalPool: return std::make_unique<GlobalPoolStep>(n, ctx);
    case NodeKernel::kResize: return std::make_unique<ResizeStep>(n, ctx);
    case NodeKernel::kUnary: return std::make_unique<UnaryStep>(n, ctx);
    case NodeKernel::kBinary: return std::make_unique<BinaryStep>(n, ctx);
    case NodeKernel::kBatchNorm: return std::make_unique<BatchNormStep>(n, ctx);
    case NodeKernel::kConcat: return make_concat(n, ctx);
    case NodeKernel::kCopy: {
      const auto& root = ctx.plan().storage_root;
      if (root[n.inputs[0]] == root[n.outputs[0]]) return nullptr;  // aliased: shares its input's storage
      return make_copy(n, ctx);
    }
  }
  throw Error(ErrorCode::kInternal, g.source + ": " + g.describe(n) + ": no CUDA step");
}

}  // namespace deeplab::cuda
