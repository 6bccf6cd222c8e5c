#include "class_stats.h"

#include <algorithm>

#include "deeplab/pipeline.h"
#include "json_line.h"

namespace deeplab::batch {

void ClassStats::add(const ClassMapView& map) {
  if (!map) return;
  if (pixels_.empty()) {  // first frame: the model's classes
    const auto n = static_cast<std::size_t>(map.num_classes);
    pixels_.assign(n, 0);
    frames_present_.assign(n, 0);
    frame_pixels_.assign(n, 0);
    for (std::size_t c = 0; c < n; ++c) names_.emplace_back(map.names && map.names[c] ? map.names[c] : "");
  }
  std::fill(frame_pixels_.begin(), frame_pixels_.end(), 0);
  const std::size_t n = frame_pixels_.size();
  for (int y = 0; y < map.height; ++y) {
    const std::uint8_t* row = map.ids + static_cast<std::size_t>(y) * map.stride;
    for (int x = 0; x < map.width; ++x)
      if (row[x] < n) ++frame_pixels_[row[x]];
  }
  for (std::size_t c = 0; c < n; ++c) {
    pixels_[c] += frame_pixels_[c];
    frames_present_[c] += frame_pixels_[c] > 0 ? 1 : 0;
  }
  width_ = map.width;
  height_ = map.height;
  ++frames_;
}

std::string ClassStats::json() const {
  std::uint64_t total = 0;
  for (const std::uint64_t p : pixels_) total += p;
  std::string classes = "[";
  for (std::size_t c = 0; c < pixels_.size(); ++c) {
    if (pixels_[c] == 0) continue;
    if (classes.size() > 1) classes += ",\n    ";
    classes += JsonObject()
                   .add("id", static_cast<std::int64_t>(c))
                   .add("name", names_[c])
                   .add("pixels", static_cast<std::int64_t>(pixels_[c]))
                   .add("share", static_cast<double>(pixels_[c]) / static_cast<double>(total))
                   .add("frames", static_cast<std::int64_t>(frames_present_[c]))
                   .str();
  }
  JsonObject j;
  j.add("frames", static_cast<std::int64_t>(frames_)).add("width", static_cast<std::int64_t>(width_));
  j.add("height", static_cast<std::int64_t>(height_)).add_raw("classes", classes + "]");
  return j.str() + "\n";
}

}  // namespace deeplab::batch
