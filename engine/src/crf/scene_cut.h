// The temporal CRF's scene-cut detector: the mean absolute difference of two frames' luma
// thumbnails. A cut (or a jump: seek, camera switch) changes most of the thumbnail by a large
// amount; motion and noise change little of it, and averaging over cells hides sensor noise.
#pragma once

#include <array>

#include "deeplab/crf.h"

namespace deeplab::crf {

// Up to 32 x 32 cells (fewer for images smaller than that), each the mean BT.601 luma of its
// pixels in 0..1; every (size / 512)-th row and column is sampled (512 to 1023 of each), so that
// a thumbnail costs about the same at any size.
struct LumaThumbnail {
  static constexpr int kCells = 32;
  int cells_x = 0, cells_y = 0;
  std::array<float, kCells * kCells> luma{};
};

void make_luma_thumbnail(const CrfImage& image, LumaThumbnail& out);

// Mean |a - b| over the cells, 0..1; 1 when the thumbnails' grids differ.
float thumbnail_difference(const LumaThumbnail& a, const LumaThumbnail& b);

}  // namespace deeplab::crf
