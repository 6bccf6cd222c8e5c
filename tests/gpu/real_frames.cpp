#include "real_frames.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "deeplab/error.h"

#if defined(DEEPLAB_TEST_HAVE_OPENCV)
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#endif

namespace deeplab::test {
namespace fs = std::filesystem;

namespace {

#if defined(DEEPLAB_TEST_HAVE_OPENCV)
// Frames 0, 3, 6, ... of `path`, `count` of them, as RGB of width x height.
void decode_clip(const fs::path& path, int count, int width, int height, std::vector<RealFrame>& out) {
  cv::VideoCapture video(path.string());
  if (!video.isOpened()) throw Error(ErrorCode::kIo, "cannot open " + path.string());
  cv::Mat bgr, scaled, rgb;
  for (int index = 0, taken = 0; taken < count; ++index) {
    if (!video.read(bgr)) throw Error(ErrorCode::kIo, path.string() + ": fewer frames than the test needs");
    if (index % 3) continue;
    cv::resize(bgr, scaled, cv::Size(width, height), 0, 0, cv::INTER_AREA);
    cv::cvtColor(scaled, rgb, cv::COLOR_BGR2RGB);
    RealFrame f;
    f.name = path.stem().string() + "-" + std::to_string(index);
    f.width = width;
    f.height = height;
    f.rgb.assign(rgb.data, rgb.data + static_cast<std::size_t>(width) * height * 3);
    out.push_back(std::move(f));
    ++taken;
  }
}
#endif

}  // namespace

std::vector<RealFrame> read_ppm_frames(const std::string& dir) {
  std::vector<fs::path> paths;
  if (!dir.empty() && fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".ppm") paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  std::vector<RealFrame> frames;
  for (const fs::path& p : paths) {
    std::ifstream in(p, std::ios::binary);
    std::string magic;
    int max_value = 0;
    RealFrame f;
    in >> magic >> f.width >> f.height >> max_value;
    in.get();  // the single whitespace before the pixels
    if (!in || magic != "P6" || max_value != 255 || f.width < 1 || f.height < 1)
      throw Error(ErrorCode::kIo, p.string() + ": not a binary 8-bit PPM (P6, max 255)");
    f.rgb.resize(static_cast<std::size_t>(f.width) * f.height * 3);
    in.read(reinterpret_cast<char*>(f.rgb.data()), static_cast<std::streamsize>(f.rgb.size()));
    if (!in) throw Error(ErrorCode::kIo, p.string() + ": truncated");
    f.name = p.stem().string();
    frames.push_back(std::move(f));
  }
  return frames;
}

void write_ppm(const RealFrame& frame, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  out << "P6\n" << frame.width << " " << frame.height << "\n255\n";
  out.write(reinterpret_cast<const char*>(frame.rgb.data()), static_cast<std::streamsize>(frame.rgb.size()));
  if (!out) throw Error(ErrorCode::kIo, "cannot write " + path);
}

std::vector<RealFrame> crf_test_sequence(const std::string& shared_dir, const std::string& ppm_dir, int width,
                                         int height, int per_clip, std::string* why) {
  std::vector<RealFrame> frames = read_ppm_frames(ppm_dir);
  if (!frames.empty()) return frames;
#if defined(DEEPLAB_TEST_HAVE_OPENCV)
  const fs::path a = fs::path(shared_dir) / "media" / "bottle-detection.mp4";
  const fs::path b = fs::path(shared_dir) / "media" / "car-detection.mp4";
  if (fs::exists(a) && fs::exists(b)) {
    decode_clip(a, per_clip, width, height, frames);
    decode_clip(b, 3, width, height, frames);
    return frames;
  }
  *why = "no clips at " + a.string() + " and " + b.string();
#else
  *why = "no *.ppm frames in '" + ppm_dir + "' (DEEPLAB_GPU_FRAMES_DIR) and no OpenCV to decode the shared clips";
#endif
  return frames;
}

}  // namespace deeplab::test
