#include "cuda/api_check.h"

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

std::string located_message(const char* file, int line, const char* call, const std::string& detail) {
  return std::string(short_path(file)) + ":" + std::to_string(line) + ": " + call + ": " + detail;
}

void throw_located(const char* file, int line, const char* call, const std::string& detail) {
  throw Error(ErrorCode::kDevice, located_message(file, line, call, detail));
}

void log_located(const char* library, const char* file, int line, const char* call, const char* detail) noexcept {
  try {
    log_message(LogLevel::kWarning, std::string(library) + " error (ignored): " + located_message(file, line, call, detail));
  } catch (...) {  // std::bad_alloc building the message: say less, never throw from here
    std::fprintf(stderr, "deeplab: %s error (ignored): %s\n", library, detail);
  }
}

}  // namespace deeplab::cuda
