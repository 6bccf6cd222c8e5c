// The files in configs/ run headless on the shared clips (displays replaced by fakesink with --set),
// and their outputs hold the input's frame count, counted by decoding them. One run takes the whole
// of the shortest clip (car-detection.mp4, 377 frames); the others stop after a few frames
// (source.max-frames), to keep the suite short on a 2-core machine.
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <regex>

#include "pipeline_test_support.h"

using ptest::ProcessResult;
namespace fs = std::filesystem;

namespace {

// A short run: minutes would mean it hangs.
ProcessResult deeplab_run(const std::vector<std::string>& args, double timeout_s = 90) {
  return ptest::deeplab_run(args, timeout_s);
}

}  // namespace

TEST(Runs, FileOverlayKeepsEveryFrameOfTheClip) {
  const std::string dir = ptest::scratch_dir();
  const std::string input = ptest::clip("car-detection.mp4");
  const std::int64_t input_frames = ptest::count_frames(input);
  ASSERT_EQ(input_frames, 377);  // SOURCES.md; the clip also has an audio track, which is left alone
  const ProcessResult r = deeplab_run({ptest::config("file-overlay.yaml"), "--set", "source.path=" + input, "--set",
                                       "outputs.0.path=" + dir + "/o.mp4"},
                                      600);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ptest::count_frames(dir + "/o.mp4"), input_frames);
  const ptest::Size size = ptest::first_frame_size(dir + "/o.mp4");
  EXPECT_EQ(size.width, 768);
  EXPECT_EQ(size.height, 432);
  EXPECT_NE(r.err.find("done: 377 frames in "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("dropped frames: 0\n"), std::string::npos) << r.err;
  EXPECT_EQ(ptest::summary_output_frames(r.err, 0), 377);
  EXPECT_NE(r.err.find("latency per frame (deeplabseg): mean "), std::string::npos);
  EXPECT_NE(r.err.find("progress: ["), std::string::npos) << "no progress line (stderr is not a terminal here)";
}

// Class-id PNGs: GRAY8 at the frame's size, values that are VOC class ids, bottles found in the bottle
// clip; and the colour-mask video with as many frames. 60 frames: more than x264enc's lookahead plus
// the masks branch's 1 s queue, which once deadlocked this config (the masks sink waiting in preroll).
TEST(Runs, FileMasksWritesClassIdsAndMaskVideo) {
  const std::string dir = ptest::scratch_dir();
  const int frames = 60;
  const ProcessResult r = deeplab_run({ptest::config("file-masks.yaml"), "--set",
                                       "source.path=" + ptest::clip("bottle-detection.mp4"), "--set",
                                       "source.max-frames=" + std::to_string(frames), "--set",
                                       "outputs.0.path=" + dir + "/masks/%05d.png", "--set", "outputs.1.path=" + dir + "/mask.mkv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ptest::count_frames(dir + "/mask.mkv"), frames);
  int files = 0, bottle_pixels = 0;
  for (const auto& entry : fs::directory_iterator(dir + "/masks")) {
    ++files;
    const cv::Mat ids = cv::imread(entry.path().string(), cv::IMREAD_UNCHANGED);
    ASSERT_EQ(ids.type(), CV_8UC1) << entry.path();
    EXPECT_EQ(ids.cols, 640);
    EXPECT_EQ(ids.rows, 360);
    double max_id = 0;
    cv::minMaxLoc(ids, nullptr, &max_id);
    EXPECT_LE(max_id, 20) << entry.path();  // 21 VOC classes
    bottle_pixels += cv::countNonZero(ids == 5);
  }
  EXPECT_EQ(files, frames);
  EXPECT_TRUE(fs::exists(dir + "/masks/00059.png"));
  EXPECT_GT(bottle_pixels, 0) << "no 'bottle' pixel in " << frames << " frames of the bottle clip";
}

TEST(Runs, DemoConfig) {
  const std::string dir = ptest::scratch_dir();
  const ProcessResult r = deeplab_run({ptest::config("demo.yaml"), "--set",
                                       "source.path=" + ptest::clip("one-by-one-person-detection.mp4"), "--set",
                                       "source.max-frames=10", "--set", "outputs.0.path=" + dir + "/demo.mp4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ptest::count_frames(dir + "/demo.mp4"), 10);
}

// rtsp-display.yaml with a file:// URI (uridecodebin plays both) and the display made headless.
TEST(Runs, UriDisplayHeadless) {
  gchar* uri = gst_filename_to_uri(ptest::clip("car-detection.mp4").c_str(), nullptr);
  const ProcessResult r = deeplab_run({ptest::config("rtsp-display.yaml"), "--set", std::string("source.uri=") + uri,
                                       "--set", "source.max-frames=8", "--set", "outputs.0.sink=fakesink", "--set",
                                       "outputs.0.sync=false"});
  g_free(uri);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ptest::summary_output_frames(r.err, 0), 8) << r.err;
}

// The camera configs with a live test source in place of the camera (the whole source replaced by
// one override), headless, until the source's end.
TEST(Runs, CameraConfigsWithATestSource) {
  const std::string source = "source={type: test, is-live: true, pattern: ball, width: 320, height: 240, num-buffers: 15}";
  const ProcessResult display = deeplab_run({ptest::config("camera-display.yaml"), "--set", source, "--set",
                                             "outputs.0.sink=fakesink"});
  ASSERT_EQ(display.exit_code, 0) << display.err;
  EXPECT_GT(ptest::summary_output_frames(display.err, 0), 0) << display.err;

  const std::string dir = ptest::scratch_dir();
  const ProcessResult robot = deeplab_run({ptest::config("camera-robot.yaml"), "--set", source, "--set",
                                           "outputs.1.socket-path=" + dir + "/classes"});
  ASSERT_EQ(robot.exit_code, 0) << robot.err;
  EXPECT_GT(ptest::summary_output_frames(robot.err, 0), 0) << robot.err;
  EXPECT_GT(ptest::summary_output_frames(robot.err, 1), 0) << robot.err;
}

// A live source faster than the model: the one-frame leaky queue before deeplabseg drops the frames it
// cannot take, and the summary accounts for every frame the source made (no sink syncs here, so no
// QoS drops: each frame is either segmented or dropped by the queue).
TEST(Runs, LiveSourceDropsAreCounted) {
  const ProcessResult r = deeplab_run({ptest::config("camera-display.yaml"), "--set",
                                       "source={type: test, is-live: true, width: 640, height: 480, framerate: 1000, "
                                       "num-buffers: 60}",
                                       "--set", "outputs.0.sink=fakesink", "--set", "outputs.0.sync=false"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::smatch frames, dropped;
  ASSERT_TRUE(std::regex_search(r.err, frames, std::regex("done: ([0-9]+) frames"))) << r.err;
  ASSERT_TRUE(std::regex_search(r.err, dropped, std::regex("dropped frames: ([0-9]+)"))) << r.err;
  EXPECT_GT(std::stoi(dropped[1]), 0) << "1000 fps at 640x480 is faster than the model";
  EXPECT_EQ(std::stoi(frames[1]) + std::stoi(dropped[1]), 60) << r.err;
  EXPECT_EQ(ptest::summary_output_frames(r.err, 0), std::stoi(frames[1]));
}
