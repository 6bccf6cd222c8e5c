#include "eval/dataset.h"

#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "deeplab/error.h"
#include "image_file.h"

namespace fs = std::filesystem;

namespace deeplab::eval {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_image(const fs::path& p) {
  const std::string ext = lower(p.extension().string());
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

void require_dir(const std::string& dir, const char* what) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(ErrorCode::kNotFound, dir + ": " + what + " folder does not exist");
}

// The label of `image`: the same file name, else (lossy images) the same stem as .png.
std::string find_label(const fs::path& labels_dir, const fs::path& image) {
  std::error_code ec;
  const fs::path same = labels_dir / image.filename();
  if (fs::is_regular_file(same, ec)) return same.string();
  const fs::path png = labels_dir / image.filename().replace_extension(".png");
  if (fs::is_regular_file(png, ec)) return png.string();
  throw Error(ErrorCode::kNotFound, same.string() + ": no label for image " + image.string());
}

}  // namespace

std::vector<LabelledImage> list_labelled_images(const std::string& images_dir, const std::string& labels_dir,
                                                int limit) {
  require_dir(images_dir, "the images");
  require_dir(labels_dir, "the labels");
  std::vector<fs::path> images;
  for (const auto& entry : fs::directory_iterator(images_dir))
    if (entry.is_regular_file() && is_image(entry.path())) images.push_back(entry.path());
  if (images.empty()) throw Error(ErrorCode::kNotFound, images_dir + ": no images (.png .jpg .jpeg .bmp)");
  std::sort(images.begin(), images.end(), [](const fs::path& a, const fs::path& b) {
    return a.filename().string() < b.filename().string();
  });
  if (limit > 0 && static_cast<std::size_t>(limit) < images.size()) images.resize(static_cast<std::size_t>(limit));
  std::vector<LabelledImage> out;
  for (const auto& image : images)
    out.push_back({image.filename().string(), image.string(), find_label(labels_dir, image)});
  return out;
}

void read_labels(const std::string& path, int width, int height, cv::Mat& labels) {
  // IMREAD_UNCHANGED: a 16-bit or colour label file is reported, not silently converted to 8-bit grey.
  const cv::Mat raw = tools::read_image(path, cv::IMREAD_UNCHANGED, tools::WhenTruncated::kRefuse, "label image");
  if (raw.type() != CV_8UC1)
    throw Error(ErrorCode::kIo, path + ": labels must be an 8-bit single-channel image (value = label id), got " +
                                    std::to_string(raw.channels()) + " channel(s) of " +
                                    std::to_string(8 * static_cast<int>(raw.elemSize1())) + " bits");
  if (raw.cols != width || raw.rows != height)
    throw Error(ErrorCode::kIo, path + ": labels are " + std::to_string(raw.cols) + "x" + std::to_string(raw.rows) +
                                    " but the image is " + std::to_string(width) + "x" + std::to_string(height));
  raw.copyTo(labels);
}

}  // namespace deeplab::eval
