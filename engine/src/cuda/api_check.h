// What the CUDA runtime's and cuDNN's checks (cuda/cuda_check.h, cuda/cudnn_check.h) share: the
// one check macro over any status type, the "<file>:<line>: <call>: <detail>" message, and the two
// ways out — Error(kDevice), or a warning for destructors and other places that must not throw.
// Plain C++: no CUDA header.
#pragma once

#include <string>

namespace deeplab::cuda {

// "<file>:<line>: <call>: <detail>", the file relative to engine/src when it is under it.
std::string located_message(const char* file, int line, const char* call, const std::string& detail);
[[noreturn]] void throw_located(const char* file, int line, const char* call, const std::string& detail);
// "<library> error (ignored): <located message>" as a warning; never throws (without memory for the
// message, `detail` alone goes to stderr).
void log_located(const char* library, const char* file, int line, const char* call, const char* detail) noexcept;

}  // namespace deeplab::cuda

// `on_error(status, __FILE__, __LINE__, "call")` when `call` does not return `ok`.
#define DEEPLAB_API_CHECK(call, ok, on_error)                         \
  do {                                                                \
    const auto deeplab_api_status_ = (call);                          \
    if (deeplab_api_status_ != (ok))                                  \
      on_error(deeplab_api_status_, __FILE__, __LINE__, #call);       \
  } while (0)
