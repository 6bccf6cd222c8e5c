// One run of a configured pipeline: checks what only running can tell (input file, camera, output
// folders), builds the GstPipeline from the launch arguments, counts frames with pad probes, delivers
// appsink frames to the callback, and runs the bus loop (progress, stop -> EOS with a timeout, errors
// named after the config key of the element at fault).
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "appsink_output.h"
#include "output_files.h"
#include "config.h"
#include "deeplab/pipeline.h"
#include "run_stats.h"

namespace deeplab::pipeline {

// The GstPipeline from the launch arguments (gst_parse_launchv), owned; set to NULL when released.
class GstPipelineHandle {
 public:
  explicit GstPipelineHandle(const std::vector<std::string>& args);
  ~GstPipelineHandle();
  GstPipelineHandle(const GstPipelineHandle&) = delete;
  GstPipelineHandle& operator=(const GstPipelineHandle&) = delete;
  GstElement* get() const { return pipeline_; }
  GstElement* element(const std::string& name) const;  // transfer none; nullptr if absent

 private:
  GstElement* pipeline_ = nullptr;
};

// What the source's decodebin exposed (pad-added, no-more-pads; streaming threads): an input with
// no video stream is named as such rather than by the "not-linked" error it ends with.
struct SourcePads {
  mutable std::mutex mutex;
  int video = 0;
  bool complete = false;     // no-more-pads
  std::string other;         // media types of the other streams ("audio/x-raw")
};

class Runner {
 public:
  Runner(const PipelineConfig& config, const std::vector<std::string>& args, const FrameCallback& callback,
         const std::atomic<int>& stop_requests, const RunOptions& options);
  ~Runner();
  RunStats run();

 private:
  void check_inputs() const;
  void prepare_outputs() const;
  void attach_probes();
  void attach_appsinks();
  void watch_source_pads();
  std::string no_video_stream() const;
  void attach_source_probes(std::size_t source);
  void remove_empty_outputs(RunStats& stats, std::string& note) const;
  void query_input_duration();
  void check_input_end(RunStats& stats) const;
  enum class Next { kContinue, kDone };
  Next handle(GstMessage* message);
  void handle_stop(gint64 now_us);
  void extend_eos_deadline(gint64 now_us);
  void bypass_model();
  double progress_fraction(std::uint64_t frames) const;
  void report_progress(gint64 now_us, bool final);
  std::string describe(GstObject* object) const;
  std::string source_description(std::size_t source) const;
  std::uint64_t frames_segmented() const;  // every source's
  RunStats collect(gint64 end_us) const;

  const PipelineConfig& config_;
  const std::vector<std::string>& args_;
  const FrameCallback& callback_;
  const std::atomic<int>& stop_requests_;
  RunOptions options_;

  std::unique_ptr<GstPipelineHandle> pipeline_;
  std::unique_ptr<FrameCounters[]> counters_;  // per source
  std::unique_ptr<std::atomic<std::uint64_t>[]> output_frames_;
  std::vector<std::unique_ptr<AppsinkOutput>> appsinks_;
  std::unique_ptr<SourcePads[]> source_pads_;  // per source
  std::vector<FileStamp> output_stamps_;  // per output; file outputs only
  std::vector<std::pair<GstObject*, std::uint64_t>> qos_dropped_;  // per element: its latest count
  gint64 start_us_ = 0;
  gint64 last_progress_us_ = 0;
  gint64 eos_deadline_us_ = 0;
  gint64 duration_ns_ = -1;
  gint64 input_duration_ns_ = -1;  // declared by the container, for check_input_end()
  double input_fps_ = 0;
  bool eos_sent_ = false;        // stop() seen: the gate closed and the EOS sent
  bool bypassed_ = false;          // the outputs were sent EOS behind the model (bypass_model)
  bool stopped_at_start_ = false;  // stop() before any frame reached deeplabseg: torn down, no EOS
  std::uint64_t progress_mark_ = 0;  // frames segmented and written when the EOS deadline last moved
  bool live_ = false;
  bool progress_on_tty_ = false;
  bool progress_line_open_ = false;
  int stops_seen_ = 0;
  std::string error_;
  ErrorCode error_code_ = ErrorCode::kInternal;
};

}  // namespace deeplab::pipeline
