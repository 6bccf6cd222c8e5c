#include "crf/scene_cut.h"

#include <algorithm>
#include <cmath>

namespace deeplab::crf {

void make_luma_thumbnail(const CrfImage& image, LumaThumbnail& out) {
  const int w = image.width, h = image.height;
  out.cells_x = std::min(w, LumaThumbnail::kCells);
  out.cells_y = std::min(h, LumaThumbnail::kCells);
  const int step_x = std::max(1, w / 512), step_y = std::max(1, h / 512);
  std::array<float, LumaThumbnail::kCells * LumaThumbnail::kCells> sum{};
  std::array<int, LumaThumbnail::kCells * LumaThumbnail::kCells> count{};
  for (int y = 0; y < h; y += step_y) {
    const std::uint8_t* row = image.rgb + static_cast<std::size_t>(y) * image.stride;
    const int cy = static_cast<int>(static_cast<long long>(y) * out.cells_y / h);
    for (int x = 0; x < w; x += step_x) {
      const int cell = cy * out.cells_x + static_cast<int>(static_cast<long long>(x) * out.cells_x / w);
      const std::uint8_t* p = row + 3 * x;
      sum[cell] += 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
      ++count[cell];
    }
  }
  for (int c = 0; c < out.cells_x * out.cells_y; ++c) out.luma[c] = count[c] ? sum[c] / (255.0f * count[c]) : 0.0f;
}

float thumbnail_difference(const LumaThumbnail& a, const LumaThumbnail& b) {
  if (a.cells_x != b.cells_x || a.cells_y != b.cells_y || a.cells_x == 0) return 1.0f;
  const int cells = a.cells_x * a.cells_y;
  float total = 0;
  for (int c = 0; c < cells; ++c) total += std::fabs(a.luma[c] - b.luma[c]);
  return total / cells;
}

}  // namespace deeplab::crf
