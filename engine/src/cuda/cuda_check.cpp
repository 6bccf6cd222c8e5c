#include "cuda/cuda_check.h"

#include <cstdio>
#include <cstring>

#include "deeplab/error.h"
#include "deeplab/log.h"

namespace deeplab::cuda {
namespace {

// Source paths are absolute; keep them readable ("cuda/cuda_resources.h").
const char* short_path(const char* file) {
  const char* cut = nullptr;
  for (const char* p = std::strstr(file, "/src/"); p; p = std::strstr(p + 1, "/src/")) cut = p + 5;
  return cut ? cut : file;
}

}  // namespace

std::string cuda_error_message(cudaError_t status, const char* file, int line, const char* call) {
  return std::string(short_path(file)) + ":" + std::to_string(line) + ": " + call + ": " + cudaGetErrorString(status);
}

void throw_cuda_error(cudaError_t status, const char* file, int line, const char* call) {
  throw Error(ErrorCode::kDevice, cuda_error_message(status, file, line, call));
}

void log_cuda_error(cudaError_t status, const char* file, int line, const char* call) noexcept {
  try {
    log_message(LogLevel::kWarning, "CUDA error (ignored): " + cuda_error_message(status, file, line, call));
  } catch (...) {  // std::bad_alloc building the message: say less, never throw from here
    std::fprintf(stderr, "deeplab: CUDA error (ignored): %s\n", cudaGetErrorString(status));  // no memory for more
  }
}

void check_launch(const char* kernel, const LaunchShape& shape) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    throw Error(ErrorCode::kDevice, std::string("launch of ") + kernel + " (" + shape.describe() +
                                        "): " + cudaGetErrorString(status));
}

}  // namespace deeplab::cuda
