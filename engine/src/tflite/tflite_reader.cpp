#include "tflite/tflite_reader.h"

#include <cmath>
#include <cstring>
#include <map>

#include "deeplab/error.h"

namespace deeplab::tflite {

std::string op_name(int code) {
  static const std::map<int, const char*> names = {
      {kAdd, "ADD"}, {kAveragePool2d, "AVERAGE_POOL_2D"}, {kConcatenation, "CONCATENATION"},
      {kConv2d, "CONV_2D"}, {kDepthwiseConv2d, "DEPTHWISE_CONV_2D"}, {5, "DEPTH_TO_SPACE"},
      {kDequantize, "DEQUANTIZE"}, {9, "FULLY_CONNECTED"}, {kLogistic, "LOGISTIC"}, {kMaxPool2d, "MAX_POOL_2D"},
      {kMul, "MUL"}, {kRelu, "RELU"}, {kReluN1To1, "RELU_N1_TO_1"}, {kRelu6, "RELU6"}, {kReshape, "RESHAPE"},
      {kResizeBilinear, "RESIZE_BILINEAR"}, {25, "SOFTMAX"}, {26, "SPACE_TO_DEPTH"}, {28, "TANH"},
      {32, "CUSTOM"}, {kPad, "PAD"}, {37, "BATCH_TO_SPACE_ND"}, {38, "SPACE_TO_BATCH_ND"}, {39, "TRANSPOSE"},
      {kMean, "MEAN"}, {kSub, "SUB"}, {42, "DIV"}, {43, "SQUEEZE"}, {45, "STRIDED_SLICE"}, {49, "SPLIT"},
      {53, "CAST"}, {54, "PRELU"}, {55, "MAXIMUM"}, {kArgMax, "ARG_MAX"}, {57, "MINIMUM"}, {60, "PADV2"},
      {65, "SLICE"}, {67, "TRANSPOSE_CONV"}, {kTile, "TILE"}, {70, "EXPAND_DIMS"}, {74, "SUM"}, {83, "PACK"},
      {kResizeNearestNeighbor, "RESIZE_NEAREST_NEIGHBOR"}, {98, "LEAKY_RELU"}, {100, "MIRROR_PAD"},
      {kQuantize, "QUANTIZE"}, {kHardSwish, "HARD_SWISH"}};
  auto it = names.find(code);
  return it != names.end() ? it->second : "builtin op " + std::to_string(code);
}

namespace {

constexpr std::int64_t kMaxDim = std::int64_t{1} << 24;
constexpr std::int64_t kMaxCount = std::int64_t{1} << 31;

std::size_t type_size(fb::TensorType t) {
  switch (t) {
    case fb::TensorType::FLOAT32: case fb::TensorType::INT32: return 4;
    case fb::TensorType::FLOAT16: case fb::TensorType::INT16: return 2;
    case fb::TensorType::UINT8: case fb::TensorType::INT8: case fb::TensorType::BOOL: return 1;
    case fb::TensorType::INT64: case fb::TensorType::FLOAT64: return 8;
    default: return 0;
  }
}

float half_to_float(std::uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v;
  if (exp == 0) v = std::ldexp(static_cast<float>(mant), -24);
  else if (exp == 31) v = mant ? NAN : INFINITY;
  else v = std::ldexp(static_cast<float>(mant | 0x400), exp - 25);
  return sign ? -v : v;
}

template <typename T>
T load(const std::uint8_t* p, std::int64_t k) {
  T v;
  std::memcpy(&v, p + k * static_cast<std::int64_t>(sizeof(T)), sizeof(T));
  return v;
}

// The raw element k of a constant as a double (no dequantization).
double raw_value(fb::TensorType t, const std::uint8_t* p, std::int64_t k) {
  switch (t) {
    case fb::TensorType::FLOAT32: return load<float>(p, k);
    case fb::TensorType::FLOAT16: return half_to_float(load<std::uint16_t>(p, k));
    case fb::TensorType::FLOAT64: return load<double>(p, k);
    case fb::TensorType::INT32: return load<std::int32_t>(p, k);
    case fb::TensorType::INT64: return static_cast<double>(load<std::int64_t>(p, k));
    case fb::TensorType::INT16: return load<std::int16_t>(p, k);
    case fb::TensorType::UINT8: return load<std::uint8_t>(p, k);
    case fb::TensorType::INT8: return load<std::int8_t>(p, k);
    case fb::TensorType::BOOL: return load<std::uint8_t>(p, k) ? 1 : 0;
    default: return 0;
  }
}

}  // namespace

Reader::Reader(std::string bytes, std::string source) : bytes_(std::move(bytes)), source_(std::move(source)) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes_.data());
  if (bytes_.size() < 8 || std::memcmp(data + 4, fb::ModelIdentifier(), 4) != 0)
    corrupt("not a TFLite model (file identifier 'TFL3' missing at byte 4: wrong magic or not a .tflite file)");
  if (bytes_.size() >= FLATBUFFERS_MAX_BUFFER_SIZE) unsupported("models over 2 GiB are not supported");
  flatbuffers::Verifier verifier(data, bytes_.size());
  if (!fb::VerifyModelBuffer(verifier))
    corrupt("the TFLite flatbuffer does not verify (truncated, or an offset points outside the file)");
  model_ = fb::GetModel(data);
  if (!model_->subgraphs() || model_->subgraphs()->size() == 0) corrupt("the model has no subgraph");
  if (model_->subgraphs()->size() != 1)
    unsupported("the model has " + std::to_string(model_->subgraphs()->size()) +
                " subgraphs; only single-subgraph models (no control flow) are supported");
  subgraph_ = model_->subgraphs()->Get(0);
  if (!subgraph_->tensors() || !subgraph_->operators() || subgraph_->operators()->size() == 0)
    corrupt("the subgraph has no tensors or no operators");
}

