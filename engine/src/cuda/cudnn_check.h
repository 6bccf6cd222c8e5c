// The cuDNN check macro, twin of cuda/cuda_check.h: DEEPLAB_CUDNN_CHECK(call) throws
// deeplab::Error (ErrorCode::kDevice) "<file>:<line>: <call text>: <cuDNN status> (<cuDNN's last
// error message>)" when the call does not return CUDNN_STATUS_SUCCESS; DEEPLAB_CUDNN_CHECK_LOG(call)
// prints the same to stderr and carries on (destructors).
#pragma once

#include <cudnn.h>

#include <string>

#include "cuda/api_check.h"

namespace deeplab::cuda {

std::string cudnn_error_message(cudnnStatus_t status, const char* file, int line, const char* call);
[[noreturn]] void throw_cudnn_error(cudnnStatus_t status, const char* file, int line, const char* call);
void log_cudnn_error(cudnnStatus_t status, const char* file, int line, const char* call) noexcept;

}  // namespace deeplab::cuda

#define DEEPLAB_CUDNN_CHECK(call) DEEPLAB_API_CHECK(call, CUDNN_STATUS_SUCCESS, ::deeplab::cuda::throw_cudnn_error)
#define DEEPLAB_CUDNN_CHECK_LOG(call) DEEPLAB_API_CHECK(call, CUDNN_STATUS_SUCCESS, ::deeplab::cuda::log_cudnn_error)
