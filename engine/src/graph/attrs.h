// Typed op attributes, parsed from the graph in one place (never positional integers elsewhere).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace deeplab {

struct ConvAttrs {
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int groups = 1;
  int out_channels = 0;
};
// Node inputs: X, W[, B]. X's shape must be known.
ConvAttrs parse_conv(const Graph& g, const Node& n);

struct PoolAttrs {
  bool global = false;
  bool max = false;  // MaxPool, GlobalMaxPool (else average)
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool ceil_mode = false;
  bool count_include_pad = false;
  int out_h = 0, out_w = 0;
};
PoolAttrs parse_pool(const Graph& g, const Node& n);

struct ResizeAttrs {
  enum Mode { kNearest, kLinear } mode = kNearest;
  enum Coord { kHalfPixel, kPytorchHalfPixel, kAlignCorners, kAsymmetric, kTfHalfPixelForNN } coord = kAsymmetric;
  enum NearestRounding { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil } nearest = kRoundPreferFloor;
  int axis_h = 2, axis_w = 3;          // the two scaled axes (logical)
  float scale_h = 1, scale_w = 1;      // output/input as the model states it (used for coordinates)
  std::int64_t out_h = 0, out_w = 0;
  std::vector<std::int64_t> out_shape;
  std::string describe() const;        // "linear/half_pixel"
};
// Handles Resize (opset 10..18) and Upsample (7, 9). Scales/sizes must be constant by now.
ResizeAttrs parse_resize(const Graph& g, const Node& n);

// Pad (ONNX opset 2..18, constant mode): the amount added before and after each axis (logical
// order) and the fill value. Pads come from the constant input 1 (opset 11+) or the attribute;
// negative pads (cropping) and the edge/reflect modes are refused.
struct PadAttrs {
  std::vector<std::int64_t> begin, end;
  float value = 0;
  std::vector<std::int64_t> out_shape;
};
PadAttrs parse_pad(const Graph& g, const Node& n);

// The activation a standalone elementwise node applies (OpDef::activation; kNone for other ops),
// with its parameters: HardSigmoid's alpha/beta, Clip's bounds from attributes before opset 11 and
// from constant inputs after. try_activation_of returns false for Clip bounds that are not constant
// floats; activation_of throws kUnsupported for them.
bool try_activation_of(const Graph& g, const Node& n, Activation& a);
Activation activation_of(const Graph& g, const Node& n);

// Output spatial extent of a convolution/pooling window, ONNX semantics.
std::int64_t window_output(std::int64_t in, int kernel, int stride, int dilation, int pad_begin,
                           int pad_end, bool ceil_mode);

}  // namespace deeplab
