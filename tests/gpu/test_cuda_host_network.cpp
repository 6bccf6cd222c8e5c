// Host-only tests of the CUDA network (label unit; no GPU needed): the op coverage decision, the
// memory plan, the convolution plans and algorithm-cache keys, the copy/broadcast parameter
// builders — and, end to end, an emulation that runs every step's per-element code
// (cuda/net_ops.h) with exactly the parameters the GPU steps use (cuda/step_params.h,
// cuda/conv_plan.h) over the planned arena, against the CPU backend. What this cannot check is the
// device itself (cuDNN, launches, fp16 arithmetic, graph capture): deeplab_gpu_tests does.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <thread>

#include "cpu/cpu_network.h"
#include "cpu/kernel.h"
#include "backend/registry.h"
#include "backend/segmenter_backend.h"
#include "cuda/conv_plan.h"
#include "cuda/net_ops.h"
#include "cuda/network_plan.h"
#include "cuda/step_params.h"
#include "deeplab/batching.h"
#include "deeplab/error.h"
#include "deeplab/manifest.h"
#include "deeplab/segmenter.h"
#include "gpu_cases.h"
#include "net_cases.h"
#include "onnx_builder.h"
#include "network_loader.h"

using namespace deeplab;
using namespace deeplab::cuda;
using namespace deeplab::test;

namespace {

const std::string kSharedModel = std::string(DEEPLAB_SHARED_DIR) + "/models/deeplab_v3_1_default_1.onnx";

Graph load_graph(const std::string& path, std::vector<std::int64_t> input_shape = {}, bool remove_final_resize = true) {
  LoadOptions options;
  options.input_shape = std::move(input_shape);
  options.remove_final_resize = remove_final_resize;
  return load_optimized_graph(path, options, nullptr);
}

// ---- the emulation: the GPU steps' code on the host, fp32, over the planned arena ----

class HostEmulator {
 public:
  explicit HostEmulator(const Graph& g)
      : g_(g), plan_(plan_memory(g, sizeof(float), 256)),
        // NaN everywhere: a step that reads what nothing wrote poisons the result.
        arena_(plan_.arena_bytes / sizeof(float) + 64, std::numeric_limits<float>::quiet_NaN()) {}

  void set_input_logical(const std::vector<float>& input) {
    const Value& v = g_.values[g_.inputs[0]];
    copy_strided(data(g_.inputs[0]), physical_strides(v), input.data(), plain_strides(v.shape), v.shape);
  }

  void run() {
    for (const Node& n : g_.nodes) run_node(n);
  }

  // The network's output for `input`, both in logical (NCHW / graph) layout.
  std::vector<float> run_logical(const std::vector<float>& input) {
    set_input_logical(input);
    run();
    return output_logical();
  }

  std::vector<float> output_logical() {
    const int out = g_.outputs[0];
    const Value& v = g_.values[out];
    std::vector<float> result(static_cast<std::size_t>(v.element_count()));
    copy_strided(result.data(), plain_strides(v.shape), data(out), physical_strides(v), v.shape);
    return result;
  }

  const MemoryPlan& plan() const { return plan_; }
  int in_place_residuals = 0, kept_residuals = 0, pre_padded = 0;

 private:
  float* data(int value) {
    if (g_.values[value].is_constant) throw std::runtime_error("emulator: data() of a constant");
    return arena_.data() + plan_.offset[plan_.storage_root[value]] / sizeof(float);
  }
  const float* operand(int value) {
    const Value& v = g_.values[value];
    return v.is_constant ? v.f.data() : data(value);
  }

  void copy(const CopyParams& p, const float* src, float* dst) {
    for (std::int64_t i = 0; i < p.count; ++i) {
      std::int64_t s, d;
      copy_offsets(p, i, s, d);
      dst[d] = src[s];
    }
  }

  // The node's NHWC output in memory order, each element value(load, b, y, x, c) with load(i)
  // reading the node's input, as the CUDA kernels compute it.
  template <typename Value>
  void fill_nhwc(const Node& n, int batch, int height, int width, int channels, Value value) {
    const float* src = data(n.inputs[0]);
    float* dst = data(n.outputs[0]);
    auto load = [src](std::int64_t i) { return src[i]; };
    std::int64_t i = 0;
    for (int b = 0; b < batch; ++b)
      for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
          for (int c = 0; c < channels; ++c) dst[i++] = value(load, b, y, x, c);
  }

  void run_node(const Node& n) {
    switch (classify_node(g_, n)) {
      case NodeKernel::kConv: conv(n); break;
      case NodeKernel::kUnary: {
        const ActivationParams a = activation_params(activation_of(g_, n));
        const float* src = data(n.inputs[0]);
        float* dst = data(n.outputs[0]);
        const std::int64_t count = g_.values[n.outputs[0]].element_count();
        for (std::int64_t i = 0; i < count; ++i) dst[i] = apply_activation(src[i], a);
        break;
      }
      case NodeKernel::kBinary: {
        const BinaryParams p = binary_params(g_, n);
        const float* a = operand(n.inputs[0]);
        const float* b = operand(n.inputs[1]);
        float* dst = data(n.outputs[0]);
        for (std::int64_t i = 0; i < p.count; ++i) {
          std::int64_t d, ia, ib;
          binary_offsets(p, i, d, ia, ib);
          dst[d] = apply_binary(p.op, a[ia], b[ib]);
        }
        break;
      }
      case NodeKernel::kBatchNorm: {
        const ChannelAffine a = batchnorm_affine(g_, n);
        const float* x = data(n.inputs[0]);
        float* y = data(n.outputs[0]);
        for (std::int64_t i = 0; i < a.count; ++i)
          y[i] = add_rn(mul_rn(x[i], a.scale[i % a.channels]), a.shift[i % a.channels]);
        break;
      }
      case NodeKernel::kPool: {
        const PoolParams p = pool_params(g_, n);
        fill_nhwc(n, p.batch, p.out_h, p.out_w, p.channels,
                  [&p](auto load, int b, int y, int x, int c) { return pool_value(p, load, b, y, x, c); });
        break;
      }
      case NodeKernel::kGlobalPool: {
        const GlobalPoolShape s = global_pool_shape(g_, n);
        const float* src = data(n.inputs[0]);
        float* dst = data(n.outputs[0]);
        for (int b = 0; b < s.batch; ++b)
          for (int c = 0; c < s.channels; ++c) {
            float acc = s.max ? -INFINITY : 0.0f;
            for (std::int64_t q = 0; q < s.pixels; ++q) {
              const float v = src[(b * s.pixels + q) * s.channels + c];
              acc = s.max ? std::max(acc, v) : acc + v;
            }
            dst[b * s.channels + c] = s.max ? acc : acc / static_cast<float>(s.pixels);
          }
        break;
      }
      case NodeKernel::kResize: {
        const ResampleGeometry geo = resize_geometry(g_, n);
        const ResizeParams p = resize_params(geo, static_cast<int>(g_.values[n.inputs[0]].shape[0]));
        fill_nhwc(n, p.batch, p.out_h, p.out_w, p.channels,
                  [&p](auto load, int b, int y, int x, int c) { return resize_value(p, load, b, y, x, c); });
        break;
      }
      case NodeKernel::kConcat:
        for (const ConcatPart& part : concat_parts(g_, n))
          copy(part.params, operand(part.value), data(n.outputs[0]) + part.dst_offset);
        break;
      case NodeKernel::kCopy:
        if (plan_.storage_root[n.inputs[0]] == plan_.storage_root[n.outputs[0]]) break;  // aliased
        copy(n.op == "Transpose" ? transpose_params(g_, n) : relayout_params(g_, n), operand(n.inputs[0]),
             data(n.outputs[0]));
        break;
    }
  }

