#include "bench_frames.h"

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <random>
#include <vector>

#include "deeplab/error.h"

namespace deeplab::tools {

const char* const kFrameSourceHelp =
    "frames: by default a synthetic stream, as a slowly panning camera sees it: a fixed textured RGB pattern\n"
    "(smooth gradients plus noise) that moves 1 pixel per frame, back and forth over 32 pixels, with fresh\n"
    "sensor noise (+-2) on every frame. --frames-from VIDEO feeds the video's first frames instead (decoded\n"
    "into memory before timing, scaled to --frame if given; played back and forth if the video is shorter).\n"
    "The warm-up frames run first; then the stream starts afresh (as after a seek: the temporal CRF runs full\n"
    "iterations on its first frame), that first frame is reported on its own (crf_first_frame_*), and the\n"
    "medians are over the --iters frames after it. In temporal mode those include keyframes\n"
    "(--crf-keyframe-interval) and scene cuts, which run full iterations: crf_ms_mean is the cost per frame\n"
    "averaged over them, crf_full_frames their count.\n"
    "The CRF's time depends on the picture: the synthetic pattern's per-pixel noise is a worst case for its\n"
    "colour (bilateral) filtering (at 480x360, 4-6x the CRF time of the shared person clip); for CRF figures\n"
    "that stand for real video, use --frames-from.\n";

namespace {

class SyntheticStream : public FrameSource {
 public:
  static constexpr int kPan = 32;  // pixels the pattern moves before it turns back

  SyntheticStream(int width, int height) : width_(width), height_(height), rng_(7) {
    const int wide = width + kPan;
    pattern_.resize(static_cast<std::size_t>(wide) * height * 3);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < wide; ++x)
        for (int c = 0; c < 3; ++c)
          pattern_[(static_cast<std::size_t>(y) * wide + x) * 3 + c] =
              static_cast<std::uint8_t>((x * (c + 1) + y * (3 - c) + static_cast<int>(rng_() % 32)) & 255);
    pixels_.resize(static_cast<std::size_t>(width) * height * 3);
  }

  FrameView next() override {
    const int phase = frame_++ % (2 * kPan);
    const int shift = phase <= kPan ? phase : 2 * kPan - phase;  // 0, 1, ..., 32, 31, ..., 1, 0, ...
    const int wide = width_ + kPan;
    for (int y = 0; y < height_; ++y) {
      const std::uint8_t* in = pattern_.data() + (static_cast<std::size_t>(y) * wide + shift) * 3;
      std::uint8_t* out = pixels_.data() + static_cast<std::size_t>(y) * width_ * 3;
      for (int k = 0; k < width_ * 3; ++k)
        out[k] = static_cast<std::uint8_t>(std::clamp(in[k] + static_cast<int>(rng_() % 5) - 2, 0, 255));
    }
    return FrameView::packed(PixelFormat::kRGB, pixels_.data(), width_, height_, width_ * 3);
  }
  int width() const override { return width_; }
  int height() const override { return height_; }

 private:
  int width_, height_;
  int frame_ = 0;
  std::mt19937 rng_;
  std::vector<std::uint8_t> pattern_, pixels_;
};

class VideoFrames : public FrameSource {
 public:
  explicit VideoFrames(std::vector<cv::Mat> frames) : frames_(std::move(frames)) {}

  FrameView next() override {
    // Back and forth: 0, 1, ..., n-1, n-2, ..., 1, 0, 1, ...
    const int n = static_cast<int>(frames_.size());
    const int period = std::max(1, 2 * n - 2);
    const int phase = index_++ % period;
    const cv::Mat& f = frames_[static_cast<std::size_t>(phase < n ? phase : period - phase)];
    return FrameView::packed(PixelFormat::kBGR, f.data, f.cols, f.rows, static_cast<int>(f.step));
  }
  int width() const override { return frames_.front().cols; }
  int height() const override { return frames_.front().rows; }

 private:
  std::vector<cv::Mat> frames_;
  int index_ = 0;
};

}  // namespace

std::unique_ptr<FrameSource> make_synthetic_stream(int width, int height) {
  return std::make_unique<SyntheticStream>(width, height);
}

std::unique_ptr<FrameSource> load_video_frames(const std::string& path, int count, int width, int height) {
  if (!std::filesystem::is_regular_file(path)) throw Error(ErrorCode::kIo, path + ": no such video file");
  // FFmpeg first: OpenCV's GStreamer backend prints warnings of its own for files it cannot play.
  cv::VideoCapture capture(path, cv::CAP_FFMPEG);
  if (!capture.isOpened()) capture.open(path, cv::CAP_ANY);
  if (!capture.isOpened()) throw Error(ErrorCode::kIo, path + ": cannot open the video (not a video OpenCV can decode)");
  std::vector<cv::Mat> frames;
  std::size_t bytes = 0;
  cv::Mat decoded;
  while (static_cast<int>(frames.size()) < count && capture.read(decoded)) {
    cv::Mat frame;
    if (width > 0 && (decoded.cols != width || decoded.rows != height))
      cv::resize(decoded, frame, cv::Size(width, height), 0, 0, cv::INTER_AREA);
    else
      frame = decoded.clone();
    bytes += frame.total() * frame.elemSize();
    if (bytes > (std::size_t{4} << 30))
      throw Error(ErrorCode::kInvalidArgument, path + ": " + std::to_string(count) +
                                                   " frames would take more than 4 GiB in memory; use fewer --iters");
    frames.push_back(std::move(frame));
  }
  if (frames.empty()) throw Error(ErrorCode::kIo, path + ": no frame could be decoded");
  return std::make_unique<VideoFrames>(std::move(frames));
}

}  // namespace deeplab::tools
