#include "npy.h"

#include <cstring>
#include <fstream>
#include <regex>

#include "deeplab/error.h"

namespace deeplab::tools {

NpyArray read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::kNotFound, path + ": cannot open");
  char magic[8];
  if (!f.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw Error(ErrorCode::kIo, path + ": not a .npy file");
  std::uint32_t header_len = 0;
  if (magic[6] == 1) {
    std::uint16_t len16 = 0;
    f.read(reinterpret_cast<char*>(&len16), 2);
    header_len = len16;
  } else {
    f.read(reinterpret_cast<char*>(&header_len), 4);
  }
  std::string header(header_len, '\0');
  if (!f.read(header.data(), header_len)) throw Error(ErrorCode::kIo, path + ": truncated header");
  if (header.find("'<f4'") == std::string::npos) throw Error(ErrorCode::kIo, path + ": only float32 little-endian is supported");
  if (header.find("'fortran_order': False") == std::string::npos) throw Error(ErrorCode::kIo, path + ": Fortran order is not supported");
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'shape': \\(([^)]*)\\)"))) throw Error(ErrorCode::kIo, path + ": no shape");
  NpyArray a;
  std::int64_t count = 1;
  const std::string dims = m[1];
  std::regex number("[0-9]+");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), number); it != std::sregex_iterator(); ++it) {
    a.shape.push_back(std::stoll(it->str()));
    count *= a.shape.back();
  }
  a.data.resize(static_cast<std::size_t>(count));
  if (!f.read(reinterpret_cast<char*>(a.data.data()), count * 4)) throw Error(ErrorCode::kIo, path + ": truncated data");
  return a;
}

void write_npy(const std::string& path, const NpyArray& a) {
  std::string shape;
  for (auto d : a.shape) shape += std::to_string(d) + ",";
  if (a.shape.size() > 1) shape.pop_back();
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape + "), }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::kIo, path + ": cannot write");
  f.write("\x93NUMPY\x01\x00", 8);
  const auto len = static_cast<std::uint16_t>(header.size());
  f.write(reinterpret_cast<const char*>(&len), 2);
  f << header;
  f.write(reinterpret_cast<const char*>(a.data.data()), static_cast<std::streamsize>(a.data.size() * 4));
  if (!f) throw Error(ErrorCode::kIo, path + ": write failed");
}

}  // namespace deeplab::tools
