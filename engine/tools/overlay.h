// Colour overlays of class maps with a legend of the classes present (for deeplab-segment and
// the demo). Uses OpenCV for drawing text.
#pragma once

#include <opencv2/core.hpp>

#include "deeplab/manifest.h"
#include "deeplab/segmenter.h"

namespace deeplab::tools {

// `image_bgr`: the frame (CV_8UC3, BGR). Returns the blended overlay with a legend box.
cv::Mat make_overlay(const cv::Mat& image_bgr, const Segmentation& seg, const ModelManifest& manifest,
                     double alpha = 0.5);

}  // namespace deeplab::tools
