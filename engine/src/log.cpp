#include "deeplab/log.h"

#include <cstdio>
#include <mutex>
#include <utility>

namespace deeplab {

namespace {

void print_to_stderr(LogLevel level, const std::string& message) {
  if (level == LogLevel::kDebug) return;
  const char* prefix = level == LogLevel::kWarning ? "deeplab: warning: " : level == LogLevel::kError ? "deeplab: error: "
                                                                                                     : "deeplab: ";
  std::fprintf(stderr, "%s%s\n", prefix, message.c_str());
}

// One lock for the callback and its calls: messages never interleave, and a callback replaced while
// another thread logs is not destroyed under it.
std::mutex& log_mutex() {
  static std::mutex mutex;
  return mutex;
}

LogCallback& current_callback() {
  static LogCallback callback = print_to_stderr;
  return callback;
}

}  // namespace

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "?";
}

void set_log_callback(LogCallback callback) {
  std::lock_guard<std::mutex> lock(log_mutex());
  current_callback() = callback ? std::move(callback) : LogCallback(print_to_stderr);
}

void log_message(LogLevel level, const std::string& message) {
  std::lock_guard<std::mutex> lock(log_mutex());
  current_callback()(level, message);
}

}  // namespace deeplab
