// Stops at awkward moments and inputs that are not what they seem (issue 18): Ctrl-C on a slow model,
// Ctrl-C during start-up, an input without video, an input cut short, a run that fails before its
// first frame. In every case: a clear message, no hang, the finished frames kept in a playable file,
// no empty or unplayable file left behind, and a summary that counts what the files play.
// Nothing here asserts a duration: waits are for events (a progress line, the process's end), with
// generous limits that only catch a hang.
#include <signal.h>

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include "deeplab/pipeline.h"
#include "pipeline_test_support.h"

using ptest::ProcessResult;
namespace fs = std::filesystem;

namespace {

constexpr int kRuntimeError = 1;

// Frames segmented in the latest progress line of deeplab-run's stderr ("progress: [  3%] 12 frames"); -1 if none.
std::int64_t progress_frames(const std::string& err) {
  std::int64_t frames = -1;
  const std::regex line("progress: (\\[ *[0-9]+%\\] )?([0-9]+) frames");
  for (auto it = std::sregex_iterator(err.begin(), err.end(), line); it != std::sregex_iterator(); ++it)
    frames = std::stoll((*it)[2]);
  return frames;
}

// Runs a GStreamer pipeline description to its end (test inputs).
void launch(const std::string& description) {
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  ASSERT_EQ(error, nullptr) << description << ": " << error->message;
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* message = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                                   static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  EXPECT_TRUE(message && GST_MESSAGE_TYPE(message) == GST_MESSAGE_EOS) << description;
  if (message) gst_message_unref(message);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
}

// A 100-frame H.264 clip with B-frames, its index (moov) first, cut after 40 % of its bytes: the
// demuxer knows 4 s and 100 frames, the data holds the first ~36, with a gap in the timestamps where
// the B-frames' references were cut off.
std::string cut_clip(const std::string& dir) {
  const std::string full = dir + "/full.mp4", cut = dir + "/cut.mp4";
  launch("videotestsrc pattern=ball num-buffers=100 ! video/x-raw,width=160,height=120,framerate=25/1 ! x264enc ! "
         "mp4mux faststart=true ! filesink location=\"" + full + "\"");
  fs::copy_file(full, cut);
  fs::resize_file(cut, fs::file_size(full) * 4 / 10);
  return cut;
}

}  // namespace

// Ctrl-C while a slow model (CRF, 40 iterations at 768x432) has many decoded frames queued before it:
// they are dropped, the EOS follows the frame being segmented, the MP4 is finalised with every frame
// that went through the model. (Before: the EOS waited behind the queued frames, the stop timed out,
// rc 1 and a 0-byte MP4.)
TEST(Interrupts, CtrlCOnASlowModelKeepsTheFramesDone) {
  const std::string dir = ptest::scratch_dir();
  ptest::Process process({ptest::deeplab_run_path(), ptest::config("file-overlay.yaml"), "--set",
                          "source.path=" + ptest::clip("car-detection.mp4"), "--set", "outputs.0.path=" + dir + "/o.mp4",
                          "--set", "segmentation.device=cpu", "--set", "segmentation.threads=2", "--set",
                          "segmentation.crf=full", "--set", "segmentation.crf-iterations=40",
                          // the default model's own crf: block has no kernel weight (docs/crf.md)
                          "--set", "segmentation.crf-bilateral-weight=4"});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  while (std::chrono::steady_clock::now() < deadline && progress_frames(process.err_so_far()) < 1)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_GE(progress_frames(process.err_so_far()), 1) << process.err_so_far();
  process.signal(SIGINT);
  const ProcessResult r = process.wait(180);
  ASSERT_FALSE(r.timed_out) << r.err;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("stopped: "), std::string::npos) << r.err;
  const std::int64_t written = ptest::summary_output_frames(r.err, 0);
  EXPECT_GE(written, 1) << r.err;
  EXPECT_LT(written, 377) << "the whole clip was segmented: the stop was not seen";
  EXPECT_EQ(ptest::count_frames(dir + "/o.mp4"), written) << r.err;
}