  // cuDNN's convolution as the plan describes it (pre-padded input, symmetric padding, KRSC
  // weights, NHWC), accumulated in double, then the own-kernel epilogue: beta = 1 when the residual
  // lives in the output's storage, else bias_activation adds it.
  void conv(const Node& n) {
    const ConvPlan p = plan_conv(g_, n, TensorType::kFloat);
    const ConvShape& s = p.shape;
    const float* x = data(n.inputs[0]);
    std::vector<float> padded;
    if (p.pre_pad()) {
      ++pre_padded;
      PadParams pp;
      pp.batch = s.n;
      pp.in_h = p.in_h;
      pp.in_w = p.in_w;
      pp.channels = s.c;
      pp.out_h = s.h;
      pp.out_w = s.w;
      pp.top = p.extra_top;
      pp.left = p.extra_left;
      padded.resize(p.padded_elements());
      for (std::size_t i = 0; i < padded.size(); ++i) {
        const std::int64_t src = pad_source(pp, static_cast<std::int64_t>(i));
        padded[i] = src < 0 ? 0.0f : x[src];
      }
      x = padded.data();
    }
    const int cpg = s.c / s.groups, kpg = s.k / s.groups;
    const std::vector<float> w = to_krsc(g_.values[n.inputs[1]].f, s.k, cpg, s.r, s.s);
    const std::vector<float> bias = p.has_bias ? g_.values[n.inputs[2]].f : std::vector<float>(s.k, 0.0f);
    float* y = data(n.outputs[0]);
    const bool in_place = plan_.residual_in_place(g_, n);
    const float* z = p.has_residual && !in_place ? data(n.residual) : nullptr;
    if (p.has_residual) ++(in_place ? in_place_residuals : kept_residuals);
    const ActivationParams act = activation_params(p.activation);
    for (int b = 0; b < s.n; ++b)
      for (int oy = 0; oy < s.out_h; ++oy)
        for (int ox = 0; ox < s.out_w; ++ox)
          for (int k = 0; k < s.k; ++k) {
            const int group = k / kpg;
            double acc = 0;
            for (int r = 0; r < s.r; ++r) {
              const int iy = oy * s.stride_h - s.pad_h + r * s.dilation_h;
              if (iy < 0 || iy >= s.h) continue;
              for (int q = 0; q < s.s; ++q) {
                const int ix = ox * s.stride_w - s.pad_w + q * s.dilation_w;
                if (ix < 0 || ix >= s.w) continue;
                const float* xp = x + ((static_cast<std::int64_t>(b) * s.h + iy) * s.w + ix) * s.c + group * cpg;
                const float* wp = w.data() + ((static_cast<std::int64_t>(k) * s.r + r) * s.s + q) * cpg;
                for (int c = 0; c < cpg; ++c) acc += static_cast<double>(xp[c]) * wp[c];
              }
            }
            const std::int64_t at = ((static_cast<std::int64_t>(b) * s.out_h + oy) * s.out_w + ox) * s.k + k;
            float v = static_cast<float>(acc);
            if (in_place) v += y[at];
            v += bias[k];
            if (z) v += z[at];
            y[at] = apply_activation(v, act);
          }
  }

