// deeplab::Pipeline: a YAML pipeline description (docs/pipelines.md) turned into a running GStreamer
// pipeline, with frames and class maps delivered to a C++ callback — the embedding API behind
// `deeplab-run`, for applications such as robotics stacks that want segmentation results in-process.
//
//   auto pipeline = deeplab::Pipeline::from_file("configs/camera-robot.yaml", {"source.device=/dev/video2"});
//   pipeline.on_frame([](const deeplab::OutputFrame& frame) {
//     const deeplab::ClassMapView& map = frame.class_map;   // no copy: points into the buffer's meta
//     ... map.ids[y * map.stride + x] ...
//   });
//   deeplab::RunStats stats = pipeline.run();   // blocks until EOS, stop() or an error
//
// Errors: a bad configuration throws deeplab::ConfigError (message "FILE:LINE:COLUMN: key: what",
// or "--set KEY=VALUE: ..." for an override); a failure while running (missing input, absent camera,
// model that does not load, an element error) throws deeplab::Error naming the thing at fault.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "deeplab/error.h"

namespace deeplab {

// A configuration that cannot be used: YAML syntax, unknown key, wrong type, bad value, missing key.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message) : Error(ErrorCode::kInvalidArgument, message) {}
};

// The class map of one frame, as deeplabseg attached it (GstDeeplabSegMeta). Every pointer points into
// the meta of the frame's buffer: valid during the callback (or as long as a reference to `sample`).
struct ClassMapView {
  const std::uint8_t* ids = nullptr;  // ids[y * stride + x] = class id
  int width = 0;                      // the frame's size (the size deeplabseg saw)
  int height = 0;
  int stride = 0;
  int num_classes = 0;
  const char* const* names = nullptr;     // num_classes names
  const std::uint8_t* palette = nullptr;  // num_classes RGB triplets
  int model_width = 0;                    // the network's input size (0 when unknown)
  int model_height = 0;
  const float* probabilities = nullptr;  // num_classes planes of prob_width x prob_height (CHW), when
  int prob_width = 0;                    // segmentation.emit-probabilities is true; else nullptr
  int prob_height = 0;

  explicit operator bool() const { return ids != nullptr; }
  std::uint8_t at(int x, int y) const { return ids[static_cast<std::size_t>(y) * stride + x]; }
};

// One frame at an `appsink` output: the video frame (mapped read-only, no copy) and its class map.
// (The engine's deeplab::FrameView is the frame a Segmenter reads; both headers go in one program.)
struct OutputFrame {
  std::string_view output;    // the output's `name`
  std::uint64_t index = 0;    // frames delivered to this output before this one
  GstClockTime pts = GST_CLOCK_TIME_NONE;
  GstSample* sample = nullptr;  // borrowed; gst_sample_ref() it to keep the frame beyond the callback
  std::string_view format;      // GStreamer format name: "I420", "RGB", "GRAY8" (show: ids), ...
  int width = 0;
  int height = 0;
  int n_planes = 0;
  const std::uint8_t* planes[4] = {};
  int strides[4] = {};
  ClassMapView class_map;  // empty (operator bool false) if the buffer carries no meta
};

// Called from the streaming thread of each appsink output (several outputs: several threads). A slow
// callback makes that appsink drop frames (`drop: true`, the default) rather than stall the pipeline.
// An exception thrown by the callback stops the run; run() rethrows it as a deeplab::Error.
using FrameCallback = std::function<void(const OutputFrame&)>;

struct RunOptions {
  bool progress = false;              // progress lines on stderr (a live line when stderr is a terminal)
  double progress_interval_s = 5.0;   // between plain lines when stderr is not a terminal
  double eos_timeout_s = 10.0;        // after stop(): how long to wait without a frame being finished
                                      // (segmented or written) for EOS before tearing down
};

struct OutputStats {
  std::string name;
  std::string type;    // display, file, masks, appsink, shm, udp
  std::string target;  // path, socket, host:port or sink element
  std::uint64_t frames = 0;  // frames written: for a file (or udp) output, the frames the encoder handed on
  bool removed = false;      // a file output that got no frame: its empty, unplayable file was removed
  std::string key;           // its config key: outputs.N, or sources.S.outputs.N
};

// Per source, for a configuration with a `sources:` list (one item for a lone `source:`).
struct SourceStats {
  std::string key;          // source, or sources.N
  std::string description;  // "source file 'a.mp4'", "camera '/dev/video0'"
  std::uint64_t frames = 0;  // frames segmented
};

struct RunStats {
  std::uint64_t frames = 0;   // frames segmented
  double seconds = 0;         // from PLAYING to the end
  double fps = 0;
  double latency_mean_ms = 0;  // deeplabseg's time per frame (its sink pad to its src pad)
  double latency_p95_ms = 0;
  double latency_max_ms = 0;
  std::uint64_t dropped = 0;  // QoS drops (reported by elements) + frames a leaky queue dropped
  bool stopped = false;       // ended by stop() (and EOS) rather than by the source's end; with frames
                              // == 0: stopped before the first frame, during start-up
  // A file or uri source whose video ended clearly before the duration its container declares (a file
  // cut short): where it ended, and the declared duration (seconds), and about how many frames that is.
  bool input_ended_early = false;
  double input_end_s = 0;
  double input_duration_s = 0;
  std::uint64_t input_frames_expected = 0;  // 0 if the frame rate is unknown
  std::vector<OutputStats> outputs;
  std::vector<SourceStats> sources;
};

class Pipeline {
 public:
  // Parse and validate (throws ConfigError). `overrides` are "a.b.c=value" ("outputs.0.path=x.mp4"):
  // the value is read as YAML, so "true", "3", "[person, car]" and "{type: display}" work.
  static Pipeline from_file(const std::string& path, const std::vector<std::string>& overrides = {});
  static Pipeline from_string(const std::string& yaml, const std::vector<std::string>& overrides = {},
                              const std::string& origin = "<string>");

  Pipeline(Pipeline&&) noexcept;
  Pipeline& operator=(Pipeline&&) noexcept;
  ~Pipeline();

  // The gst-launch-1.0 arguments this pipeline is built from (gst_parse_launchv), and the same as a
  // shell command line ("gst-launch-1.0 -e ..." with shell quoting) that builds the same pipeline.
  const std::vector<std::string>& launch_args() const;
  std::string launch_line() const;
  bool is_live() const;  // camera, rtsp/udp uri, live test source: runs until stop()

  // Builds the GStreamer pipeline without starting it (element names, properties, links), then drops it.
  void check() const;

  void on_frame(FrameCallback callback);  // before run()
  RunStats run(const RunOptions& options = {});
  // Ask a running pipeline to finish: the frames waiting before the model are dropped and EOS follows
  // the frame being segmented, so that files are finalised with every segmented frame; before the
  // first frame (or before run()) the run ends at once, stopped with no frame, empty files removed.
  // A second call (or the EOS timeout) tears it down at once. Async-signal-safe: may be called from a
  // SIGINT handler.
  void stop() noexcept;

 private:
  struct Impl;
  explicit Pipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A Markdown table of the keys a section accepts that come from an element's properties
// ("segmentation" -> deeplabseg, "overlay" -> deeplaboverlay, "encoder" -> x264enc): what
// docs/pipelines.md shows and `deeplab-run --describe SECTION` prints.
std::string describe_section(const std::string& section);

}  // namespace deeplab
