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
  // The sampled columns of cell column cx are [first[cx], first[cx + 1]): each row adds them to the
  // cell's sum in a register, in the same order as one pixel at a time through memory, which was a
  // chain of store-to-load round trips (this runs before the CRF, on one thread).
  std::array<int, LumaThumbnail::kCells + 1> first{};
  for (int x = 0, cx = 0; x < w; x += step_x) {
    const int cell = static_cast<int>(static_cast<long long>(x) * out.cells_x / w);
    while (cx < cell) first[++cx] = x;  // x is the first sampled column of cell columns cx + 1 .. cell
  }
  first[out.cells_x] = w;
  for (int y = 0; y < h; y += step_y) {
    const std::uint8_t* row = image.rgb + static_cast<std::size_t>(y) * image.stride;
    const int cy = static_cast<int>(static_cast<long long>(y) * out.cells_y / h);
    for (int cx = 0; cx < out.cells_x; ++cx) {
      const int cell = cy * out.cells_x + cx;
      float acc = sum[cell];
      for (int x = first[cx]; x < first[cx + 1]; x += step_x) {
        const std::uint8_t* p = row + 3 * static_cast<std::size_t>(x);
        acc += 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
      }
      sum[cell] = acc;
      count[cell] += (first[cx + 1] - first[cx] + step_x - 1) / step_x;
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
