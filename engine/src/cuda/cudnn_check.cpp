#include "cuda/cudnn_check.h"

#include <cstdio>
#include <cstring>

#include "deeplab/error.h"
#include "deeplab/log.h"

namespace deeplab::cuda {
namespace {

const char* short_path(const char* file) {
  const char* cut = nullptr;
  for (const char* p = std::strstr(file, "/src/"); p; p = std::strstr(p + 1, "/src/")) cut = p + 5;
  return cut ? cut : file;
}

}  // namespace

std::string cudnn_error_message(cudnnStatus_t status, const char* file, int line, const char* call) {
  std::string message = std::string(short_path(file)) + ":" + std::to_string(line) + ": " + call + ": " +
                        cudnnGetErrorString(status);
  // cuDNN 9 keeps a description of the last failure (which parameter, which limit).
  char detail[512] = {0};
  cudnnGetLastErrorString(detail, sizeof detail);
  if (detail[0]) message += std::string(" (") + detail + ")";
  return message;
}

void throw_cudnn_error(cudnnStatus_t status, const char* file, int line, const char* call) {
  throw Error(ErrorCode::kDevice, cudnn_error_message(status, file, line, call));
}

void log_cudnn_error(cudnnStatus_t status, const char* file, int line, const char* call) noexcept {
  try {
    log_message(LogLevel::kWarning, "cuDNN error (ignored): " + cudnn_error_message(status, file, line, call));
  } catch (...) {
    std::fprintf(stderr, "deeplab: cuDNN error (ignored): %s\n", cudnnGetErrorString(status));  // no memory for more
  }
}

}  // namespace deeplab::cuda