void Reader::corrupt(const std::string& what) const { throw Error(ErrorCode::kModelCorrupt, source_ + ": " + what); }
void Reader::unsupported(const std::string& what) const {
  throw Error(ErrorCode::kUnsupported, source_ + ": " + what);
}

int Reader::tensor_count() const { return static_cast<int>(subgraph_->tensors()->size()); }
int Reader::operator_count() const { return static_cast<int>(subgraph_->operators()->size()); }

const fb::Tensor& Reader::tensor(int index, const std::string& context) const {
  if (index < 0 || index >= tensor_count())
    corrupt(context + ": tensor index " + std::to_string(index) + " is out of range (the subgraph has " +
            std::to_string(tensor_count()) + " tensors)");
  return *subgraph_->tensors()->Get(static_cast<flatbuffers::uoffset_t>(index));
}

const fb::Operator& Reader::op(int index) const {
  return *subgraph_->operators()->Get(static_cast<flatbuffers::uoffset_t>(index));
}

std::string Reader::tensor_name(int index) const {
  const fb::Tensor& t = tensor(index, "tensor");
  return "'" + (t.name() ? t.name()->str() : std::string()) + "' (#" + std::to_string(index) + ")";
}

int Reader::op_code(const fb::Operator& o, int op_index) const {
  const auto* codes = model_->operator_codes();
  const std::string where = "operator #" + std::to_string(op_index);
  if (!codes || o.opcode_index() >= codes->size())
    corrupt(where + ": opcode index " + std::to_string(o.opcode_index()) + " is out of range");
  const fb::OperatorCode* c = codes->Get(o.opcode_index());
  const int code = std::max<int>(c->deprecated_builtin_code(), c->builtin_code());
  if (code == 32)
    unsupported(where + ": custom op '" + (c->custom_code() ? c->custom_code()->str() : std::string()) +
                "' is not supported");
  return code;
}

std::vector<std::int64_t> Reader::shape(int index) const {
  const fb::Tensor& t = tensor(index, "tensor");
  std::vector<std::int64_t> s;
  std::int64_t count = 1;
  if (t.shape())
    for (int d : *t.shape()) {
      if (d < 1 || d > kMaxDim)
        corrupt("tensor " + tensor_name(index) + " has an invalid dimension " + std::to_string(d));
      count *= d;
      if (count > kMaxCount) corrupt("tensor " + tensor_name(index) + " is too large");
      s.push_back(d);
    }
  return s;
}

std::int64_t Reader::element_count(int index) const {
  std::int64_t n = 1;
  for (auto d : shape(index)) n *= d;
  return n;
}

