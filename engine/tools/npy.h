// Minimal NumPy .npy I/O for float32 C-order arrays (the format the parity references use).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace deeplab::tools {

struct NpyArray {
  std::vector<std::int64_t> shape;
  std::vector<float> data;
};

NpyArray read_npy(const std::string& path);  // throws deeplab::Error naming the file
void write_npy(const std::string& path, const NpyArray& array);

}  // namespace deeplab::tools
