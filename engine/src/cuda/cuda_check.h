// The one CUDA check macro: DEEPLAB_CUDA_CHECK(call) throws deeplab::Error (ErrorCode::kDevice)
// "<file>:<line>: <call text>: <CUDA's error string>" when the call does not return cudaSuccess.
// DEEPLAB_CUDA_CHECK_LOG(call) prints the same message to stderr and carries on: for destructors
// and other places that must not throw. The engine never aborts the process on a CUDA error.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "cuda/api_check.h"
#include "cuda/launch_geometry.h"

namespace deeplab::cuda {

// "<file>:<line>: <call>: <error string>", the file relative to engine/src when it is under it.
std::string cuda_error_message(cudaError_t status, const char* file, int line, const char* call);
[[noreturn]] void throw_cuda_error(cudaError_t status, const char* file, int line, const char* call);
void log_cuda_error(cudaError_t status, const char* file, int line, const char* call) noexcept;

// After a kernel launch: throws kDevice naming the kernel and its shape when the launch failed
// (bad configuration, too much shared memory, no device, an earlier kernel's fault).
void check_launch(const char* kernel, const LaunchShape& shape);

}  // namespace deeplab::cuda

#define DEEPLAB_CUDA_CHECK(call) DEEPLAB_API_CHECK(call, cudaSuccess, ::deeplab::cuda::throw_cuda_error)
#define DEEPLAB_CUDA_CHECK_LOG(call) DEEPLAB_API_CHECK(call, cudaSuccess, ::deeplab::cuda::log_cuda_error)
