// A one-subgraph TFLite model assembled tensor by tensor and operator by operator with the
// flatbuffers builder and the project's schema subset (engine/src/tflite/tflite_schema.fbs): the
// TFLite op tests and the fuzz seeds build their files with it.
//
//   TfliteFile f;
//   const int x = f.tensor({1, 5, 7, 3}, fb::TensorType::FLOAT32, "x");
//   const int y = f.tensor({1, 5, 7, 3}, fb::TensorType::FLOAT32, "y");
//   f.op(19, {x}, y);                       // RELU (TFLite's BuiltinOperator value)
//   const std::string bytes = f.finish(x, y);
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "tflite_schema_generated.h"

namespace deeplab::test {

namespace fb = deeplab::tflite_fb;

template <class T>
inline std::vector<std::uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<std::uint8_t> out(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}

// A one-subgraph TFLite model assembled tensor by tensor and operator by operator.
class TfliteFile {
 public:
  TfliteFile() { buffers_.push_back(fb::CreateBuffer(b)); }

  // A tensor; `data` non-empty makes it a constant; a scale makes it quantized (per tensor).
  int tensor(const std::vector<int>& shape, fb::TensorType type, const std::string& name,
             const std::vector<std::uint8_t>& data = {}, float scale = 0, std::int64_t zero_point = 0) {
    std::uint32_t buffer = 0;
    if (!data.empty()) {
      buffer = static_cast<std::uint32_t>(buffers_.size());
      buffers_.push_back(fb::CreateBuffer(b, b.CreateVector(data)));
    }
    flatbuffers::Offset<fb::QuantizationParameters> q = 0;
    if (scale > 0)
      q = fb::CreateQuantizationParameters(b, 0, 0, b.CreateVector(std::vector<float>{scale}),
                                           b.CreateVector(std::vector<std::int64_t>{zero_point}));
    tensors_.push_back(fb::CreateTensor(b, b.CreateVector(shape), type, buffer, b.CreateString(name), q));
    return static_cast<int>(tensors_.size()) - 1;
  }
  int ints(const std::vector<std::int32_t>& values, const std::vector<int>& shape, const std::string& name) {
    return tensor(shape, fb::TensorType::INT32, name, bytes_of(values));
  }
  int floats(const std::vector<float>& values, const std::vector<int>& shape, const std::string& name) {
    return tensor(shape, fb::TensorType::FLOAT32, name, bytes_of(values));
  }

  void op(int code, const std::vector<int>& in, int out, fb::BuiltinOptions type = fb::BuiltinOptions::NONE,
          flatbuffers::Offset<void> options = 0) {
    if (!code_index_.count(code)) {
      code_index_[code] = static_cast<std::uint32_t>(codes_.size());
      codes_.push_back(fb::CreateOperatorCode(b, static_cast<std::int8_t>(std::min(code, 127)), 0, 1, code));
    }
    ops_.push_back(fb::CreateOperator(b, code_index_[code], b.CreateVector(in), b.CreateVector(std::vector<int>{out}),
                                      type, options));
  }

  std::string finish(int input, int output) {
    auto subgraph = fb::CreateSubGraph(b, b.CreateVector(tensors_), b.CreateVector(std::vector<int>{input}),
                                       b.CreateVector(std::vector<int>{output}), b.CreateVector(ops_), b.CreateString("main"));
    auto model = fb::CreateModel(b, 3, b.CreateVector(codes_), b.CreateVector(std::vector{subgraph}),
                                 b.CreateString("ops"), b.CreateVector(buffers_));
    fb::FinishModelBuffer(b, model);
    return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  }

  flatbuffers::FlatBufferBuilder b;

 private:
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors_;
  std::vector<flatbuffers::Offset<fb::Buffer>> buffers_;
  std::vector<flatbuffers::Offset<fb::Operator>> ops_;
  std::vector<flatbuffers::Offset<fb::OperatorCode>> codes_;
  std::map<int, std::uint32_t> code_index_;
};

}  // namespace deeplab::test