  const Graph& g_;
  MemoryPlan plan_;
  std::vector<float> arena_;
};

std::vector<float> run_cpu(Graph g, const std::vector<float>& input) {
  CpuNetwork net(std::move(g), 2);
  net.set_input_logical(input.data());
  net.run();
  std::vector<float> out;
  net.output_logical(net.output_value(), out);
  return out;
}

struct Difference {
  std::size_t count = 0, identical = 0, non_finite = 0;
  double max_abs = 0, max_ref = 0;
  std::string describe() const {
    return std::to_string(identical) + "/" + std::to_string(count) + " identical, max |diff| " + std::to_string(max_abs) +
           " (max |ref| " + std::to_string(max_ref) + "), " + std::to_string(non_finite) + " non-finite";
  }
};

Difference difference(const std::vector<float>& want, const std::vector<float>& got) {
  Difference d;
  d.count = want.size();
  for (std::size_t k = 0; k < want.size() && k < got.size(); ++k) {
    if (!std::isfinite(got[k])) ++d.non_finite;
    if (std::memcmp(&want[k], &got[k], sizeof(float)) == 0) ++d.identical;
    d.max_abs = std::max(d.max_abs, std::fabs(static_cast<double>(want[k]) - got[k]));
    d.max_ref = std::max(d.max_ref, std::fabs(static_cast<double>(want[k])));
  }
  if (got.size() != want.size()) d.non_finite = want.size();
  return d;
}

// Are two root buffers that are live at the same time ever overlapping in the arena?
std::string overlap_violation(const Graph& g, const MemoryPlan& plan) {
  std::vector<int> roots;
  for (int v = 0; v < static_cast<int>(g.values.size()); ++v)
    if (plan.storage_root[v] == v && plan.bytes[v] > 0) roots.push_back(v);
  for (std::size_t i = 0; i < roots.size(); ++i)
    for (std::size_t j = i + 1; j < roots.size(); ++j) {
      const int a = roots[i], b = roots[j];
      const bool live_together = !(plan.last[a] < plan.first[b] || plan.last[b] < plan.first[a]);
      const bool bytes_overlap = plan.offset[a] < plan.offset[b] + plan.bytes[b] && plan.offset[b] < plan.offset[a] + plan.bytes[a];
      if (live_together && bytes_overlap) return g.values[a].name + " and " + g.values[b].name;
    }
  return "";
}

// Every activation a node touches has storage, inside the arena, large enough for it.
std::string storage_violation(const Graph& g, const MemoryPlan& plan, std::size_t element_bytes) {
  for (const Node& n : g.nodes) {
    std::vector<int> values = n.inputs;
    values.insert(values.end(), n.outputs.begin(), n.outputs.end());
    if (n.residual >= 0) values.push_back(n.residual);
    for (int v : values) {
      if (v < 0 || g.values[v].is_constant) continue;
      const int r = plan.storage_root[v];
      const std::size_t need = static_cast<std::size_t>(g.values[v].element_count()) * element_bytes;
      if (plan.bytes[r] < need || plan.offset[r] + plan.bytes[r] > plan.arena_bytes || plan.offset[r] % 256)
        return g.describe(n) + ": value " + g.values[v].name;
    }
  }
  return "";
}

}  // namespace

// ===================================== op coverage =====================================

TEST(CudaNetworkPlan, EveryNodeOfTheCasesAndTheSharedModelHasAKernel) {
  for (const NetCase& c : net_cases()) {
    const Graph g = load_case_graph(c);
    for (const Node& n : g.nodes) EXPECT_NO_THROW(classify_node(g, n)) << c.name << ": " << g.describe(n);
  }
  const Graph g = load_graph(kSharedModel);
  std::set<std::string> kinds;
  for (const Node& n : g.nodes) kinds.insert(node_kernel_name(classify_node(g, n)));
  // Its Adds became conv residuals and its Clips conv activations.
  EXPECT_EQ(kinds, (std::set<std::string>{"conv", "pool", "concat", "copy", "resize"}));
}

// The GPU refuses exactly what the CPU refuses, at load, naming the node and the op.
TEST(CudaNetworkPlan, UnsupportedOpsFailAtLoadNamingNodeAndOpLikeTheCpu) {
  for (const UnsupportedCase& c : unsupported_cases()) {
    const Graph g = load_graph(c.onnx_path);
    const Node* node = nullptr;
    for (const Node& n : g.nodes)
      if (n.op == c.op) node = &n;
    ASSERT_NE(node, nullptr) << c.op;
    try {
      classify_node(g, *node);
      ADD_FAILURE() << c.op << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kUnsupported) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.op), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.node_name), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos) << e.what();
    }
    try {
      CpuNetwork cpu(load_graph(c.onnx_path), 1);
      ADD_FAILURE() << c.op << " was accepted by the CPU backend";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kUnsupported) << e.what();
    }
  }
}

TEST(CudaNetworkPlan, RefusalsOfTheCpuKernelsHappenAtClassification) {
  // Nodes the CPU's kernels would refuse when built, made on the real graph: a Clip whose upper
  // bound is an activation (not a constant) and an Add of three inputs.
  Graph g = load_graph(kSharedModel);
  for (Node& n : g.nodes) {
    if (n.op != "Conv") continue;
    Node clip;
    clip.op = "Clip";
    clip.name = "computed_clip";
    clip.inputs = {n.outputs[0], -1, n.outputs[0]};
    clip.outputs = {n.outputs[0]};
    try {
      classify_node(g, clip);
      ADD_FAILURE() << "a computed Clip bound was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
      EXPECT_NE(std::string(e.what()).find("computed_clip"), std::string::npos) << e.what();
    }
    Node add;
    add.op = "Add";
    add.name = "three_way_add";
    add.inputs = {n.outputs[0], n.outputs[0], n.outputs[0]};
    add.outputs = {n.outputs[0]};
    EXPECT_THROW(classify_node(g, add), Error);
    break;
  }
}

// ===================================== memory plan =====================================

// The same planning as the CPU backend: for fp32 with the CPU's 64-byte alignment the arena is
// byte for byte the CPU's size.
TEST(CudaNetworkPlan, Fp32PlanWithCpuAlignmentIsTheCpuArena) {
  std::vector<std::pair<std::string, Graph>> graphs;
  for (const NetCase& c : net_cases()) graphs.emplace_back(c.name, load_case_graph(c));
  graphs.emplace_back("shared model", load_graph(kSharedModel));
  for (auto& [name, g] : graphs) {
    const MemoryPlan plan = plan_memory(g, sizeof(float), 64);
    CpuNetwork cpu(g, 1);
    EXPECT_EQ(plan.arena_bytes, cpu.arena_bytes()) << name;
  }
}

TEST(CudaNetworkPlan, LiveBuffersNeverOverlapAndEveryValueFits) {
  std::vector<std::pair<std::string, Graph>> graphs;
  for (const NetCase& c : net_cases()) graphs.emplace_back(c.name, load_case_graph(c));
  graphs.emplace_back("shared model", load_graph(kSharedModel));
  for (auto& [name, g] : graphs)
    for (std::size_t bytes : {std::size_t{4}, std::size_t{2}}) {
      const MemoryPlan plan = plan_memory(g, bytes, 256);
      EXPECT_EQ(overlap_violation(g, plan), "") << name << ", " << bytes << "-byte elements";
      EXPECT_EQ(storage_violation(g, plan, bytes), "") << name << ", " << bytes << "-byte elements";
      // Reuse never needs more than one buffer per root, and for a real network far less.
      std::size_t sum = 0;
      for (std::size_t b : plan.bytes) sum += b;
      EXPECT_LE(plan.arena_bytes, sum) << name;
      if (name == "shared model") {
        EXPECT_LT(plan.arena_bytes, sum / 4) << name;
      }
    }
}

