// Checked access to a verified TFLite flatbuffer: the model's one subgraph, tensors and operators by
// range-checked index, constant buffers dequantized to fp32. Used by tflite_import.cpp only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tflite_schema_generated.h"

namespace deeplab::tflite {

namespace fb = deeplab::tflite_fb;

// Builtin op codes the importer knows by name (TFLite's BuiltinOperator values).
enum Op : int {
  kAdd = 0, kAveragePool2d = 1, kConcatenation = 2, kConv2d = 3, kDepthwiseConv2d = 4, kDequantize = 6,
  kLogistic = 14, kMaxPool2d = 17, kMul = 18, kRelu = 19, kReluN1To1 = 20, kRelu6 = 21, kReshape = 22,
  kResizeBilinear = 23, kPad = 34, kMean = 40, kSub = 41, kArgMax = 56, kTile = 69, kResizeNearestNeighbor = 97,
  kQuantize = 114, kHardSwish = 117
};
std::string op_name(int code);  // "CONV_2D", or "builtin op 123"

class Reader {
 public:
  // Verifies the whole flatbuffer first (truncated, out-of-bounds offsets, wrong identifier).
  Reader(std::string bytes, std::string source);

  const std::string& source() const { return source_; }
  const fb::SubGraph& subgraph() const { return *subgraph_; }
  int tensor_count() const;
  int operator_count() const;
  const fb::Tensor& tensor(int index, const std::string& context) const;
  const fb::Operator& op(int index) const;
  int op_code(const fb::Operator& op, int op_index) const;  // builtin code; custom ops refused
  std::string tensor_name(int index) const;                  // "'name' (#index)"

  std::vector<std::int64_t> shape(int index) const;  // checked: every dimension 1..2^24, count bounded
  std::int64_t element_count(int index) const;
  // The tensor's constant data (buffer present and non-empty), else nullptr; size checked against shape.
  const std::uint8_t* constant_bytes(int index) const;
  bool is_constant(int index) const { return constant_bytes(index) != nullptr; }
  // Dequantized to fp32 ((q - zero_point) * scale, per channel along quantized_dimension), in the
  // tensor's own (TFLite) element order. Float32/float16 are converted; unquantized integers too.
  std::vector<float> constant_floats(int index, const std::string& context) const;
  // Integer data (int32/int64, not dequantized), e.g. shapes, axes, paddings.
  std::vector<std::int64_t> constant_ints(int index, const std::string& context) const;

  [[noreturn]] void corrupt(const std::string& what) const;
  [[noreturn]] void unsupported(const std::string& what) const;

 private:
  std::string bytes_;
  std::string source_;
  const fb::Model* model_ = nullptr;
  const fb::SubGraph* subgraph_ = nullptr;
};

}  // namespace deeplab::tflite