// Ctrl-C at moments of the start-up (before the handler is installed, while the model loads, around
// the first frame). Whatever the moment: no hang; either the run stopped before the first frame, says
// so and leaves no file (rc 1), or it stopped after it and the file plays the frames the summary
// counts (rc 0). (Before: "Internal data stream error" and a 0-byte file, or rc 0, "stopped: 0
// frames" and an unplayable 595-byte MP4.)
TEST(Interrupts, CtrlCDuringStartUpLeavesNoUnplayableFile) {
  const std::string dir = ptest::scratch_dir();
  int before_first_frame = 0;
  for (const int delay_ms : {0, 30, 80, 150, 250, 400, 700}) {
    SCOPED_TRACE("SIGINT " + std::to_string(delay_ms) + " ms after the start");
    const std::string out = dir + "/o" + std::to_string(delay_ms) + ".mp4";
    ptest::Process process({ptest::deeplab_run_path(), ptest::config("file-overlay.yaml"), "--set",
                            "source.path=" + ptest::clip("car-detection.mp4"), "--set", "outputs.0.path=" + out, "--set",
                            "segmentation.threads=2"});
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    process.signal(SIGINT);
    const ProcessResult r = process.wait(120);
    ASSERT_FALSE(r.timed_out) << r.err;
    if (r.exit_code == -1) {  // the default SIGINT action, before main() installed its handler
      EXPECT_FALSE(fs::exists(out));
      continue;
    }
    EXPECT_EQ(r.err.find("Internal data stream error"), std::string::npos) << r.err;
    if (r.exit_code == kRuntimeError) {
      EXPECT_NE(r.err.find("deeplab-run: stopped during start-up, before the first frame: nothing was written"),
                std::string::npos)
          << r.err;
      EXPECT_FALSE(fs::exists(out)) << r.err;
      ++before_first_frame;
    } else {
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_NE(r.err.find("stopped: "), std::string::npos) << r.err;
      EXPECT_GE(ptest::summary_output_frames(r.err, 0), 1) << r.err;
      EXPECT_EQ(ptest::count_frames(out), ptest::summary_output_frames(r.err, 0)) << r.err;
    }
  }
  EXPECT_GT(before_first_frame, 0) << "no stop landed in the start-up";
}

// The embedding API's stop() before run() (Ctrl-C while starting up, made deterministic): run()
// returns at once, stopped with no frame, and the file output is not left behind.
TEST(Interrupts, StopBeforeRunEndsWithoutAFile) {
  const std::string dir = ptest::scratch_dir();
  deeplab::Pipeline pipeline = deeplab::Pipeline::from_string(
      "source: {type: file, path: '" + ptest::clip("car-detection.mp4") + "'}\nsegmentation: {threads: 2}\n"
      "outputs:\n  - {type: file, path: '" + dir + "/o.mp4'}\n");
  pipeline.stop();
  deeplab::RunStats stats;
  ASSERT_NO_THROW(stats = pipeline.run());
  EXPECT_TRUE(stats.stopped);
  EXPECT_EQ(stats.frames, 0u);
  ASSERT_EQ(stats.outputs.size(), 1u);
  EXPECT_EQ(stats.outputs[0].frames, 0u);
  EXPECT_FALSE(fs::exists(dir + "/o.mp4"));
}

// A stop while the model spends longer on one frame than the EOS timeout (RunOptions::eos_timeout_s
// made far shorter than a frame with a CRF): the outputs get their EOS behind the model, and the file plays
// every frame written. (Before: the timeout tore the pipeline down, run() threw, the MP4 had no index.)
TEST(Interrupts, StopDuringAFrameLongerThanTheTimeoutKeepsTheFile) {
  const std::string dir = ptest::scratch_dir();
  deeplab::Pipeline pipeline = deeplab::Pipeline::from_string(
      "source: {type: file, path: '" + ptest::clip("car-detection.mp4") + "'}\n"
      "segmentation: {device: cpu, threads: 2, crf: full, crf-iterations: 20, crf-bilateral-weight: 4}\n"
      // zerolatency: x264enc's lookahead would hold the first frames, and the pipeline (the file
      // sink) would not preroll before the stop, nor the appsink see a frame.
      "outputs:\n  - {type: file, path: '" + dir + "/o.mp4', encoder: {tune: zerolatency}}\n"
      "  - {type: appsink, name: a, drop: false}\n");
  pipeline.on_frame([&pipeline](const deeplab::OutputFrame& frame) {
    if (frame.index == 0) pipeline.stop();  // a frame done, the next one in the model
  });
  deeplab::RunOptions options;
  options.eos_timeout_s = 0.02;
  deeplab::RunStats stats;
  ASSERT_NO_THROW(stats = pipeline.run(options));
  EXPECT_TRUE(stats.stopped);
  ASSERT_EQ(stats.outputs.size(), 2u);
  EXPECT_GE(stats.outputs[0].frames, 1u);
  EXPECT_EQ(ptest::count_frames(dir + "/o.mp4"), static_cast<std::int64_t>(stats.outputs[0].frames));
}

