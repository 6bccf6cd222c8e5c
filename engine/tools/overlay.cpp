#include "overlay.h"

#include <opencv2/imgproc.hpp>

#include <string>
#include <vector>

namespace deeplab::tools {

cv::Mat make_overlay(const cv::Mat& image_bgr, const Segmentation& seg, const ModelManifest& manifest, double alpha) {
  auto palette = manifest.palette;
  if (static_cast<int>(palette.size()) < seg.num_classes) palette = voc_palette(seg.num_classes);
  cv::Mat out = image_bgr.clone();
  std::vector<long> counts(static_cast<std::size_t>(seg.num_classes), 0);
  for (int y = 0; y < seg.height; ++y) {
    const std::uint8_t* classes = seg.class_map.data() + static_cast<std::size_t>(y) * seg.width;
    cv::Vec3b* row = out.ptr<cv::Vec3b>(y);
    for (int x = 0; x < seg.width; ++x) {
      const int c = classes[x];
      ++counts[c];
      if (c == 0) continue;  // background stays as it is
      const auto& rgb = palette[c];
      for (int k = 0; k < 3; ++k)
        row[x][k] = cv::saturate_cast<std::uint8_t>((1 - alpha) * row[x][k] + alpha * rgb[2 - k]);
    }
  }
  // Legend: one line per class present, most pixels first.
  std::vector<int> present;
  for (int c = 0; c < seg.num_classes; ++c)
    if (counts[c] > 0) present.push_back(c);
  std::sort(present.begin(), present.end(), [&](int a, int b) { return counts[a] > counts[b]; });
  const double font_scale = std::max(0.4, seg.width / 1200.0);
  const int line = static_cast<int>(22 * font_scale / 0.5);
  int box_w = 0;
  for (int c : present) {
    const std::string name = c < static_cast<int>(manifest.classes.size()) ? manifest.classes[c] : "class " + std::to_string(c);
    int base = 0;
    box_w = std::max(box_w, cv::getTextSize(name, cv::FONT_HERSHEY_SIMPLEX, font_scale, 1, &base).width);
  }
  const int pad = line / 4;
  cv::Rect box(pad, pad, box_w + line + 3 * pad, static_cast<int>(present.size()) * line + pad);
  box &= cv::Rect(0, 0, out.cols, out.rows);
  cv::Mat roi = out(box);
  roi.convertTo(roi, -1, 0.4, 0);  // darken behind the legend
  for (std::size_t k = 0; k < present.size(); ++k) {
    const int c = present[k];
    const auto& rgb = palette[c];
    const int top = pad + static_cast<int>(k) * line + pad / 2;
    cv::rectangle(out, cv::Rect(2 * pad, top, line - pad, line - pad), cv::Scalar(rgb[2], rgb[1], rgb[0]), cv::FILLED);
    const std::string name = c < static_cast<int>(manifest.classes.size()) ? manifest.classes[c] : "class " + std::to_string(c);
    cv::putText(out, name, cv::Point(2 * pad + line, top + line - 2 * pad), cv::FONT_HERSHEY_SIMPLEX, font_scale,
                cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
  }
  return out;
}

}  // namespace deeplab::tools
