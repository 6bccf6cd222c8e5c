#include "stills.h"

#include <opencv2/imgcodecs.hpp>
#include <filesystem>
#include <stdexcept>

namespace deeplab::test {

std::string shared_default_model() { return std::string(DEEPLAB_SHARED_DIR) + "/models/deeplab_v3_1_default_1.onnx"; }

cv::Mat load_still(const std::string& name) {
  const std::string path = std::string(DEEPLAB_SHARED_DIR) + "/media/" + name;
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  if (bgr.empty()) throw std::runtime_error("cannot read test still " + path);
  return bgr;
}

FrameView bgr_frame(const cv::Mat& bgr) {
  return FrameView::packed(PixelFormat::kBGR, bgr.data, bgr.cols, bgr.rows, static_cast<int>(bgr.step[0]));
}

ModelManifest default_model_manifest() {
  ModelManifest m =
      load_manifest((std::filesystem::path(DEEPLAB_SOURCE_DIR) / "models" / "deeplabv3-mnv2-voc.yaml").string());
  m.file = shared_default_model();
  return m;
}

}  // namespace deeplab::test
