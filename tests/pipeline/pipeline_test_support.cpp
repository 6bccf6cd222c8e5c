#include "pipeline_test_support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "config.h"
#include "deeplab/pipeline.h"

namespace fs = std::filesystem;

namespace ptest {

std::string shared_dir() { return DEEPLAB_SHARED_DIR; }
std::string source_dir() { return DEEPLAB_SOURCE_DIR; }
std::string clip(const std::string& name) { return shared_dir() + "/media/" + name; }
std::string config(const std::string& name) { return source_dir() + "/configs/" + name; }
std::string deeplab_run_path() { return DEEPLAB_RUN; }

std::string scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::path(DEEPLAB_PIPELINE_TEST_WORK_DIR) / (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Process::Process(const std::vector<std::string>& argv) {
  static int serial = 0;
  const std::string base = (fs::path(DEEPLAB_PIPELINE_TEST_WORK_DIR) /
                            ("proc-" + std::to_string(getpid()) + "-" + std::to_string(serial++))).string();
  out_path_ = base + ".out";
  err_path_ = base + ".err";
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    const int out = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    execvp(args[0], args.data());
    _exit(127);
  }
}

Process::~Process() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::remove(out_path_.c_str());
  std::remove(err_path_.c_str());
}

void Process::signal(int sig) const {
  if (pid_ > 0) kill(pid_, sig);
}

std::string Process::err_so_far() const { return read_file(err_path_); }

ProcessResult Process::wait(double timeout_s) {
  ProcessResult result;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  int status = 0;
  while (pid_ > 0) {
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
      result.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  result.out = read_file(out_path_);
  result.err = read_file(err_path_);
  return result;
}

ProcessResult run_process(const std::vector<std::string>& argv, double timeout_s) {
  Process process(argv);
  return process.wait(timeout_s);
}

ProcessResult deeplab_run(const std::vector<std::string>& args, double timeout_s) {
  std::vector<std::string> argv = {deeplab_run_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, timeout_s);
}

namespace {

struct Decoded {
  std::int64_t frames = 0;
  Size size;
  bool complete = false;
};

GstPadProbeReturn on_frame(GstPad* pad, GstPadProbeInfo*, gpointer data) {
  auto* d = static_cast<Decoded*>(data);
  if (d->frames++ == 0) {
    GstCaps* caps = gst_pad_get_current_caps(pad);
    const GstStructure* s = gst_caps_get_structure(caps, 0);
    gst_structure_get_int(s, "width", &d->size.width);
    gst_structure_get_int(s, "height", &d->size.height);
    gst_caps_unref(caps);
  }
  return GST_PAD_PROBE_OK;
}

Decoded decode(const std::string& path) {
  Decoded d;
  if (!fs::exists(path)) return d;
  gchar* uri = gst_filename_to_uri(path.c_str(), nullptr);
  const std::string description = std::string("uridecodebin uri=\"") + uri + "\" ! video/x-raw ! fakesink name=sink sync=false";
  g_free(uri);
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (error) {
    ADD_FAILURE() << description << ": " << error->message;
    g_error_free(error);
    return d;
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  GstPad* pad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_frame, &d, nullptr);
  gst_object_unref(pad);
  gst_object_unref(sink);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* message = gst_bus_timed_pop_filtered(bus, 120 * GST_SECOND,
                                                   static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  d.complete = message && GST_MESSAGE_TYPE(message) == GST_MESSAGE_EOS;
  if (message) gst_message_unref(message);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return d;
}

}  // namespace

std::int64_t count_frames(const std::string& path) {
  const Decoded d = decode(path);
  return d.complete ? d.frames : -1;
}

Size first_frame_size(const std::string& path) { return decode(path).size; }

std::string make_clip(const std::string& path, int frames, int width, int height) {
  const std::string description = "videotestsrc pattern=ball num-buffers=" + std::to_string(frames) +
                                  " ! video/x-raw,format=I420,width=" + std::to_string(width) + ",height=" +
                                  std::to_string(height) + ",framerate=25/1 ! x264enc ! mp4mux ! filesink location=\"" +
                                  path + "\"";
  GstElement* pipeline = gst_parse_launch(description.c_str(), nullptr);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* message = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                                   static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  EXPECT_TRUE(message && GST_MESSAGE_TYPE(message) == GST_MESSAGE_EOS) << "could not write " << path;
  if (message) gst_message_unref(message);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return path;
}

std::string config_error(const std::string& yaml, const std::vector<std::string>& overrides) {
  try {
    deeplab::pipeline::load_config(yaml, "test.yaml", overrides);
  } catch (const deeplab::ConfigError& e) {
    return e.what();
  }
  return "";
}

std::int64_t summary_output_frames(const std::string& err, int output) {
  return summary_frames(err, "outputs." + std::to_string(output));
}

std::int64_t summary_frames(const std::string& err, const std::string& key) {
  std::smatch m;
  std::string pattern = "(^|\n)";
  for (char c : key) pattern += c == '.' ? std::string("\\.") : std::string(1, c);
  const std::regex line(pattern + " [^\n]*: ([0-9]+) frames");
  return std::regex_search(err, m, line) ? std::stoll(m[2]) : -1;
}

}  // namespace ptest
