#include "deeplab/error.h"

namespace deeplab {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kModelCorrupt: return "corrupt model";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kManifestMismatch: return "manifest mismatch";
    case ErrorCode::kDevice: return "device error";
    case ErrorCode::kIo: return "I/O error";
    case ErrorCode::kOutOfMemory: return "out of memory";
    case ErrorCode::kInternal: return "internal error";
  }
  return "error";
}

}  // namespace deeplab
