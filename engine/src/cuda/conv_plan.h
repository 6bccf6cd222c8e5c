// What a convolution looks like to cuDNN, decided on the host: the descriptors' shapes (NHWC
// activations, KRSC filters), the padding cuDNN cannot express, how bias / residual / activation are
// applied, and the key under which the chosen algorithm is cached. Plain C++ (no cuDNN header),
// unit-tested without a GPU; cuda/cuda_conv.h turns it into descriptors and calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "graph/graph.h"

namespace deeplab::cuda {

// Element type of the network's activations and weights on the GPU. Accumulation is fp32 in both.
enum class TensorType { kFloat, kHalf };
const char* tensor_type_name(TensorType type);  // "fp32" | "fp16"
std::size_t tensor_type_bytes(TensorType type);

// Everything the cuDNN descriptors of one convolution hold (batch n, NHWC input n x h x w x c,
// k filters of r x s x c/groups, symmetric padding). Two convs with equal shapes run the same
// algorithm.
struct ConvShape {
  int n = 1, c = 0, h = 0, w = 0;
  int k = 0, r = 1, s = 1, groups = 1;
  int pad_h = 0, pad_w = 0, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int out_h = 0, out_w = 0;
  TensorType type = TensorType::kFloat;

  auto tie() const {
    return std::tie(n, c, h, w, k, r, s, groups, pad_h, pad_w, stride_h, stride_w, dilation_h, dilation_w, out_h,
                    out_w, type);
  }
  bool operator<(const ConvShape& o) const { return tie() < o.tie(); }
  bool operator==(const ConvShape& o) const { return tie() == o.tie(); }
  bool depthwise() const { return groups > 1 && groups == c && groups == k; }
  // "1x257x257x3 -> 32 3x3 /1 s2 p1 d1 -> 129x129 fp16"
  std::string describe() const;
};

// How the conv's bias, residual and activation are applied.
//  kCudnnRelu / kCudnnIdentity: cudnnConvolutionBiasActivationForward (bias, z = residual, ReLU or
//    no activation) when cuDNN accepts it for the chosen algorithm (tried at load);
//  kOwn: cudnnConvolutionForward, then the bias_activation kernel (Clip, HardSwish, Sigmoid,
//    HardSigmoid, and the fallback when the fused call is refused).
enum class ConvEpilogue { kCudnnRelu, kCudnnIdentity, kOwn };
const char* conv_epilogue_name(ConvEpilogue epilogue);

struct ConvPlan {
  ConvShape shape;  // what cuDNN sees (input already padded when pre_pad())
  // ONNX allows asymmetric padding (SAME_UPPER with even inputs, TF exports); cuDNN pads both sides
  // alike. The excess of the larger side is materialised: the input is copied into a zero-bordered
  // buffer (pad_input kernel) and cuDNN pads the rest symmetrically.
  int extra_top = 0, extra_bottom = 0, extra_left = 0, extra_right = 0;
  int in_h = 0, in_w = 0;  // the graph's input size, before pre-padding
  Activation activation;
  bool has_bias = false;
  bool has_residual = false;
  ConvEpilogue wanted = ConvEpilogue::kOwn;  // kCudnn* when the activation allows the fused call