TEST(CudaNetworkPlan, Fp16ArenaIsAboutHalfTheFp32One) {
  const Graph g = load_graph(kSharedModel);
  const MemoryPlan f32 = plan_memory(g, 4, 256), f16 = plan_memory(g, 2, 256);
  EXPECT_LE(f16.arena_bytes, f32.arena_bytes / 2 + 256 * g.values.size());
  EXPECT_GE(f16.arena_bytes, f32.arena_bytes / 2 - 256 * g.values.size());
}

TEST(CudaNetworkPlan, LayoutOnlyTransposesShareStorage) {
  // The TF model's input transpose (NHWC -> NCHW, channels-last) and output transpose alias.
  const Graph g = load_graph(kSharedModel);
  const MemoryPlan plan = plan_memory(g, 4, 256);
  int aliased = 0;
  for (const Node& n : g.nodes)
    if (n.op == "Transpose") {
      EXPECT_EQ(plan.storage_root[n.inputs[0]], plan.storage_root[n.outputs[0]]) << g.describe(n);
      ++aliased;
    }
  EXPECT_EQ(aliased, 2);
}

// ===================================== convolutions =====================================

TEST(CudaConvPlan, SymmetricPaddingAndShapes) {
  const Graph g = load_graph(kSharedModel);
  int convs = 0, depthwise = 0;
  for (const Node& n : g.nodes) {
    if (n.op != "Conv") continue;
    ++convs;
    const ConvPlan p = plan_conv(g, n, TensorType::kHalf);
    EXPECT_FALSE(p.pre_pad()) << g.describe(n);
    EXPECT_EQ(p.shape.type, TensorType::kHalf);
    const Value& y = g.values[n.outputs[0]];
    EXPECT_EQ(p.shape.out_h, y.shape[2]);
    EXPECT_EQ(p.shape.out_w, y.shape[3]);
    EXPECT_EQ(p.shape.k, y.shape[1]);
    depthwise += p.shape.depthwise();
  }
  EXPECT_EQ(convs, 55);
  EXPECT_GT(depthwise, 10);
  // The first conv: 257x257x3, 16 3x3 filters (MobileNetV2 at depth 0.5), stride 2, padding 1.
  const Node& first = *std::find_if(g.nodes.begin(), g.nodes.end(), [](const Node& n) { return n.op == "Conv"; });
  const ConvShape s = plan_conv(g, first, TensorType::kFloat).shape;
  EXPECT_EQ(s.describe(), "1x257x257x3 -> 16 3x3 /1 s2 p1 d1 -> 129x129 fp32");
}

TEST(CudaConvPlan, AsymmetricPaddingIsPrePadded) {
  const NetCase& zoo = net_cases()[0];
  ASSERT_EQ(zoo.name, "conv_zoo");
  const Graph g = load_case_graph(zoo);
  int pre_padded = 0;
  for (const Node& n : g.nodes) {
    if (n.op != "Conv") continue;
    const ConvPlan p = plan_conv(g, n, TensorType::kFloat);
    if (!p.pre_pad()) continue;
    ++pre_padded;
    // SAME_UPPER, stride 2, 3x3 on 12x16: total padding 1 per axis, all of it after.
    EXPECT_EQ(p.extra_top, 0);
    EXPECT_EQ(p.extra_bottom, 1);
    EXPECT_EQ(p.extra_left, 0);
    EXPECT_EQ(p.extra_right, 1);
    EXPECT_EQ(p.shape.pad_h, 0);
    EXPECT_EQ(p.shape.h, p.in_h + 1);
    EXPECT_EQ(p.shape.out_h, 6);
    EXPECT_EQ(p.shape.out_w, 8);
    EXPECT_EQ(p.padded_elements(), static_cast<std::size_t>(13 * 17 * 7));
  }
  EXPECT_EQ(pre_padded, 1);
}

TEST(CudaConvPlan, EpiloguesFollowTheFusedActivation) {
  const Graph g = load_case_graph(net_cases()[0]);
  std::vector<std::string> got;
  for (const Node& n : g.nodes)
    if (n.op == "Conv") got.push_back(conv_epilogue_name(plan_conv(g, n, TensorType::kFloat).wanted));
  // Relu (BN folded), Clip, HardSwish, Sigmoid, HardSigmoid, none.
  EXPECT_EQ(got, (std::vector<std::string>{"cudnn+relu", "own", "own", "own", "own", "cudnn"}));
}

TEST(CudaConvPlan, KrscWeightsHoldTheSameTaps) {
  const int k = 3, c = 5, r = 2, s = 3;
  std::vector<float> oihw(k * c * r * s);
  for (std::size_t i = 0; i < oihw.size(); ++i) oihw[i] = static_cast<float>(i);
  const std::vector<float> krsc = to_krsc(oihw, k, c, r, s);
  for (int o = 0; o < k; ++o)
    for (int i = 0; i < c; ++i)
      for (int y = 0; y < r; ++y)
        for (int x = 0; x < s; ++x)
          ASSERT_EQ(krsc[((o * r + y) * s + x) * c + i], oihw[((o * c + i) * r + y) * s + x]);
  EXPECT_THROW(to_krsc(oihw, k, c, r, s + 1), Error);
}

