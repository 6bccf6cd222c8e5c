// Helpers for the pipeline tests: paths, a scratch folder per test, processes (deeplab-run,
// gst-launch-1.0) with their exit status and output, and frame counts of written videos by decoding.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ptest {

std::string shared_dir();
std::string source_dir();
std::string clip(const std::string& name);  // shared/media/<name>
std::string config(const std::string& name);  // configs/<name> in the source tree
// A fresh, empty folder for the current test (build tree), named after it.
std::string scratch_dir();
std::string write_file(const std::string& path, const std::string& text);
std::string read_file(const std::string& path);

struct ProcessResult {
  int exit_code = -1;   // -1: killed by a signal or timed out
  bool timed_out = false;
  std::string out;
  std::string err;
};

// A child process whose stdout and stderr go to files (no pipe to fill up).
class Process {
 public:
  explicit Process(const std::vector<std::string>& argv);
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();
  void signal(int sig) const;
  ProcessResult wait(double timeout_s);
  std::string err_so_far() const;

 private:
  pid_t pid_ = -1;
  std::string out_path_, err_path_;
};

ProcessResult run_process(const std::vector<std::string>& argv, double timeout_s = 240);
ProcessResult deeplab_run(const std::vector<std::string>& args, double timeout_s = 240);
std::string deeplab_run_path();

// The deeplab::ConfigError message of loading `yaml` as "test.yaml", or "" if it loads.
std::string config_error(const std::string& yaml, const std::vector<std::string>& overrides = {});

// Video frames in a file, counted by decoding it (GStreamer decodebin); -1 if it does not play to the end.
std::int64_t count_frames(const std::string& path);
// Size of the first decoded frame; {0, 0} if none.
struct Size {
  int width = 0, height = 0;
};
Size first_frame_size(const std::string& path);

// A short H.264/MP4 clip of `frames` frames (videotestsrc ball), for file-source tests that need a
// clip shorter than the shared ones.
std::string make_clip(const std::string& path, int frames, int width, int height);

// The number in a summary line "outputs.K <type> ...: N frames" of deeplab-run; -1 if absent.
std::int64_t summary_output_frames(const std::string& err, int output);
// The number in the summary line of a config key ("sources.1", "sources.1.outputs.0"); -1 if absent.
std::int64_t summary_frames(const std::string& err, const std::string& key);

}  // namespace ptest