  bool pre_pad() const { return extra_top || extra_bottom || extra_left || extra_right; }
  std::size_t padded_elements() const;  // elements of the pre-padded input (0 without pre-padding)
};

// Reads a Conv node (inputs X, W[, B], fused residual and activation) of a graph whose input is
// channels-last. Throws Error(kUnsupported) naming the node for what cuDNN's 4-D convolution cannot
// express (int32 overflow of a dimension, a layout other than NHWC), kInternal when the graph's
// output shape disagrees with the convolution arithmetic.
ConvPlan plan_conv(const Graph& g, const Node& n, TensorType type);

// ONNX weights OIHW -> cuDNN's NHWC filter layout KRSC (k, r, s, then the c/groups channels).
std::vector<float> to_krsc(const std::vector<float>& oihw, int k, int c_per_group, int r, int s);

// The algorithm chosen for a shape (cudnnConvolutionFwdAlgo_t and cudnnMathType_t as ints), found
// once at load by cudnnFindConvolutionForwardAlgorithmEx, tried in the form it runs in, and reused
// by every conv of equal key.
struct ConvAlgorithm {
  int algo = -1;
  int math_type = 0;
  std::size_t workspace_bytes = 0;  // what the chosen call needs (the network's workspace is the max)
  float time_ms = 0;                // the chosen call's measured time, its epilogue kernel included
  ConvEpilogue epilogue = ConvEpilogue::kOwn;  // kCudnn* only if the fused call won with `algo`
};

// Whether cuDNN's fused call accepts an algorithm may depend on the activation and on z (the
// residual, aliasing y when it accumulates in place), and the plain call with beta = 1 (in-place
// residual) is another call than with beta = 0: all of it is part of the key.
struct ConvKey {
  ConvShape shape;
  ConvEpilogue wanted = ConvEpilogue::kOwn;
  bool residual = false;
  bool residual_in_place = false;
  bool operator<(const ConvKey& o) const {
    return std::tie(shape, wanted, residual, residual_in_place) <
           std::tie(o.shape, o.wanted, o.residual, o.residual_in_place);
  }
};
// `residual_in_place`: the memory plan lets the residual accumulate in the output's storage
// (MemoryPlan::residual_in_place); ignored without a residual.
ConvKey conv_key(const ConvPlan& plan, bool residual_in_place);

// One candidate algorithm as tried at load, in the exact calls the conv would run: the plain call
// (cudnnConvolutionForward, beta = 1 for an in-place residual) followed by the bias/activation
// kernel when one is needed, and the fused call (cudnnConvolutionBiasActivationForward, z aliasing
// y for an in-place residual) with the workspace it would get. A negative time: refused or failed.
struct ConvTrial {
  int algo = -1;
  int math_type = 0;
  bool deterministic = true;
  std::size_t plain_workspace_bytes = 0;
  float plain_ms = -1;  // the cuDNN call alone
  std::size_t fused_workspace_bytes = 0;
  float fused_ms = -1;  // not tried (kOwn), or refused
};

// The fused call is taken only when it is the fastest (or within `fused_tolerance` of the fastest
// plain call + epilogue kernel, `epilogue_ms`, which it saves a launch of); otherwise the fastest
// plain call. Deterministic algorithms are preferred whenever one ran (two networks must give equal
// results run after run). Returns algo -1 when no candidate ran.
ConvAlgorithm decide_conv_algorithm(const std::vector<ConvTrial>& trials, ConvEpilogue wanted, float epilogue_ms,
                                    float fused_tolerance = 0.03f);

// Choices shared by the networks that use the cache. Thread-safe; the first choice stored for a
// key stays: a network that searched concurrently takes it instead of its own, so every network of
// the process runs the same algorithm for the same key (and gives the same results).
class ConvAlgorithmCache {
 public:
  ConvAlgorithmCache() = default;
  ConvAlgorithmCache(const ConvAlgorithmCache&) = delete;
  ConvAlgorithmCache& operator=(const ConvAlgorithmCache&) = delete;

  // The cached choice, if any (counted as a hit, else as a miss).
  std::optional<ConvAlgorithm> find(const ConvKey& key);
  // Stores `algorithm` unless the key has a choice already; returns the key's choice.
  ConvAlgorithm insert(const ConvKey& key, const ConvAlgorithm& algorithm);
  std::size_t size() const;
  int hits() const;
  int misses() const;
  std::size_t max_workspace_bytes() const;

 private:
  mutable std::mutex mutex_;
  std::map<ConvKey, ConvAlgorithm> map_;
  int hits_ = 0, misses_ = 0;
};

// The process-wide cache of one CUDA device (by ordinal): what the Segmenter's networks share, so
// that two Segmenters of a process pick the same algorithms (and search each key once).
ConvAlgorithmCache& process_algorithm_cache(int device);

}  // namespace deeplab::cuda