// Equal shapes share one algorithm search: the real model has 55 convs but far fewer shapes.
TEST(CudaConvPlan, AlgorithmCacheKeysByShapeTypeEpilogueAndResidualForm) {
  const Graph g = load_graph(kSharedModel);
  const MemoryPlan plan = plan_memory(g, 2, 256);
  ConvAlgorithmCache cache;
  int convs = 0, in_place = 0;
  for (const Node& n : g.nodes) {
    if (n.op != "Conv") continue;
    ++convs;
    const ConvPlan p = plan_conv(g, n, TensorType::kHalf);
    const ConvKey key = conv_key(p, plan.residual_in_place(g, n));
    in_place += key.residual_in_place;
    if (!cache.find(key)) cache.insert(key, ConvAlgorithm{static_cast<int>(cache.size()), 1, 1000u * cache.size(), 0.1f, p.wanted});
  }
  EXPECT_GT(in_place, 0) << "the real model's residuals accumulate in place";
  EXPECT_EQ(cache.hits() + cache.misses(), convs);
  EXPECT_EQ(static_cast<int>(cache.size()), cache.misses());
  EXPECT_GT(cache.hits(), 0);
  EXPECT_LT(static_cast<int>(cache.size()), convs);
  EXPECT_EQ(cache.max_workspace_bytes(), 1000u * (cache.size() - 1));
  // The same shape in the other precision, with another epilogue or with a residual is another key.
  const Node& first = *std::find_if(g.nodes.begin(), g.nodes.end(), [](const Node& n) { return n.op == "Conv"; });
  ConvPlan p = plan_conv(g, first, TensorType::kFloat);
  EXPECT_FALSE(cache.find(conv_key(p, false)));
  p = plan_conv(g, first, TensorType::kHalf);
  EXPECT_TRUE(cache.find(conv_key(p, false)));
  ConvKey other = conv_key(p, false);
  other.wanted = other.wanted == ConvEpilogue::kOwn ? ConvEpilogue::kCudnnRelu : ConvEpilogue::kOwn;
  EXPECT_FALSE(cache.find(other));
  other = conv_key(p, false);
  other.residual = !other.residual;
  EXPECT_FALSE(cache.find(other));
  // Without a residual the in-place flag means nothing and is not part of the key.
  ASSERT_FALSE(p.has_residual);
  EXPECT_FALSE(conv_key(p, true).residual_in_place);
}

// A conv whose residual accumulates in place (plain call with beta = 1, fused call with z == y) is
// not the call a conv with a separate residual makes: their choices are kept apart.
TEST(CudaConvPlan, InPlaceResidualIsAnotherKey) {
  const Graph g = load_graph(kSharedModel);
  const MemoryPlan plan = plan_memory(g, 2, 256);
  const auto it = std::find_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) {
    return n.op == "Conv" && n.residual >= 0 && plan.residual_in_place(g, n);
  });
  ASSERT_NE(it, g.nodes.end());
  const ConvPlan p = plan_conv(g, *it, TensorType::kHalf);
  ConvAlgorithmCache cache;
  cache.insert(conv_key(p, false), ConvAlgorithm{3, 1, 0, 1.0f, p.wanted});
  EXPECT_FALSE(cache.find(conv_key(p, true))) << "an in-place conv reused a separate-residual choice";
  cache.insert(conv_key(p, true), ConvAlgorithm{1, 1, 64, 2.0f, ConvEpilogue::kOwn});
  EXPECT_EQ(cache.find(conv_key(p, true))->algo, 1);
  EXPECT_EQ(cache.find(conv_key(p, false))->algo, 3);
}

// The first choice stored for a key stays; a network that searched the same key concurrently gets
// it back from insert() and runs it, so every network of the process agrees.
TEST(CudaConvPlan, AlgorithmCacheKeepsTheFirstChoiceAcrossThreads) {
  const Graph g = load_graph(kSharedModel);
  const Node& first = *std::find_if(g.nodes.begin(), g.nodes.end(), [](const Node& n) { return n.op == "Conv"; });
  const ConvKey key = conv_key(plan_conv(g, first, TensorType::kHalf), false);
  ConvAlgorithmCache cache;
  constexpr int kThreads = 8;
  std::vector<int> got(kThreads, -1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      if (!cache.find(key)) got[t] = cache.insert(key, ConvAlgorithm{t, 0, 0, 1.0f, ConvEpilogue::kOwn}).algo;
      else got[t] = cache.find(key)->algo;
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(cache.size(), 1u);
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(got[t], got[0]) << "thread " << t;
  EXPECT_EQ(cache.insert(key, ConvAlgorithm{99, 0, 0, 1.0f, ConvEpilogue::kOwn}).algo, got[0]);
}

// The Segmenter's networks share one cache per device, for the life of the process.
TEST(CudaConvPlan, ProcessAlgorithmCacheIsOnePerDevice) {
  ConvAlgorithmCache& a = process_algorithm_cache(0);
  EXPECT_EQ(&a, &process_algorithm_cache(0));
  EXPECT_NE(&a, &process_algorithm_cache(1));
  std::vector<ConvAlgorithmCache*> seen(4, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&, t] { seen[t] = &process_algorithm_cache(7); });
  for (std::thread& t : threads) t.join();
  for (int t = 1; t < 4; ++t) EXPECT_EQ(seen[t], seen[0]);
}

// ---- the fused/plain decision on recorded timings (issue 17, findings 3-5) ----

namespace {

ConvTrial trial(int algo, float plain_ms, float fused_ms, std::size_t bytes = 0, bool deterministic = true) {
  ConvTrial t;
  t.algo = algo;
  t.math_type = 1;
  t.deterministic = deterministic;
  t.plain_ms = plain_ms;
  t.plain_workspace_bytes = bytes;
  t.fused_ms = fused_ms;
  t.fused_workspace_bytes = bytes + 1;  // tells which of the two was recorded
  return t;
}

}  // namespace

// With the identity activation cuDNN fuses only IMPLICIT_PRECOMP_GEMM (1): when that is slower
// than the fastest plain algorithm + the bias kernel, the plain one wins.
TEST(CudaConvDecision, IdentityFusedOnlyWhenItIsTheTimedWinner) {
  const std::vector<ConvTrial> trials = {trial(6, 0.10f, -1), trial(1, 0.30f, 0.31f), trial(0, 0.50f, -1)};
  ConvAlgorithm a = decide_conv_algorithm(trials, ConvEpilogue::kCudnnIdentity, 0.02f);
  EXPECT_EQ(a.algo, 6);
  EXPECT_EQ(a.epilogue, ConvEpilogue::kOwn);
  EXPECT_FLOAT_EQ(a.time_ms, 0.12f);  // the plain call + the bias kernel
  // The same fused call when it is the fastest form: taken.
  const std::vector<ConvTrial> fast = {trial(6, 0.20f, -1), trial(1, 0.19f, 0.19f, 4096)};
  a = decide_conv_algorithm(fast, ConvEpilogue::kCudnnIdentity, 0.02f);
  EXPECT_EQ(a.algo, 1);
  EXPECT_EQ(a.epilogue, ConvEpilogue::kCudnnIdentity);
  EXPECT_EQ(a.workspace_bytes, 4097u) << "the fused call's own workspace is recorded";
}

