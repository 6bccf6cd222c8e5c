// deeplab-run as a program: exit codes and messages of each error class, --dry-run on every file in
// configs/, the --print-launch command run by gst-launch-1.0, and Ctrl-C on a live source.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "pipeline_test_support.h"

using ptest::deeplab_run;
using ptest::ProcessResult;

namespace {

constexpr int kRuntimeError = 1;
constexpr int kConfigError = 2;

// A file-source config with one file output, written into the test's scratch folder.
std::string file_config(const std::string& dir, const std::string& extra = "") {
  return ptest::write_file(dir + "/c.yaml", "source:\n  type: file\n  path: " + ptest::clip("car-detection.mp4") +
                                                "\n" + extra + "outputs:\n  - type: file\n    path: " + dir + "/o.mp4\n");
}

// deeplab-run with `args` exits with `exit_code` and prints exactly `err`.
void expect_exit(const std::vector<std::string>& args, int exit_code, const std::string& err) {
  const ProcessResult r = deeplab_run(args);
  EXPECT_EQ(r.exit_code, exit_code) << r.err;
  EXPECT_EQ(r.err, err);
}

}  // namespace

TEST(Cli, EveryConfigValidates) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ptest::source_dir() + "/configs")) {
    if (entry.path().extension() != ".yaml") continue;
    const ProcessResult r = deeplab_run({entry.path().string(), "--dry-run"}, 60);
    EXPECT_EQ(r.exit_code, 0) << entry.path() << ": " << r.err;
    EXPECT_NE(r.err.find(entry.path().string() + ": valid"), std::string::npos) << r.err;
    ++n;
  }
  EXPECT_GE(n, 6);
}

TEST(Cli, UnknownKeyWithSuggestionExits2) {
  const std::string dir = ptest::scratch_dir();
  const std::string path = ptest::write_file(dir + "/c.yaml", "source:\n  type: file\n  pth: a.mp4\noutputs:\n"
                                                              "  - type: file\n    path: o.mp4\n");
  expect_exit({path}, kConfigError,
              path + ":3:3: source.pth: unknown key in a file source (did you mean 'path'?)\n");
}

TEST(Cli, WrongTypeExits2) {
  const std::string dir = ptest::scratch_dir();
  const std::string path = file_config(dir, "segmentation:\n  threads: two\n");
  expect_exit({path}, kConfigError,
              path + ":5:12: segmentation.threads: expected an integer, got 'two'\n");
}

TEST(Cli, BadEnumExits2) {
  const std::string dir = ptest::scratch_dir();
  expect_exit({file_config(dir), "--set", "segmentation.device=gpu"}, kConfigError,
              "--set segmentation.device=gpu: segmentation.device: 'gpu' is not one of auto, cpu or cuda (did "
              "you mean 'cpu'?)\n");
}

TEST(Cli, MissingRequiredKeyExits2) {
  const std::string dir = ptest::scratch_dir();
  const std::string path = ptest::write_file(dir + "/c.yaml", "source:\n  type: file\noutputs:\n  - type: masks\n");
  expect_exit({path}, kConfigError,
              path + ":2:3: source: missing required key 'path' for a file source\n");
}

