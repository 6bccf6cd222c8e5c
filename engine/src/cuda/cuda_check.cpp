#include "cuda/cuda_check.h"

#include "deeplab/error.h"

namespace deeplab::cuda {

std::string cuda_error_message(cudaError_t status, const char* file, int line, const char* call) {
  return located_message(file, line, call, cudaGetErrorString(status));
}

void throw_cuda_error(cudaError_t status, const char* file, int line, const char* call) {
  throw_located(file, line, call, cudaGetErrorString(status));
}

void log_cuda_error(cudaError_t status, const char* file, int line, const char* call) noexcept {
  log_located("CUDA", file, line, call, cudaGetErrorString(status));
}

void check_launch(const char* kernel, const LaunchShape& shape) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    throw Error(ErrorCode::kDevice, std::string("launch of ") + kernel + " (" + shape.describe() +
                                        "): " + cudaGetErrorString(status));
}

}  // namespace deeplab::cuda