// "Or close": within the tolerance of plain + epilogue the fused call (one launch) is kept.
TEST(CudaConvDecision, FusedWithinToleranceOfPlainPlusEpilogue) {
  const std::vector<ConvTrial> trials = {trial(6, 0.100f, 0.125f), trial(1, 0.110f, 0.121f)};
  // plain 0.100 + epilogue 0.020 = 0.120; the fastest fused (0.121) is within 3 %.
  ConvAlgorithm a = decide_conv_algorithm(trials, ConvEpilogue::kCudnnRelu, 0.020f);
  EXPECT_EQ(a.algo, 1);
  EXPECT_EQ(a.epilogue, ConvEpilogue::kCudnnRelu);
  EXPECT_FLOAT_EQ(a.time_ms, 0.121f);
  // Beyond the tolerance: plain + kernel.
  a = decide_conv_algorithm(trials, ConvEpilogue::kCudnnRelu, 0.020f, 0.0f);
  EXPECT_EQ(a.algo, 6);
  EXPECT_EQ(a.epilogue, ConvEpilogue::kOwn);
  EXPECT_EQ(a.workspace_bytes, 0u);
}

// Activations cuDNN cannot fuse never take the fused path, whatever was timed; a candidate that
// ran neither form is ignored; none at all -> algo -1 (the caller reports Find's statuses).
TEST(CudaConvDecision, OwnEpilogueRefusedCandidatesAndNothingThatRuns) {
  const std::vector<ConvTrial> trials = {trial(2, -1, -1), trial(5, 0.4f, 0.1f), trial(0, 0.3f, -1)};
  ConvAlgorithm a = decide_conv_algorithm(trials, ConvEpilogue::kOwn, 0.05f);
  EXPECT_EQ(a.algo, 0);
  EXPECT_EQ(a.epilogue, ConvEpilogue::kOwn);
  // Only the fused form ran: it is the choice.
  a = decide_conv_algorithm({trial(1, -1, 0.5f)}, ConvEpilogue::kCudnnRelu, 0.05f);
  EXPECT_EQ(a.algo, 1);
  EXPECT_EQ(a.epilogue, ConvEpilogue::kCudnnRelu);
  EXPECT_EQ(decide_conv_algorithm({trial(2, -1, -1)}, ConvEpilogue::kCudnnRelu, 0.0f).algo, -1);
  EXPECT_EQ(decide_conv_algorithm({}, ConvEpilogue::kOwn, 0.0f).algo, -1);
}

// A faster non-deterministic algorithm loses to a deterministic one (equal results run after run,
// network after network); it is taken only when nothing deterministic runs.
TEST(CudaConvDecision, DeterministicAlgorithmsArePreferred) {
  std::vector<ConvTrial> trials = {trial(7, 0.05f, -1, 0, false), trial(6, 0.20f, -1)};
  EXPECT_EQ(decide_conv_algorithm(trials, ConvEpilogue::kOwn, 0.0f).algo, 6);
  trials[1].plain_ms = -1;
  EXPECT_EQ(decide_conv_algorithm(trials, ConvEpilogue::kOwn, 0.0f).algo, 7);
}

// ===================================== copy and broadcast parameters =====================================

TEST(CudaNetOps, CopyParamsMergeContiguousDimsAndOrderByDestination) {
  // NCHW logical, channels-last source -> plain destination (a Reorder): 4 dims, none mergeable
  // except nothing; a plain -> plain copy merges into one dim.
  const std::vector<std::int64_t> shape = {1, 3, 4, 5};
  const CopyParams flat = make_copy_params(shape, plain_strides(shape), plain_strides(shape));
  EXPECT_EQ(flat.rank, 1);
  EXPECT_EQ(flat.shape[0], 60);
  EXPECT_EQ(flat.count, 60);
  const std::vector<std::int64_t> nhwc = {60, 1, 15, 3};
  const CopyParams reorder = make_copy_params(shape, nhwc, plain_strides(shape));
  EXPECT_EQ(reorder.rank, 2);  // C outermost; H and W merge (contiguous in both)
  EXPECT_EQ(reorder.shape[0], 3);
  EXPECT_EQ(reorder.shape[1], 20);
  // Every element lands where copy_strided puts it.
  std::vector<float> src(60), want(60, -1), got(60, -1);
  for (int i = 0; i < 60; ++i) src[i] = static_cast<float>(i);
  copy_strided(want.data(), plain_strides(shape), src.data(), nhwc, shape);
  for (std::int64_t i = 0; i < reorder.count; ++i) {
    std::int64_t s, d;
    copy_offsets(reorder, i, s, d);
    got[d] = src[s];
  }
  EXPECT_EQ(got, want);
  // A size-0 tensor copies nothing; a scalar one element.
  EXPECT_EQ(make_copy_params({1, 0, 3}, {0, 3, 1}, {0, 3, 1}).count, 0);
  EXPECT_EQ(make_copy_params({}, {}, {}).count, 1);
  EXPECT_THROW(make_copy_params({2, 2}, {1}, {2, 1}), Error);
}

TEST(CudaNetOps, BinaryParamsBroadcastLikeNumpy) {
  // [1,5,7,9] channels-last  *  [5,1,1] constant (row-major).
  const std::vector<std::int64_t> out = {1, 5, 7, 9}, out_strides = {315, 1, 45, 5};
  const BinaryParams p = make_binary_params(BinaryOp::kMul, out, out_strides, out, out_strides, {5, 1, 1}, {1, 1, 1});
  EXPECT_EQ(p.count, 315);
  EXPECT_EQ(p.rank, 3);  // H, W, C in physical order; the batch of 1 dropped
  for (std::int64_t i = 0; i < p.count; ++i) {
    std::int64_t d, a, b;
    binary_offsets(p, i, d, a, b);
    ASSERT_EQ(d, i);          // the output is written in order
    ASSERT_EQ(a, i);          // the same layout as the output
    ASSERT_EQ(b, i % 5);      // the channel of element i
  }
  EXPECT_EQ(apply_binary(BinaryOp::kMax, 1.0f, NAN), 1.0f);  // std::max(a, b): a unless a < b
  EXPECT_TRUE(std::isnan(apply_binary(BinaryOp::kMax, NAN, 1.0f)));
}

