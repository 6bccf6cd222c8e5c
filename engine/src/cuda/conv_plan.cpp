#include "cuda/conv_plan.h"

#include <algorithm>
#include <limits>
#include <memory>

#include "deeplab/error.h"
#include "graph/attrs.h"

namespace deeplab::cuda {

const char* tensor_type_name(TensorType type) { return type == TensorType::kHalf ? "fp16" : "fp32"; }

std::size_t tensor_type_bytes(TensorType type) { return type == TensorType::kHalf ? 2 : 4; }

const char* conv_epilogue_name(ConvEpilogue epilogue) {
  switch (epilogue) {
    case ConvEpilogue::kCudnnRelu: return "cudnn+relu";
    case ConvEpilogue::kCudnnIdentity: return "cudnn";
    case ConvEpilogue::kOwn: return "own";
  }
  return "?";
}

std::string ConvShape::describe() const {
  return std::to_string(n) + "x" + std::to_string(h) + "x" + std::to_string(w) + "x" + std::to_string(c) + " -> " +
         std::to_string(k) + " " + std::to_string(r) + "x" + std::to_string(s) + " /" + std::to_string(groups) + " s" +
         std::to_string(stride_h) + (stride_w != stride_h ? "," + std::to_string(stride_w) : "") + " p" +
         std::to_string(pad_h) + (pad_w != pad_h ? "," + std::to_string(pad_w) : "") + " d" +
         std::to_string(dilation_h) + (dilation_w != dilation_h ? "," + std::to_string(dilation_w) : "") + " -> " +
         std::to_string(out_h) + "x" + std::to_string(out_w) + " " + tensor_type_name(type);
}

std::size_t ConvPlan::padded_elements() const {
  if (!pre_pad()) return 0;
  return static_cast<std::size_t>(shape.n) * shape.h * shape.w * shape.c;
}

ConvPlan plan_conv(const Graph& g, const Node& n, TensorType type) {
  const ConvAttrs a = parse_conv(g, n);
  const Value& x = g.values[n.inputs[0]];
  const Value& y = g.values[n.outputs[0]];
  auto fail = [&](ErrorCode code, const std::string& what) {
    throw Error(code, g.source + ": " + g.describe(n) + ": " + what);
  };
  if (x.layout != Layout::kChannelsLast || y.layout != Layout::kChannelsLast)
    fail(ErrorCode::kInternal, "the CUDA convolution expects channels-last input and output");
  // cuDNN's legacy descriptors hold dims and strides as int.
  constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
  if (x.element_count() > kIntMax || y.element_count() > kIntMax)
    fail(ErrorCode::kUnsupported, "tensors of more than 2^31 elements (" + shape_string(x.shape) + " -> " +
                                      shape_string(y.shape) + ")");
  ConvPlan p;
  ConvShape& s = p.shape;
  s.type = type;
  s.n = static_cast<int>(x.shape[0]);
  s.c = static_cast<int>(x.shape[1]);
  p.in_h = static_cast<int>(x.shape[2]);
  p.in_w = static_cast<int>(x.shape[3]);
  s.k = a.out_channels;
  s.r = a.kernel_h;
  s.s = a.kernel_w;
  s.groups = a.groups;
  s.stride_h = a.stride_h;
  s.stride_w = a.stride_w;
  s.dilation_h = a.dilation_h;
  s.dilation_w = a.dilation_w;
  s.pad_h = std::min(a.pad_top, a.pad_bottom);
  s.pad_w = std::min(a.pad_left, a.pad_right);
  p.extra_top = a.pad_top - s.pad_h;
  p.extra_bottom = a.pad_bottom - s.pad_h;
  p.extra_left = a.pad_left - s.pad_w;
  p.extra_right = a.pad_right - s.pad_w;
  s.h = p.in_h + p.extra_top + p.extra_bottom;
  s.w = p.in_w + p.extra_left + p.extra_right;
  s.out_h = static_cast<int>(window_output(p.in_h, a.kernel_h, a.stride_h, a.dilation_h, a.pad_top, a.pad_bottom, false));
  s.out_w = static_cast<int>(window_output(p.in_w, a.kernel_w, a.stride_w, a.dilation_w, a.pad_left, a.pad_right, false));
  // The same size from cuDNN's symmetric formula on the padded input (what its descriptors compute).
  const auto sym_h = window_output(s.h, s.r, s.stride_h, s.dilation_h, s.pad_h, s.pad_h, false);
  const auto sym_w = window_output(s.w, s.s, s.stride_w, s.dilation_w, s.pad_w, s.pad_w, false);
  if (y.shape.size() != 4 || y.shape[0] != s.n || y.shape[1] != s.k || y.shape[2] != s.out_h || y.shape[3] != s.out_w ||
      sym_h != s.out_h || sym_w != s.out_w)
    fail(ErrorCode::kInternal, "output shape " + shape_string(y.shape) + " disagrees with the convolution " +
                                   s.describe());
  if (p.pre_pad() && static_cast<std::int64_t>(s.n) * s.h * s.w * s.c > kIntMax)
    fail(ErrorCode::kUnsupported, "a padded input of more than 2^31 elements");
  p.activation = n.activation;
  p.has_bias = n.inputs.size() > 2 && n.inputs[2] >= 0;
  p.has_residual = n.residual >= 0;
  p.wanted = n.activation.kind == Activation::kRelu   ? ConvEpilogue::kCudnnRelu
             : n.activation.kind == Activation::kNone ? ConvEpilogue::kCudnnIdentity
                                                      : ConvEpilogue::kOwn;
  return p;
}

std::vector<float> to_krsc(const std::vector<float>& oihw, int k, int c_per_group, int r, int s) {
  const std::size_t count = static_cast<std::size_t>(k) * c_per_group * r * s;
  if (oihw.size() != count)
    throw Error(ErrorCode::kInternal, "to_krsc: " + std::to_string(oihw.size()) + " weights for " + std::to_string(k) +
                                          "x" + std::to_string(c_per_group) + "x" + std::to_string(r) + "x" +
                                          std::to_string(s));
  std::vector<float> krsc(count);
  for (int o = 0; o < k; ++o)
    for (int i = 0; i < c_per_group; ++i)
      for (int y = 0; y < r; ++y)
        for (int x = 0; x < s; ++x)
          krsc[((static_cast<std::size_t>(o) * r + y) * s + x) * c_per_group + i] =
              oihw[((static_cast<std::size_t>(o) * c_per_group + i) * r + y) * s + x];
  return krsc;
}

ConvKey conv_key(const ConvPlan& plan, bool residual_in_place) {
  return {plan.shape, plan.wanted, plan.has_residual, plan.has_residual && residual_in_place};
}

ConvAlgorithm decide_conv_algorithm(const std::vector<ConvTrial>& trials, ConvEpilogue wanted, float epilogue_ms,
                                    float fused_tolerance) {
  const bool any_deterministic = std::any_of(trials.begin(), trials.end(), [](const ConvTrial& t) {
    return t.deterministic && (t.plain_ms >= 0 || t.fused_ms >= 0);
  });
  const ConvTrial* plain = nullptr;
  const ConvTrial* fused = nullptr;
  for (const ConvTrial& t : trials) {
    if (any_deterministic && !t.deterministic) continue;
    if (t.plain_ms >= 0 && (!plain || t.plain_ms < plain->plain_ms)) plain = &t;
    if (wanted != ConvEpilogue::kOwn && t.fused_ms >= 0 && (!fused || t.fused_ms < fused->fused_ms)) fused = &t;
  }
  ConvAlgorithm chosen;
  const float plain_total = plain ? plain->plain_ms + std::max(epilogue_ms, 0.0f) : 0.0f;
  if (fused && (!plain || fused->fused_ms <= plain_total * (1.0f + fused_tolerance))) {
    chosen = {fused->algo, fused->math_type, fused->fused_workspace_bytes, fused->fused_ms, wanted};
  } else if (plain) {
    chosen = {plain->algo, plain->math_type, plain->plain_workspace_bytes, plain_total, ConvEpilogue::kOwn};
  }
  return chosen;
}

std::optional<ConvAlgorithm> ConvAlgorithmCache::find(const ConvKey& key) {
  const std::lock_guard<std::mutex> lock(mutex_);
  const auto it = map_.find(key);
  if (it == map_.end()) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  return it->second;
}

ConvAlgorithm ConvAlgorithmCache::insert(const ConvKey& key, const ConvAlgorithm& algorithm) {
  const std::lock_guard<std::mutex> lock(mutex_);
  return map_.emplace(key, algorithm).first->second;
}

std::size_t ConvAlgorithmCache::size() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return map_.size();
}

int ConvAlgorithmCache::hits() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return hits_;
}

int ConvAlgorithmCache::misses() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return misses_;
}

std::size_t ConvAlgorithmCache::max_workspace_bytes() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::size_t bytes = 0;
  for (const auto& [key, algorithm] : map_) bytes = std::max(bytes, algorithm.workspace_bytes);
  return bytes;
}

ConvAlgorithmCache& process_algorithm_cache(int device) {
  static std::mutex mutex;
  // Never destroyed (networks may outlive static destruction order); one per device ordinal.
  static auto* caches = new std::map<int, std::unique_ptr<ConvAlgorithmCache>>();
  const std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<ConvAlgorithmCache>& cache = (*caches)[device];
  if (!cache) cache = std::make_unique<ConvAlgorithmCache>();
  return *cache;
}

}  // namespace deeplab::cuda
