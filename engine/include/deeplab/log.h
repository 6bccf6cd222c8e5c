// Where the engine's messages go. The engine never writes to stderr itself: it hands each message
// (a device fallback, a model's assumed pre-processing, a profile) to the process's log callback.
// The default prints "deeplab: MESSAGE" on stderr for kInfo and above (the command-line tools keep
// it); the GStreamer plugin routes them to its "deeplab" debug category, so GST_DEBUG shows them
// in order with the pipeline's own messages.
//
//   deeplab::set_log_callback([](deeplab::LogLevel level, const std::string& message) { ... });
#pragma once

#include <functional>
#include <string>

namespace deeplab {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

const char* log_level_name(LogLevel level);  // "debug", "info", "warning", "error"

using LogCallback = std::function<void(LogLevel level, const std::string& message)>;

// Replaces the process-wide callback (thread-safe); an empty callback restores the default. The
// callback may be called from any thread that runs the engine, one call at a time.
void set_log_callback(LogCallback callback);

// Sends a message to the callback. For the engine's own code and for tools that want their lines
// to go where the engine's go.
void log_message(LogLevel level, const std::string& message);

}  // namespace deeplab