TEST(CudaNetOps, ActivationsMatchTheCpuFormulas) {
  for (float x : {-7.5f, -3.0f, -1.0f, -0.25f, 0.0f, 0.5f, 2.9f, 3.0f, 6.5f}) {
    EXPECT_EQ(apply_activation(x, {Activation::kRelu, 0, 0}), x > 0 ? x : 0.0f);
    EXPECT_EQ(apply_activation(x, {Activation::kClip, 0, 6}), std::min(std::max(x, 0.0f), 6.0f));
    EXPECT_EQ(apply_activation(x, {Activation::kHardSwish, 0, 0}), x * std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f);
    EXPECT_EQ(apply_activation(x, {Activation::kHardSigmoid, 0.2f, 0.5f}),
              std::min(std::max(0.2f * x + 0.5f, 0.0f), 1.0f));
    EXPECT_EQ(apply_activation(x, {Activation::kSigmoid, 0, 0}), 1.0f / (1.0f + std::exp(-x)));
    EXPECT_EQ(apply_activation(x, {Activation::kNone, 0, 0}), x);
  }
}

// ===================================== end to end, emulated =====================================

// Every case through the emulation of the GPU steps vs the CPU backend: bit-identical where no
// convolution is involved (same operations, same order), within float accumulation error otherwise.
TEST(CudaNetworkEmulation, EveryCaseMatchesTheCpuBackend) {
  int in_place = 0, kept = 0, pre_padded = 0;
  for (const NetCase& c : net_cases()) {
    const Graph g = load_case_graph(c);
    const std::vector<float> input = case_input(c);
    const std::vector<float> want = run_cpu(g, input);
    HostEmulator emu(g);
    const Difference d = difference(want, emu.run_logical(input));
    EXPECT_EQ(d.non_finite, 0u) << c.name << ": " << d.describe();
    if (c.has_conv) {
      EXPECT_LE(d.max_abs, 2e-5 * std::max(1.0, d.max_ref)) << c.name << ": " << d.describe();
    } else {
      EXPECT_EQ(d.identical, d.count) << c.name << ": " << d.describe();
    }
    in_place += emu.in_place_residuals;
    kept += emu.kept_residuals;
    pre_padded += emu.pre_padded;
  }
  // The cases reach every conv path.
  EXPECT_GE(in_place, 1);
  EXPECT_GE(kept, 1);
  EXPECT_GE(pre_padded, 1);
}

// The real model (the emulated convolutions are plain loops: a few seconds).
TEST(CudaNetworkEmulation, SharedModelMatchesTheCpuBackend) {
  const Graph g = load_graph(kSharedModel);
  std::vector<float> input(257 * 257 * 3);
  for (std::size_t k = 0; k < input.size(); ++k) input[k] = std::sin(0.37f * static_cast<float>(k)) * 0.9f;
  const std::vector<float> want = run_cpu(g, input);
  HostEmulator emu(g);
  const std::vector<float> got = emu.run_logical(input);
  const Difference d = difference(want, got);
  EXPECT_EQ(d.non_finite, 0u) << d.describe();
  EXPECT_LE(d.max_abs, 1e-4 * std::max(1.0, d.max_ref)) << d.describe();
  // Same class at (nearly) every logit pixel.
  const auto& shape = g.values[g.outputs[0]].shape;  // NHWC logits
  const std::int64_t classes = shape[3], pixels = static_cast<std::int64_t>(want.size()) / classes;
  std::int64_t same = 0;
  for (std::int64_t p = 0; p < pixels; ++p) {
    const auto a = std::max_element(want.begin() + p * classes, want.begin() + (p + 1) * classes) - want.begin();
    const auto b = std::max_element(got.begin() + p * classes, got.begin() + (p + 1) * classes) - got.begin();
    same += a == b;
  }
  EXPECT_GE(static_cast<double>(same) / pixels, 0.999) << same << " of " << pixels;
}

// ===================================== batches (issue 15) =====================================

namespace {

// `items` inputs of a case, each from its own seed, one after another (logical order).
std::vector<float> batch_input(const NetCase& c, int items, std::vector<std::vector<float>>& each) {
  std::vector<float> all;
  each.clear();
  for (int b = 0; b < items; ++b) {
    each.push_back(case_input(c, 11u + static_cast<unsigned>(b)));
    all.insert(all.end(), each.back().begin(), each.back().end());
  }
  return all;
}

// The case's graph for `batch` items; false (with the reason in `why`) where the model fixes the
// batch to 1 (a Resize given `sizes`, a Concat with a constant of batch 1: the import refuses any
// other, for every backend).
bool load_at_batch(const NetCase& c, int batch, Graph& g, std::string& why) {
  NetCase batched = c;
  batched.input_shape[0] = batch;
  try {
    g = load_case_graph(batched);
    return true;
  } catch (const Error& e) {
    why += c.name + " (" + e.what() + ")\n";
    return false;
  }
}

}  // namespace

