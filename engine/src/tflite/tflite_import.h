#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace deeplab {

// Parses a TFLite flatbuffer (one subgraph) into the engine's graph IR, the same IR the ONNX
// importer fills, so every pass, both backends and the native-resolution upsampling apply.
//
// What the IR holds is the FLOAT network of the file's weights: uint8/int8/int16/int32 constants
// (per-tensor or per-channel scale and zero point) are dequantized to fp32 at load, and activations
// run in float. It is not bit-exact TFLite int8 inference (no re-quantization between ops).
//
// Layout: the graph input keeps TFLite's NHWC shape (a float value = the dequantized input, i.e.
// (q - zero_point) * scale) and a Transpose makes it NCHW; every 4-D tensor inside is NCHW, weights
// are reordered OHWI -> OIHW (depthwise 1HW(C*m) -> (C*m)1HW, group C). A graph output produced by
// ARG_MAX is replaced by the ARG_MAX's input (the logits), so a final RESIZE_BILINEAR before it is
// removed by remove_final_resize like an ONNX model's.
//
// Throws deeplab::Error (kNotFound, kIo, kModelCorrupt, kUnsupported) naming the file and, where it
// applies, the operator or tensor; never crashes on a malformed file (the flatbuffer is verified
// before any field is read, and every index is range-checked).
Graph import_tflite_file(const std::string& path);
Graph import_tflite_bytes(const void* data, std::size_t size, const std::string& source_name);

// True when the bytes carry TFLite's file identifier "TFL3" at offset 4.
bool has_tflite_identifier(const void* data, std::size_t size);
// True when the file at `path` ends in .tflite or starts like a TFLite flatbuffer.
bool is_tflite_file(const std::string& path);

// The input tensor's facts, for a bare .tflite with no manifest.
struct TfliteInputInfo {
  std::string name;
  std::vector<std::int64_t> shape;  // as stored (NHWC)
  enum Type { kFloat, kUint8, kInt8 } type = kFloat;
  bool quantized = false;           // one scale and zero point present
  float scale = 1;
  std::int64_t zero_point = 0;
  int classes = 0;                  // channels of the logits (the graph output / ARG_MAX input), 0 if unknown
};
TfliteInputInfo read_tflite_input_info(const std::string& path);

}  // namespace deeplab