TEST(Cli, BadInputSizeExits2) {
  const std::string dir = ptest::scratch_dir();
  const ProcessResult r = deeplab_run({file_config(dir), "--set", "segmentation.input-size=0x0"});
  EXPECT_EQ(r.exit_code, kConfigError) << r.err;
  EXPECT_NE(r.err.find("segmentation.input-size: '0x0' is not WIDTHxHEIGHT"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/o.mp4"));
}

TEST(Cli, UsageAndUnreadableConfigExit2) {
  EXPECT_EQ(deeplab_run({}).exit_code, kConfigError);
  EXPECT_EQ(deeplab_run({"a.yaml", "--frobnicate"}).exit_code, kConfigError);
  expect_exit({"/nonexistent/c.yaml"}, kConfigError,
              "/nonexistent/c.yaml: cannot read the configuration file (No such file or directory)\n");
}

TEST(Cli, MissingInputFileExits1) {
  const std::string dir = ptest::scratch_dir();
  expect_exit({file_config(dir), "--set", "source.path=" + dir + "/nothing.mp4"}, kRuntimeError,
              "deeplab-run: source file '" + dir + "/nothing.mp4' not found\n");
  EXPECT_FALSE(std::filesystem::exists(dir + "/o.mp4"));
}

TEST(Cli, AbsentCameraExits1) {
  const ProcessResult r = deeplab_run({ptest::config("camera-display.yaml"), "--set", "source.device=/dev/video97"});
  EXPECT_EQ(r.exit_code, kRuntimeError);
  EXPECT_EQ(r.err.rfind("deeplab-run: camera '/dev/video97' not found (", 0), 0u) << r.err;
}

// Without a display autovideosink picks sinks that crash (DirectFB): refused with a message instead.
TEST(Cli, DisplayWithoutADisplayExits1) {
  const ProcessResult r = ptest::run_process({"env", "-u", "DISPLAY", "-u", "WAYLAND_DISPLAY", ptest::deeplab_run_path(),
                                              ptest::config("camera-display.yaml"), "--set",
                                              "source={type: test, num-buffers: 3}"},
                                             60);
  EXPECT_EQ(r.exit_code, kRuntimeError);
  EXPECT_EQ(r.err, "deeplab-run: outputs.0 (display): no display to show it on (DISPLAY and WAYLAND_DISPLAY are not "
                   "set); for a headless run use --set outputs.0.sink=fakesink, on a console e.g. sink: kmssink\n");
}

TEST(Cli, BadModelExits1) {
  const std::string dir = ptest::scratch_dir();
  const ProcessResult missing = deeplab_run({file_config(dir), "--set", "segmentation.model=" + dir + "/none.onnx"});
  EXPECT_EQ(missing.exit_code, kRuntimeError);
  EXPECT_NE(missing.err.find("deeplab-run: segmentation (model '" + dir + "/none.onnx'): Could not load model '" + dir +
                             "/none.onnx'"),
            std::string::npos)
      << missing.err;
  EXPECT_NE(missing.err.find("model file not found"), std::string::npos) << missing.err;

  const std::string corrupt = ptest::write_file(dir + "/corrupt.onnx", std::string(4096, '\x7f'));
  const ProcessResult bad = deeplab_run({file_config(dir), "--set", "segmentation.model=" + corrupt});
  EXPECT_EQ(bad.exit_code, kRuntimeError);
  EXPECT_NE(bad.err.find("deeplab-run: segmentation (model '" + corrupt + "'): Could not load model"), std::string::npos)
      << bad.err;
  EXPECT_NE(bad.err.find("not a valid ONNX model"), std::string::npos) << bad.err;
  // No frame written: the file the sink had opened is not left behind, and the message says so.
  EXPECT_FALSE(std::filesystem::exists(dir + "/o.mp4"));
  EXPECT_NE(bad.err.find("; nothing was written: removed the empty '" + dir + "/o.mp4'"), std::string::npos) << bad.err;
}

// The printed command, run by a shell and gst-launch-1.0, makes the same outputs as deeplab-run: a
// file source (a short clip), an output path with a space and a quote, a masks sequence.
TEST(Cli, PrintLaunchRunsInGstLaunch) {
  const std::string dir = ptest::scratch_dir();
  const std::string clip = ptest::make_clip(dir + "/short clip.mp4", 12, 160, 120);
  const std::string path = ptest::write_file(dir + "/c.yaml", "source: {type: file, path: '" + clip + "'}\n"
                                                              "segmentation: {threads: 2}\noutputs:\n"
                                                              "  - {type: file, path: \"" + dir + "/it's out.mkv\"}\n"
                                                              "  - {type: masks, path: '" + dir + "/m/%03d.png'}\n");
  const ProcessResult printed = deeplab_run({path, "--print-launch"});
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  ASSERT_EQ(printed.out.rfind("gst-launch-1.0 -e filesrc name=src 'location=" + clip + "' ! ", 0), 0u) << printed.out;
  std::filesystem::create_directories(dir + "/m");
  const ProcessResult launched = ptest::run_process({"/bin/sh", "-c", printed.out}, 120);
  ASSERT_EQ(launched.exit_code, 0) << printed.out << launched.err;
  EXPECT_EQ(ptest::count_frames(dir + "/it's out.mkv"), 12);
  EXPECT_TRUE(std::filesystem::exists(dir + "/m/011.png"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/m/012.png"));

  std::filesystem::remove_all(dir + "/m");
  std::filesystem::remove(dir + "/it's out.mkv");
  const ProcessResult ran = deeplab_run({path});
  ASSERT_EQ(ran.exit_code, 0) << ran.err;
  EXPECT_EQ(ptest::count_frames(dir + "/it's out.mkv"), 12);
  EXPECT_TRUE(std::filesystem::exists(dir + "/m/011.png"));  // deeplab-run made the folder itself
  EXPECT_EQ(ptest::summary_output_frames(ran.err, 0), 12);
  EXPECT_EQ(ptest::summary_output_frames(ran.err, 1), 12);
}

// Ctrl-C on a live source: EOS first, so both containers are finalised (an MP4 without EOS has no
// index and does not play) and hold every frame that was encoded.
TEST(Cli, CtrlCOnALiveSourceFinalisesFiles) {
  const std::string dir = ptest::scratch_dir();
  const std::string path = ptest::write_file(
      dir + "/c.yaml", "source: {type: test, is-live: true, pattern: ball, width: 320, height: 240, framerate: 10}\n"
                       "segmentation: {threads: 2}\noutputs:\n"
                       "  - {type: file, path: " + dir + "/live.mp4}\n"
                       "  - {type: file, path: " + dir + "/live.mkv, show: mask}\n");
  ptest::Process process({ptest::deeplab_run_path(), path});
  // Wait for frames to be written (matroskamux writes as it goes), then press Ctrl-C.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         (!std::filesystem::exists(dir + "/live.mkv") || std::filesystem::file_size(dir + "/live.mkv") < 4000))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  process.signal(SIGINT);
  const ProcessResult r = process.wait(60);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("stopped: "), std::string::npos) << r.err;
  const auto written = ptest::summary_output_frames(r.err, 0);
  EXPECT_GT(written, 3) << r.err;
  EXPECT_EQ(ptest::count_frames(dir + "/live.mp4"), written);
  EXPECT_EQ(ptest::count_frames(dir + "/live.mkv"), ptest::summary_output_frames(r.err, 1));
  const ptest::Size size = ptest::first_frame_size(dir + "/live.mp4");
  EXPECT_EQ(size.width, 320);
  EXPECT_EQ(size.height, 240);
}

TEST(Cli, DescribePrintsThePropertyTable) {
  const ProcessResult r = deeplab_run({"--describe", "segmentation"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("| key | type, range | default | meaning |\n", 0), 0u);
  EXPECT_NE(r.out.find("| `device` | one of auto, cpu or cuda | `auto` |"), std::string::npos) << r.out;
  EXPECT_EQ(deeplab_run({"--describe", "nothing"}).exit_code, kConfigError);
}