// Every case at batch 3, three different inputs: the emulated GPU steps (Resize, pooling, concat,
// elementwise, padded convs, copies: each with its batch > 1 index maths) against the CPU backend at
// batch 3, and each item against the same step code run on that item alone at batch 1 (bit for bit:
// an item of a batch must not see its neighbours).
TEST(CudaNetworkEmulation, BatchOfThreeMatchesTheCpuAndEachItemAlone) {
  constexpr int kItems = 3;
  int resizes = 0, batched_cases = 0;
  std::string fixed_batch;
  for (const NetCase& c : net_cases()) {
    Graph g, single;
    if (!load_at_batch(c, kItems, g, fixed_batch)) continue;
    ASSERT_TRUE(load_at_batch(c, 1, single, fixed_batch)) << fixed_batch;
    ++batched_cases;
    for (const Node& n : g.nodes) resizes += classify_node(g, n) == NodeKernel::kResize;
    std::vector<std::vector<float>> each;
    const std::vector<float> input = batch_input(c, kItems, each);
    HostEmulator batched(g);
    const std::vector<float> got = batched.run_logical(input);
    const Difference d = difference(run_cpu(g, input), got);
    EXPECT_EQ(d.non_finite, 0u) << c.name << ": " << d.describe();
    EXPECT_LE(d.max_abs, (c.has_conv ? 2e-5 : 0.0) * std::max(1.0, d.max_ref)) << c.name << ": " << d.describe();
    const std::size_t item = got.size() / kItems;
    for (int b = 0; b < kItems; ++b) {
      HostEmulator alone(single);
      const std::vector<float> want = alone.run_logical(each[b]);
      ASSERT_EQ(want.size(), item) << c.name;
      const std::vector<float> slice(got.begin() + b * item, got.begin() + (b + 1) * item);
      const Difference e = difference(want, slice);
      EXPECT_EQ(e.identical, e.count) << c.name << " item " << b << ": " << e.describe();
    }
  }
  std::printf("batched %d of %zu cases; with a batch of 1 fixed in the model:\n%s", batched_cases, net_cases().size(),
              fixed_batch.c_str());
  EXPECT_GE(batched_cases, 8);
  // The real model's Resizes at batch 4: the plan refused any batch > 1 before (issue 15).
  const Graph real = load_graph(kSharedModel, {4, 257, 257, 3});
  for (const Node& n : real.nodes) resizes += classify_node(real, n) == NodeKernel::kResize;
  EXPECT_GE(resizes, 1);
}

// The resize kernel's element code (resize_element: its index -> item, row, column, channel) over
// a batch of 3 different items, for every coordinate transform and rounding, equals the CPU's
// resample_nhwc run item by item (the ResizeKernel's loop), bit for bit.
TEST(CudaNetOps, ResizeOfABatchEqualsTheCpuItemByItem) {
  constexpr int kItems = 3, kInH = 7, kInW = 5, kChannels = 3, kOutH = 13, kOutW = 4;
  for (const ResizeCase& rc : resize_cases()) {
    SCOPED_TRACE(rc.name);
    const ResampleGeometry geo = make_resample_geometry(kInH, kInW, kChannels, kOutH, kOutW, float(kOutH) / kInH,
                                                        float(kOutW) / kInW, rc.attrs);
    const ResizeParams p = resize_params(geo, kItems);
    const std::size_t in_item = kInH * kInW * kChannels, out_item = kOutH * kOutW * kChannels;
    const std::vector<float> src = random_floats(in_item * kItems, 17, -3.0f, 3.0f);
    std::vector<float> want(out_item * kItems, kSentinel), got(out_item * kItems, kSentinel);
    // resample_nhwc runs an OpenMP loop, each thread on its own scratch: room for far more threads
    // than it may use.
    std::vector<float> scratch(resample_scratch_floats(geo, 1024));
    for (int b = 0; b < kItems; ++b)
      resample_nhwc(geo, src.data() + b * in_item, want.data() + b * out_item, scratch.data());
    auto load = [&src](std::int64_t i) { return src.at(static_cast<std::size_t>(i)); };
    for (std::size_t i = 0; i < got.size(); ++i) got[i] = resize_element(p, load, static_cast<std::int64_t>(i));
    EXPECT_EQ(difference(want, got).identical, got.size()) << difference(want, got).describe();
  }
}

// ===================================== the Segmenter's device choice =====================================

TEST(CudaBackend, BuiltWithCudnn) {
  std::string why;
#ifdef DEEPLAB_EXPECT_CUDA_BACKEND
  EXPECT_TRUE(cuda_backend_built(&why)) << why;
  const BackendEntry* cuda = backend_registry().find(Device::kCuda);
  ASSERT_NE(cuda, nullptr);
  EXPECT_NE(cuda->make_batch, nullptr);  // the batching engine's CUDA backend (issue 15)
#else
  EXPECT_FALSE(cuda_backend_built(&why));
  EXPECT_FALSE(why.empty());
#endif
}

namespace {

bool gpu_present() {
  std::string why;
  return cuda_device_available(&why);
}

// `make` (device cuda) must fail with Error(kDevice) whose message starts with `prefix` and says
// why: "no usable CUDA GPU (...)", or in a build without CUDA "this build has no CUDA support ...".
template <typename Make>
void expect_no_gpu_error(Make make, const std::string& prefix) {
  try {
    make();
    ADD_FAILURE() << prefix << " succeeded without a GPU";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDevice) << e.what();
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(prefix, 0), 0u) << message;
    EXPECT_TRUE(message.find("GPU") != std::string::npos || message.find("CUDA") != std::string::npos) << message;
  }
}

}  // namespace

// Runs here: on a machine without a GPU, --device cuda is a clear kDevice error and auto is the CPU.
TEST(SegmenterDevice, CudaWithoutAGpuIsADeviceErrorSayingSo) {
  if (gpu_present()) GTEST_SKIP() << "a GPU is present (deeplab_gpu_tests runs the CUDA Segmenter)";
  const ModelManifest manifest = resolve_model(kSharedModel);
  SegmenterOptions options;
  options.device = Device::kCuda;
  expect_no_gpu_error([&] { Segmenter segmenter(manifest, options); }, "--device cuda: ");
  options.device = Device::kAuto;
  Segmenter segmenter(manifest, options);
  EXPECT_EQ(segmenter.device(), Device::kCpu);
}

// The batching engine (issue 15) as the Segmenter: device cuda without a GPU is a kDevice error
// naming the device (no longer kUnsupported "CPU only"), refused before the model is loaded; a
// shared engine asked for cpu reports the CPU.
TEST(BatchingDevice, CudaWithoutAGpuIsADeviceErrorSayingSo) {
  if (gpu_present()) GTEST_SKIP() << "a GPU is present (deeplab_gpu_tests runs the batched CUDA streams)";
  const ModelManifest manifest = resolve_model(kSharedModel);
  SegmenterOptions options;
  options.device = Device::kCuda;
  BatchOptions batch;
  batch.batch_size = 2;
  expect_no_gpu_error([&] { BatchingEngine engine(manifest, options, batch); }, "--device cuda (batching engine): ");
  options.device = Device::kCpu;
  BatchingEngine engine(manifest, options, batch);
  EXPECT_EQ(engine.device(), Device::kCpu);
  EXPECT_EQ(engine.open_stream()->device(), Device::kCpu);
}
