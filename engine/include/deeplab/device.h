// Where the engine runs, and in what precision.
#pragma once

#include <string>

namespace deeplab {

enum class Device { kCpu, kCuda, kAuto };
enum class Precision { kFp32, kFp16 };

Device device_from_string(const std::string& name);       // "cpu" | "cuda" | "auto"
Precision precision_from_string(const std::string& name); // "fp32" | "fp16"
const char* device_name(Device device);

}  // namespace deeplab