const std::uint8_t* Reader::constant_bytes(int index) const {
  const fb::Tensor& t = tensor(index, "tensor");
  const auto* buffers = model_->buffers();
  if (t.buffer() == 0) return nullptr;  // buffer 0: the always-empty buffer (an activation)
  if (!buffers || t.buffer() >= buffers->size())
    corrupt("tensor " + tensor_name(index) + ": buffer index " + std::to_string(t.buffer()) +
            " is out of range (the model has " + std::to_string(buffers ? buffers->size() : 0) + " buffers)");
  const fb::Buffer* b = buffers->Get(t.buffer());
  if (b->offset() != 0 || b->size() != 0)
    unsupported("tensor " + tensor_name(index) + " keeps its data outside the flatbuffer (over-2-GiB format)");
  if (!b->data() || b->data()->size() == 0) return nullptr;
  const std::size_t elem = type_size(t.type());
  if (elem == 0)
    unsupported("tensor " + tensor_name(index) + " has type " + fb::EnumNameTensorType(t.type()) +
                ", which is not supported");
  const std::int64_t count = element_count(index);
  if (static_cast<std::int64_t>(b->data()->size()) != count * static_cast<std::int64_t>(elem))
    corrupt("tensor " + tensor_name(index) + " holds " + std::to_string(b->data()->size()) + " bytes, its shape " +
            "needs " + std::to_string(count * static_cast<std::int64_t>(elem)));
  return b->data()->data();
}

std::vector<float> Reader::constant_floats(int index, const std::string& context) const {
  const fb::Tensor& t = tensor(index, context);
  const std::uint8_t* p = constant_bytes(index);
  if (!p) corrupt(context + ": tensor " + tensor_name(index) + " must be a constant");
  if (t.sparsity()) unsupported(context + ": tensor " + tensor_name(index) + " is sparse");
  const auto shape = this->shape(index);
  const std::int64_t count = element_count(index);
  std::vector<float> out(static_cast<std::size_t>(count));
  const fb::QuantizationParameters* q = t.quantization();
  const bool is_float = t.type() == fb::TensorType::FLOAT32 || t.type() == fb::TensorType::FLOAT16 ||
                        t.type() == fb::TensorType::FLOAT64;
  if (q && q->details()) unsupported(context + ": tensor " + tensor_name(index) + " uses custom quantization");
  if (is_float || !q || !q->scale() || q->scale()->size() == 0) {
    for (std::int64_t k = 0; k < count; ++k) out[k] = static_cast<float>(raw_value(t.type(), p, k));
    return out;
  }
  // Per-tensor (one scale) or per-channel along quantized_dimension.
  const auto& scales = *q->scale();
  const std::size_t channels = scales.size();
  if (q->zero_point() && q->zero_point()->size() != channels && q->zero_point()->size() > 1)
    corrupt(context + ": tensor " + tensor_name(index) + " has " + std::to_string(channels) + " scales but " +
            std::to_string(q->zero_point()->size()) + " zero points");
  std::int64_t inner = 1, axis_len = 1;
  if (channels > 1) {
    const int axis = q->quantized_dimension();
    if (axis < 0 || axis >= static_cast<int>(shape.size()) || shape[axis] != static_cast<std::int64_t>(channels))
      corrupt(context + ": tensor " + tensor_name(index) + " has " + std::to_string(channels) +
              " per-channel scales that do not match dimension " + std::to_string(axis) + " of " +
              "its shape");
    axis_len = shape[axis];
    for (std::size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  }
  auto zero_point = [&](std::size_t c) -> double {
    if (!q->zero_point() || q->zero_point()->size() == 0) return 0;
    return static_cast<double>(q->zero_point()->Get(q->zero_point()->size() == 1 ? 0 : c));
  };
  for (std::int64_t k = 0; k < count; ++k) {
    const std::size_t c = channels > 1 ? static_cast<std::size_t>((k / inner) % axis_len) : 0;
    out[k] = static_cast<float>((raw_value(t.type(), p, k) - zero_point(c)) * scales.Get(c));
  }
  return out;
}

std::vector<std::int64_t> Reader::constant_ints(int index, const std::string& context) const {
  const fb::Tensor& t = tensor(index, context);
  const std::uint8_t* p = constant_bytes(index);
  if (!p) unsupported(context + ": tensor " + tensor_name(index) + " must be a constant");
  if (t.type() != fb::TensorType::INT32 && t.type() != fb::TensorType::INT64)
    corrupt(context + ": tensor " + tensor_name(index) + " must hold int32 or int64 values");
  std::vector<std::int64_t> out(static_cast<std::size_t>(element_count(index)));
  for (std::size_t k = 0; k < out.size(); ++k)
    out[k] = static_cast<std::int64_t>(raw_value(t.type(), p, static_cast<std::int64_t>(k)));
  return out;
}

}  // namespace deeplab::tflite
