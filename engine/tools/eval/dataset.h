// A labelled image set on disk: images in one folder, label PNGs (pixel value = label id) with the
// same file names in another.
#pragma once

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace deeplab::eval {

struct LabelledImage {
  std::string name;        // the image's file name
  std::string image_path;
  std::string label_path;
};

// The images (.png .jpg .jpeg .bmp) in `images_dir` in file-name order, each paired with the label
// of the same file name in `labels_dir` (or, for a .jpg image, the .png of the same stem). `limit`
// > 0 keeps the first `limit`. Missing folders, no images, or an image without a label throw
// Error(kNotFound) naming the path.
std::vector<LabelledImage> list_labelled_images(const std::string& images_dir, const std::string& labels_dir,
                                                int limit = 0);

// Reads a single-channel 8-bit label image into `labels` (reusing its buffer). Throws Error(kIo)
// naming the file when it is unreadable, not 8-bit single-channel, or not width x height.
void read_labels(const std::string& path, int width, int height, cv::Mat& labels);

}  // namespace deeplab::eval
