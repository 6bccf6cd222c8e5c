// Reading the tools' still images: OpenCV decodes them, and this says when a file is cut short.
//
// OpenCV decodes a truncated JPEG without an error: the missing rows come out grey and the tool
// would report a segmentation of them with exit 0. A complete JPEG ends with its end-of-image
// marker (FF D9) and a complete PNG with its IEND chunk; a file without one was cut.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>

namespace deeplab::tools {

// "" when `path` is complete (or of a format without an end marker), else why it is not, e.g.
// "truncated JPEG (no end-of-image marker)".
std::string image_truncation(const std::string& path);

enum class WhenTruncated { kWarn, kRefuse };

// The decoded image; Error(kIo) naming `path` when it cannot be read. A truncated file is decoded
// with a warning on stderr naming it (kWarn), or refused with Error(kIo) (kRefuse: label files,
// whose missing rows would silently change scores). `what`: "image", "label image".
cv::Mat read_image(const std::string& path, int flags, WhenTruncated policy, const char* what = "image");

}  // namespace deeplab::tools