// An input without video: said in so many words, exit 1, no output file.
// (Before: "... not-linked" and a 0-byte MP4.)
TEST(BadInputs, AudioOnlyInputIsNamedAndWritesNothing) {
  const std::string dir = ptest::scratch_dir();
  const std::string audio = dir + "/audio.mkv";
  launch("audiotestsrc num-buffers=20 ! audioconvert ! vorbisenc ! matroskamux ! filesink location=\"" + audio + "\"");
  const ProcessResult r = ptest::deeplab_run({ptest::config("file-overlay.yaml"), "--set", "source.path=" + audio, "--set",
                                              "outputs.0.path=" + dir + "/o.mp4"},
                                             120);
  EXPECT_EQ(r.exit_code, kRuntimeError) << r.err;
  EXPECT_NE(r.err.find("deeplab-run: no video stream in source file '" + audio + "' (it has audio/x-raw only)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("not-linked"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/o.mp4")) << r.err;
}

// A file cut short (its index says 100 frames, its data holds ~36): processed, finalised, and
// reported, exit 1; --allow-partial accepts it (exit 0, the summary still says it). The summary
// counts the frames the written MP4 plays: the last frame, after the timestamp gap, falls outside
// the MP4's edit list, and the encoder's count was one too many. (Before: exit 0 and no word, and a
// summary one frame above the file.)
TEST(BadInputs, InputCutShortIsReported) {
  const std::string dir = ptest::scratch_dir();
  const std::string cut = cut_clip(dir);
  const ProcessResult r = ptest::deeplab_run({ptest::config("file-overlay.yaml"), "--set", "source.path=" + cut, "--set",
                                              "outputs.0.path=" + dir + "/o.mp4", "--set", "segmentation.threads=2"},
                                             240);
  EXPECT_EQ(r.exit_code, kRuntimeError) << r.err;
  EXPECT_NE(r.err.find("input ended early: the video stops at "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" of about 100 frames); the file may be cut short (the outputs hold what was read; "
                       "--allow-partial accepts this)"),
            std::string::npos)
      << r.err;
  const std::int64_t written = ptest::summary_output_frames(r.err, 0);
  EXPECT_GT(written, 10) << r.err;
  EXPECT_LT(written, 60) << r.err;
  EXPECT_EQ(ptest::count_frames(dir + "/o.mp4"), written) << r.err;

  const ProcessResult allowed = ptest::deeplab_run({ptest::config("file-overlay.yaml"), "--set", "source.path=" + cut,
                                                    "--set", "outputs.0.path=" + dir + "/o.mkv", "--set",
                                                    "segmentation.threads=2", "--allow-partial"},
                                                   240);
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_NE(allowed.err.find("\ninput ended early: "), std::string::npos) << allowed.err;
  EXPECT_EQ(ptest::count_frames(dir + "/o.mkv"), ptest::summary_output_frames(allowed.err, 0)) << allowed.err;
}

// precision=fp16 on the CPU: a visible warning (docs/elements.md), with --quiet too.
TEST(BadInputs, Fp16OnTheCpuWarnsVisibly) {
  const ProcessResult r = ptest::deeplab_run(
      {ptest::config("camera-display.yaml"), "--set", "source={type: test, width: 160, height: 120, num-buffers: 2}",
       "--set", "outputs.0.sink=fakesink", "--set", "segmentation.device=cpu", "--set", "segmentation.precision=fp16",
       "--set", "segmentation.threads=2", "--quiet"},
      120);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: segmentation (model '"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("precision fp16 is a CUDA option; the CPU runs fp32\n"), std::string::npos) << r.err;
}
