// The shared stills and the default model for the unit tests: one copy of what several test files
// need (DEEPLAB_SHARED_DIR, DEEPLAB_SOURCE_DIR come from tests/CMakeLists.txt).
#pragma once

#include <opencv2/core.hpp>
#include <string>

#include "deeplab/frame.h"
#include "deeplab/manifest.h"

namespace deeplab::test {

// ../shared/models/deeplab_v3_1_default_1.onnx
std::string shared_default_model();

// ../shared/media/NAME as BGR; throws std::runtime_error naming the file when it cannot be read.
cv::Mat load_still(const std::string& name);

// A packed BGR view of `bgr` (no copy).
FrameView bgr_frame(const cv::Mat& bgr);

// models/deeplabv3-mnv2-voc.yaml (its input spec and classes under test too), pointed at the
// shared copy of the model.
ModelManifest default_model_manifest();

}  // namespace deeplab::test
