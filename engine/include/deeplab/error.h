// Typed errors thrown by the engine. The engine never aborts the host process: every failure a user
// can cause (missing/corrupt model, unsupported op, bad frame, no GPU) surfaces as a deeplab::Error
// whose message names the file, node or op at fault.
#pragma once

#include <stdexcept>
#include <string>

namespace deeplab {

enum class ErrorCode {
  kInvalidArgument,   // a caller passed something malformed (frame size, option value)
  kNotFound,          // a model, manifest or file does not exist
  kModelCorrupt,      // the model file cannot be parsed or is inconsistent
  kUnsupported,       // a valid model uses an op/attribute this engine does not implement
  kManifestMismatch,  // the manifest disagrees with the model file (sha256, input name, shape)
  kDevice,            // the requested device is not usable (no GPU, CUDA error)
  kIo,                // reading or writing a file failed
  kOutOfMemory,       // memory for a frame's buffers (its size, the CRF's size) could not be had
  kInternal,          // a bug in the engine
};

const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace deeplab
