#include "image_file.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <vector>

#include "deeplab/error.h"

namespace deeplab::tools {

namespace {

// A camera may append a few bytes after the end marker, and a JPEG's embedded thumbnail has its own
// marker near the start: look for the end marker in the last few KiB only.
constexpr std::streamoff kTailBytes = 4096;

bool contains(const std::vector<char>& data, const std::string& needle) {
  return std::search(data.begin(), data.end(), needle.begin(), needle.end()) != data.end();
}

}  // namespace

std::string image_truncation(const std::string& path) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) return "";
  const std::streamoff size = file.tellg();
  if (size < 8) return "";
  char head[8] = {};
  file.seekg(0);
  file.read(head, sizeof head);
  const std::streamoff tail_size = std::min(size, kTailBytes);
  std::vector<char> tail(static_cast<std::size_t>(tail_size));
  file.seekg(size - tail_size);
  file.read(tail.data(), tail_size);
  if (!file) return "";
  const bool jpeg = static_cast<unsigned char>(head[0]) == 0xFF && static_cast<unsigned char>(head[1]) == 0xD8;
  const bool png = std::string(head, 8) == std::string("\x89PNG\r\n\x1a\n", 8);
  if (jpeg && !contains(tail, std::string("\xFF\xD9", 2))) return "truncated JPEG (no end-of-image marker)";
  if (png && !contains(tail, "IEND")) return "truncated PNG (no IEND chunk)";
  return "";
}

cv::Mat read_image(const std::string& path, int flags, WhenTruncated policy, const char* what) {
  const std::string truncation = image_truncation(path);
  if (!truncation.empty() && policy == WhenTruncated::kRefuse)
    throw Error(ErrorCode::kIo, path + ": " + truncation + "; refusing a partial " + what);
  cv::Mat image = cv::imread(path, flags);
  if (image.empty())
    throw Error(ErrorCode::kIo, path + ": cannot read the " + what + " (" +
                                    (truncation.empty() ? "missing or not an image" : truncation) + ")");
  if (!truncation.empty())
    std::fprintf(stderr, "warning: %s: %s; the part after the cut is missing (decoded as grey)\n", path.c_str(),
                 truncation.c_str());
  return image;
}

}  // namespace deeplab::tools
