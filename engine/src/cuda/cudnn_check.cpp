#include "cuda/cudnn_check.h"

#include <cstdio>

namespace deeplab::cuda {
namespace {

// cuDNN's status, and the description cuDNN 9 keeps of the last failure (which parameter, which
// limit), into a fixed buffer: the logging path must not allocate.
struct CudnnDetail {
  char text[640];
  explicit CudnnDetail(cudnnStatus_t status) {
    char last[512] = {0};
    cudnnGetLastErrorString(last, sizeof last);
    if (last[0])
      std::snprintf(text, sizeof text, "%s (%s)", cudnnGetErrorString(status), last);
    else
      std::snprintf(text, sizeof text, "%s", cudnnGetErrorString(status));
  }
};

}  // namespace

std::string cudnn_error_message(cudnnStatus_t status, const char* file, int line, const char* call) {
  return located_message(file, line, call, CudnnDetail(status).text);
}

void throw_cudnn_error(cudnnStatus_t status, const char* file, int line, const char* call) {
  throw_located(file, line, call, CudnnDetail(status).text);
}

void log_cudnn_error(cudnnStatus_t status, const char* file, int line, const char* call) noexcept {
  log_located("cuDNN", file, line, call, CudnnDetail(status).text);
}

}  // namespace deeplab::cuda
