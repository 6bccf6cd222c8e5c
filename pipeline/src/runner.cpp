#include "runner.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "launch.h"
#include "output_files.h"

namespace deeplab::pipeline {
namespace fs = std::filesystem;

namespace {

constexpr gint64 kTtyProgressUs = 250000;

std::string last_line(const char* text) {
  if (!text) return "";
  std::string s(text);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  const auto newline = s.rfind('\n');
  return newline == std::string::npos ? s : s.substr(newline + 1);
}

// "1:05" / "1:02:03"
std::string clock_text(double seconds) {
  const long s = std::max(0L, static_cast<long>(seconds + 0.5));
  char text[32];
  if (s >= 3600) std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
  return text;
}

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", seconds);
  return text;
}

GstPadProbeReturn count_buffer(GstPad*, GstPadProbeInfo*, gpointer counter) {
  static_cast<std::atomic<std::uint64_t>*>(counter)->fetch_add(1, std::memory_order_relaxed);
  return GST_PAD_PROBE_OK;
}

// deeplabseg runs in place in its sink pad's streaming thread: the time between a buffer at its sink
// pad and the same buffer at its src pad is its processing time. Dropped (QoS) frames never reach
// the src pad, and the next sink-pad time overwrites theirs.
GstPadProbeReturn seg_sink_probe(GstPad*, GstPadProbeInfo*, gpointer data) {
  auto* c = static_cast<FrameCounters*>(data);
  c->seg_in.fetch_add(1, std::memory_order_relaxed);
  c->seg_started_us = g_get_monotonic_time();
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn seg_src_probe(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* c = static_cast<FrameCounters*>(data);
  c->latency.add(g_get_monotonic_time() - c->seg_started_us);
  const GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
  if (GST_BUFFER_PTS_IS_VALID(buffer)) {
    c->last_pts.store(static_cast<std::int64_t>(GST_BUFFER_PTS(buffer)));
    const GstClockTime duration = GST_BUFFER_DURATION_IS_VALID(buffer) ? GST_BUFFER_DURATION(buffer) : 0;
    c->last_end.store(static_cast<std::int64_t>(GST_BUFFER_PTS(buffer) + duration));
  }
  c->seg_out.fetch_add(1, std::memory_order_relaxed);
  return GST_PAD_PROBE_OK;
}

// On the pad that feeds deeplabseg (StopGate). The EOS goes straight into the peer pad: pushed on
// this pad it would mark the pad EOS, and the next buffers would return GST_FLOW_EOS upstream, which
// decoders with frames in flight (avdec_h264 reordering B-frames) turn into an error. Later buffers are
// dropped with GST_FLOW_OK instead; the run ends when the EOS has reached every sink, and the decoding
// behind it stops then. The source's own EOS passes, unless the gate sent one already.
GstPadProbeReturn gate_probe(GstPad* pad, GstPadProbeInfo* info, gpointer data) {
  auto* gate = static_cast<StopGate*>(data);
  std::unique_lock<std::mutex> lock(gate->mutex);
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_EOS) return GST_PAD_PROBE_OK;
    if (gate->eos_sent) return GST_PAD_PROBE_DROP;
    gate->eos_sent = true;
    return GST_PAD_PROBE_OK;
  }
  if (!gate->closed && (gate->max == 0 || gate->passed < gate->max)) {
    ++gate->passed;
    return GST_PAD_PROBE_OK;
  }
  if (!gate->closed) gate->limited = true;
  if (!gate->eos_sent) {
    gate->eos_sent = true;
    lock.unlock();
    if (GstPad* peer = gst_pad_get_peer(pad)) {
      gst_pad_send_event(peer, gst_event_new_eos());
      gst_object_unref(peer);
    }
  }
  return GST_PAD_PROBE_DROP;
}

void add_probe(GstElement* element, const char* pad_name, GstPadProbeCallback callback, gpointer data,
               GstPadProbeType type = GST_PAD_PROBE_TYPE_BUFFER) {
  GstPad* pad = gst_element_get_static_pad(element, pad_name);
  if (!pad) throw Error(ErrorCode::kInternal, std::string("element '") + GST_ELEMENT_NAME(element) + "' has no " + pad_name + " pad");
  gst_pad_add_probe(pad, type, callback, data, nullptr);
  gst_object_unref(pad);
}

std::string media_type(GstPad* pad) {
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (!caps) caps = gst_pad_query_caps(pad, nullptr);
  std::string type = caps && !gst_caps_is_empty(caps) && !gst_caps_is_any(caps)
                         ? gst_structure_get_name(gst_caps_get_structure(caps, 0))
                         : "";
  if (caps) gst_caps_unref(caps);
  return type;
}

void on_source_pad(GstElement*, GstPad* pad, gpointer data) {
  auto* pads = static_cast<SourcePads*>(data);
  const std::string type = media_type(pad);
  std::lock_guard<std::mutex> lock(pads->mutex);
  if (type.rfind("video/", 0) == 0) ++pads->video;
  else if (pads->other.find(type) == std::string::npos) pads->other += (pads->other.empty() ? "" : ", ") + type;
}

void on_source_pads_complete(GstElement*, gpointer data) {
  auto* pads = static_cast<SourcePads*>(data);
  std::lock_guard<std::mutex> lock(pads->mutex);
  pads->complete = true;
}

ErrorCode code_of(const GError* error) {
  if (error->domain == GST_RESOURCE_ERROR)
    return error->code == GST_RESOURCE_ERROR_NOT_FOUND ? ErrorCode::kNotFound : ErrorCode::kIo;
  return ErrorCode::kInternal;
}

}  // namespace

GstPipelineHandle::GstPipelineHandle(const std::vector<std::string>& args) {
  std::vector<const gchar*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  GError* error = nullptr;
  pipeline_ = gst_parse_launchv(argv.data(), &error);
  if (error) {
    const ErrorCode code = error->domain == GST_PARSE_ERROR && error->code == GST_PARSE_ERROR_NO_SUCH_ELEMENT
                               ? ErrorCode::kNotFound
                               : ErrorCode::kInternal;
    std::string message = std::string("cannot build the GStreamer pipeline: ") + error->message;
    g_error_free(error);
    if (pipeline_) gst_object_unref(pipeline_);
    pipeline_ = nullptr;
    throw Error(code, message);
  }
}

GstPipelineHandle::~GstPipelineHandle() {
  if (!pipeline_) return;
  gst_element_set_state(pipeline_, GST_STATE_NULL);
  gst_object_unref(pipeline_);
}

GstElement* GstPipelineHandle::element(const std::string& name) const {
  GstElement* e = gst_bin_get_by_name(GST_BIN(pipeline_), name.c_str());
  if (e) gst_object_unref(e);  // the bin keeps it alive
  return e;
}

Runner::Runner(const PipelineConfig& config, const std::vector<std::string>& args, const FrameCallback& callback,
               const std::atomic<int>& stop_requests, const RunOptions& options)
    : config_(config), args_(args), callback_(callback), stop_requests_(stop_requests), options_(options) {
  output_frames_ = std::make_unique<std::atomic<std::uint64_t>[]>(config.outputs.size());
  counters_ = std::make_unique<FrameCounters[]>(config.sources.size());
  source_pads_ = std::make_unique<SourcePads[]>(config.sources.size());
  for (std::size_t k = 0; k < config.outputs.size(); ++k) output_frames_[k] = 0;
}

Runner::~Runner() {
  pipeline_.reset();  // stop the streaming threads before the counters and appsink outputs go
  for (auto& q : qos_dropped_) gst_object_unref(q.first);
}

std::string Runner::source_description(std::size_t source) const {
  const SourceConfig& s = config_.sources[source];
  switch (s.type) {
    case SourceType::kFile: return "source file '" + s.path + "'";
    case SourceType::kUri: return "source uri '" + s.uri + "'";
    case SourceType::kCamera: return "camera '" + s.device + "'";
    case SourceType::kTest: return config_.source_list ? s.key + " (test source)" : "test source";
  }
  return "source";
}

std::uint64_t Runner::frames_segmented() const {
  std::uint64_t frames = 0;
  for (std::size_t i = 0; i < config_.sources.size(); ++i) frames += counters_[i].seg_out.load();
  return frames;
}

// Input files and cameras are checked here rather than in validation: a configuration is valid before
// the file is recorded or the camera plugged in (deeplab-run --dry-run).
void Runner::check_inputs() const {
  for (std::size_t i = 0; i < config_.sources.size(); ++i) {
    const SourceConfig& s = config_.sources[i];
    std::error_code ec;
    if (s.type == SourceType::kFile) {
      if (!fs::exists(s.path, ec)) throw Error(ErrorCode::kNotFound, source_description(i) + " not found");
      if (fs::is_directory(s.path, ec)) throw Error(ErrorCode::kIo, source_description(i) + " is a folder, not a video file");
      if (access(s.path.c_str(), R_OK) != 0) throw Error(ErrorCode::kIo, source_description(i) + " is not readable");
    }
    if (s.type == SourceType::kCamera && !fs::exists(s.device, ec)) {
      std::vector<std::string> cameras;
      for (const auto& entry : fs::directory_iterator("/dev", ec))
        if (entry.path().filename().string().rfind("video", 0) == 0) cameras.push_back(entry.path().string());
      std::sort(cameras.begin(), cameras.end());
      throw Error(ErrorCode::kNotFound, "camera '" + s.device + "' not found (" +
                                            (cameras.empty() ? std::string("this machine has no /dev/video* device")
                                                             : "devices here: " + list_words(cameras)) + ")");
    }
  }
}

// multifilesink and filesink do not create folders: make the ones the output paths need. A display
// needs a display: without one, autovideosink falls back to sinks such as DirectFB's, which crashes
// the process on Debian 12.
void Runner::prepare_outputs() const {
  for (std::size_t k = 0; k < config_.outputs.size(); ++k) {
    const OutputConfig& o = config_.outputs[k];
    const char* x11 = std::getenv("DISPLAY");
    const char* wayland = std::getenv("WAYLAND_DISPLAY");
    if (o.type == OutputType::kDisplay && o.sink == "autovideosink" && !(x11 && *x11) && !(wayland && *wayland))
      throw Error(ErrorCode::kDevice, o.key + " (display): no display to show it on (DISPLAY and WAYLAND_DISPLAY are not "
                                          "set); for a headless run use --set " + o.key + ".sink=fakesink, on a console e.g. "
                                          "sink: kmssink");
    if (o.type != OutputType::kFile && o.type != OutputType::kMasks) continue;
    const fs::path folder = fs::path(o.path).parent_path();
    std::error_code ec;
    if (!folder.empty() && !fs::is_directory(folder, ec) && !fs::create_directories(folder, ec) && ec)
      throw Error(ErrorCode::kIo, o.key + " (" + output_type_name(o.type) + " '" + o.path +
                                      "'): cannot create the folder '" + folder.string() + "': " + ec.message());
  }
}

void Runner::attach_source_probes(std::size_t source) {
  FrameCounters& counters = counters_[source];
  const SourceConfig& s = config_.sources[source];
  GstElement* seg = pipeline_->element(source_element(config_, source, kSegName));
  if (!seg) throw Error(ErrorCode::kInternal, "the pipeline has no deeplabseg element for " + s.key);
  add_probe(seg, "sink", seg_sink_probe, &counters);
  add_probe(seg, "src", seg_src_probe, &counters);
  if (GstElement* queue = pipeline_->element(source_element(config_, source, kSourceQueueName)))
    add_probe(queue, "sink", count_buffer, &counters.source_queue_in);
  // The gate sits on the pad that feeds deeplabseg: after the live source's leaky queue, if any.
  counters.gate.max = static_cast<std::uint64_t>(std::max<std::int64_t>(s.max_frames, 0));
  GstElement* feeder = pipeline_->element(source_element(config_, source, s.live() ? kSourceQueueName : kSourceConvertName));
  if (!feeder) throw Error(ErrorCode::kInternal, "the pipeline has no element before deeplabseg for " + s.key);
  add_probe(feeder, "src", gate_probe, &counters.gate,
            static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM));
}

void Runner::attach_probes() {
  for (std::size_t i = 0; i < config_.sources.size(); ++i) attach_source_probes(i);
  for (std::size_t k = 0; k < config_.outputs.size(); ++k) {
    const std::string name = output_element(k, counted_role(config_.outputs[k].type));
    GstElement* counted = pipeline_->element(name);
    if (!counted) throw Error(ErrorCode::kInternal, "the pipeline has no element " + name);
    add_probe(counted, counted_pad(config_.outputs[k].type), count_buffer, &output_frames_[k]);
  }
}

void Runner::attach_appsinks() {
  if (!callback_) return;  // without a callback, appsinks just keep the newest frames (drop: true)
  for (std::size_t k = 0; k < config_.outputs.size(); ++k) {
    if (config_.outputs[k].type != OutputType::kAppsink) continue;
    appsinks_.push_back(std::make_unique<AppsinkOutput>(config_.outputs[k].name, callback_));
    appsinks_.back()->attach(pipeline_->element(output_element(k, "sink")));
  }
}

void Runner::watch_source_pads() {
  for (std::size_t i = 0; i < config_.sources.size(); ++i) {
    const SourceType type = config_.sources[i].type;
    if (type != SourceType::kFile && type != SourceType::kUri) continue;
    GstElement* decoder = pipeline_->element(source_element(config_, i, type == SourceType::kFile ? kDecodeName : kSourceName));
    if (!decoder) continue;
    g_signal_connect(decoder, "pad-added", G_CALLBACK(on_source_pad), &source_pads_[i]);
    g_signal_connect(decoder, "no-more-pads", G_CALLBACK(on_source_pads_complete), &source_pads_[i]);
  }
}

// "source file 'a.m4a': no video stream in it (it has audio/x-raw)" once the decoder has exposed all
// its streams and none is video; else "".
std::string Runner::no_video_stream() const {
  for (std::size_t i = 0; i < config_.sources.size(); ++i) {
    const SourcePads& pads = source_pads_[i];
    std::lock_guard<std::mutex> lock(pads.mutex);
    if (!pads.complete || pads.video > 0) continue;
    return "no video stream in " + source_description(i) + (pads.other.empty() ? "" : " (it has " + pads.other + " only)");
  }
  return "";
}

// "outputs.1 (file 'o.mp4')", "segmentation (model 'x')", "source file 'a.mp4'": the config key of
// the top-level element that `object` is (or is inside of).
std::string Runner::describe(GstObject* object) const {
  GstObject* top = object ? GST_OBJECT(gst_object_ref(object)) : nullptr;
  while (top) {
    GstObject* parent = gst_object_get_parent(top);
    if (!parent || parent == GST_OBJECT(pipeline_->get())) {
      if (parent) gst_object_unref(parent);
      break;
    }
    gst_object_unref(top);
    top = parent;
  }
  const std::string name = top ? GST_OBJECT_NAME(top) : "";
  if (top) gst_object_unref(top);
  if (name.rfind("out", 0) == 0) {
    const std::size_t k = std::strtoul(name.c_str() + 3, nullptr, 10);
    if (k < config_.outputs.size()) {
      const OutputConfig& o = config_.outputs[k];
      return o.key + " (" + output_type_name(o.type) + " '" + o.target() + "')";
    }
  }
  for (std::size_t i = 0; i < config_.sources.size(); ++i) {
    if (name == source_element(config_, i, kSegName))
      return "segmentation (model '" + config_.model() + "'" + (config_.source_list ? ", " + config_.sources[i].key : "") + ")";
    for (const char* part : {kSourceName, kDecodeName, kSourceDecoderName, kSourceConvertName, kSourceQueueName})
      if (name == source_element(config_, i, part)) return source_description(i);
  }
  return "element '" + name + "'";
}

Runner::Next Runner::handle(GstMessage* message) {
  switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_ERROR: {
      GError* error = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(message, &error, &debug);
      error_ = describe(GST_MESSAGE_SRC(message)) + ": " + error->message;
      // The debug text's last line often says what the message does not ('No such file "x.mp4"');
      // when the message already ends with the same cause, it is left out.
      const std::string detail = last_line(debug);
      const auto colon = detail.rfind(": ");
      const std::string cause = colon == std::string::npos ? detail : detail.substr(colon + 2);
      if (!cause.empty() && error_.find(cause) == std::string::npos && detail.find("): ") == std::string::npos)
        error_ += " (" + detail + ")";
      error_code_ = code_of(error);
      // A stream error ("not-linked": nothing takes the audio) from an input without video; not a
      // missing decoder (a CORE error), whose own message is the better one.
      if (const std::string no_video = error->domain == GST_STREAM_ERROR ? no_video_stream() : ""; !no_video.empty()) {
        error_ = no_video;  // what the "not-linked" stream error of its other streams means
        error_code_ = ErrorCode::kUnsupported;
      }
      g_error_free(error);
      g_free(debug);
      return Next::kDone;
    }
    case GST_MESSAGE_EOS: return Next::kDone;
    case GST_MESSAGE_WARNING: {  // printed with --quiet too: it is not progress
      GError* error = nullptr;
      gst_message_parse_warning(message, &error, nullptr);
      // gst_parse_launch's "Delayed linking failed." for a source stream that is not video: the
      // "no video stream" error says what it means, and with a video stream it is no news.
      if (std::strcmp(error->message, "Delayed linking failed.") == 0) {
        g_error_free(error);
        break;
      }
      if (progress_line_open_) std::fputc('\n', stderr), progress_line_open_ = false;
      std::fprintf(stderr, "warning: %s: %s\n", describe(GST_MESSAGE_SRC(message)).c_str(), error->message);
      g_error_free(error);
      break;
    }
    case GST_MESSAGE_QOS: {
      GstFormat format;
      guint64 processed = 0, dropped = 0;
      gst_message_parse_qos_stats(message, &format, &processed, &dropped);
      if (format != GST_FORMAT_BUFFERS && format != GST_FORMAT_DEFAULT) break;
      auto it = std::find_if(qos_dropped_.begin(), qos_dropped_.end(),
                             [&](const auto& q) { return q.first == GST_MESSAGE_SRC(message); });
      if (it == qos_dropped_.end()) qos_dropped_.emplace_back(GST_OBJECT(gst_object_ref(GST_MESSAGE_SRC(message))), dropped);
      else it->second = std::max<std::uint64_t>(it->second, dropped);
      break;
    }
    case GST_MESSAGE_LATENCY: gst_bin_recalculate_latency(GST_BIN(pipeline_->get())); break;
    case GST_MESSAGE_CLOCK_LOST:  // a live source's clock went away: pick a new one
      gst_element_set_state(pipeline_->get(), GST_STATE_PAUSED);
      gst_element_set_state(pipeline_->get(), GST_STATE_PLAYING);
      break;
    case GST_MESSAGE_BUFFERING: {  // network files (http): wait for the buffer to fill
      if (live_) break;
      gint percent = 100;
      gst_message_parse_buffering(message, &percent);
      gst_element_set_state(pipeline_->get(), percent < 100 ? GST_STATE_PAUSED : GST_STATE_PLAYING);
      break;
    }
    default: break;
  }
  return Next::kContinue;
}

// First stop(): the gate before deeplabseg closes (frames waiting before the model are dropped, the
// EOS follows the frame being segmented), and the source gets an EOS too, for a source that delivers
// nothing more; the EOS finalises the files. Before any frame reached deeplabseg there is nothing to
// finalise: the run ends at once, without an EOS into a pipeline still starting up (decodebin without
// its pads would fail on it). A second stop() ends at once.
void Runner::handle_stop(gint64 now_us) {
  const int stops = stop_requests_.load();
  if (stops == stops_seen_) return;
  stops_seen_ = stops;
  if (eos_sent_) return;
  eos_sent_ = true;
  bool any_frame = false;
  for (std::size_t i = 0; i < config_.sources.size(); ++i) {
    std::lock_guard<std::mutex> lock(counters_[i].gate.mutex);
    counters_[i].gate.closed = true;
    any_frame = any_frame || counters_[i].gate.passed > 0;
  }
  if (!any_frame) {
    stopped_at_start_ = true;
    return;
  }
  eos_deadline_us_ = now_us + static_cast<gint64>(options_.eos_timeout_s * 1e6);
  gst_element_send_event(pipeline_->get(), gst_event_new_eos());
}

// No frame finished for the EOS timeout after a stop: the model is still on one frame (a CRF of
// hundreds of iterations), or stuck. The outputs are finalised without it: an EOS into each output's
// queue, behind the model, from a thread of GStreamer's pool (the queue's stream lock may be held).
void Runner::bypass_model() {
  bypassed_ = true;
  struct Branches {
    std::vector<GstPad*> pads;
  };
  auto* branches = new Branches;
  for (std::size_t k = 0; k < config_.outputs.size(); ++k)
    if (GstElement* queue = pipeline_->element(output_element(k, "q")))
      if (GstPad* pad = gst_element_get_static_pad(queue, "sink")) branches->pads.push_back(pad);
  gst_element_call_async(
      pipeline_->get(),
      [](GstElement*, gpointer data) {
        for (GstPad* pad : static_cast<Branches*>(data)->pads) gst_pad_send_event(pad, gst_event_new_eos());
      },
      branches,
      [](gpointer data) {
        auto* b = static_cast<Branches*>(data);
        for (GstPad* pad : b->pads) gst_object_unref(pad);
        delete b;
      });
}

// The EOS deadline moves while frames are still being finished: a slow model is not a hang.
void Runner::extend_eos_deadline(gint64 now_us) {
  std::uint64_t mark = frames_segmented();
  for (std::size_t k = 0; k < config_.outputs.size(); ++k) mark += output_frames_[k].load();
  if (mark == progress_mark_) return;
  progress_mark_ = mark;
  eos_deadline_us_ = now_us + static_cast<gint64>(options_.eos_timeout_s * 1e6);
}

// How far the run is, 0..1, or -1 if unknown: frames of max-frames when every source has it, else
// the PTS of the source furthest behind against the duration (the run ends with the last source).
double Runner::progress_fraction(std::uint64_t frames) const {
  std::int64_t max_frames = 0, pts = G_MAXINT64;
  bool all_limited = true;
  for (std::size_t i = 0; i < config_.sources.size(); ++i) {
    max_frames += config_.sources[i].max_frames;
    all_limited = all_limited && config_.sources[i].max_frames > 0;
    pts = std::min<std::int64_t>(pts, counters_[i].last_pts.load());
  }
  if (all_limited) return static_cast<double>(frames) / static_cast<double>(max_frames);
  if (!live_ && duration_ns_ > 0 && pts >= 0) return static_cast<double>(pts) / static_cast<double>(duration_ns_);
  return -1;
}

void Runner::report_progress(gint64 now_us, bool final) {
  if (!options_.progress) return;
  const gint64 interval = progress_on_tty_ ? kTtyProgressUs : static_cast<gint64>(options_.progress_interval_s * 1e6);
  if (!final && now_us - last_progress_us_ < interval) return;
  last_progress_us_ = now_us;
  const double elapsed = static_cast<double>(now_us - start_us_) / 1e6;
  const auto frames = frames_segmented();
  const double fps = elapsed > 0 ? static_cast<double>(frames) / elapsed : 0;
  if (duration_ns_ < 0 && !live_) gst_element_query_duration(pipeline_->get(), GST_FORMAT_TIME, &duration_ns_);
  const double fraction = std::min(progress_fraction(frames), 1.0);
  char line[160];
  if (fraction >= 0) {
    const std::string eta = fraction > 0 ? clock_text(elapsed * (1 - fraction) / fraction) : "?";
    std::snprintf(line, sizeof line, "[%3d%%] %llu frames, %.1f fps, ETA %s", static_cast<int>(fraction * 100),
                  static_cast<unsigned long long>(frames), fps, eta.c_str());
  } else {
    std::snprintf(line, sizeof line, "%llu frames, %.1f fps, %s%s", static_cast<unsigned long long>(frames), fps,
                  clock_text(elapsed).c_str(), live_ ? " (live: Ctrl-C to stop)" : "");
  }
  if (progress_on_tty_) {
    std::fprintf(stderr, "\r%s\033[K", line);
    progress_line_open_ = true;
    if (final) std::fputc('\n', stderr), progress_line_open_ = false;
  } else if (!final) {
    std::fprintf(stderr, "progress: %s\n", line);
  }
  std::fflush(stderr);
}

RunStats Runner::collect(gint64 end_us) const {
  RunStats stats;
  LatencyHistogram latency;
  for (std::size_t i = 0; i < config_.sources.size(); ++i) {
    const FrameCounters& c = counters_[i];
    stats.sources.push_back({config_.sources[i].key, source_description(i), c.seg_out.load()});
    stats.frames += c.seg_out.load();
    latency.merge(c.latency);
    const auto queue_in = c.source_queue_in.load(), seg_in = c.seg_in.load();
    if (queue_in > seg_in) stats.dropped += queue_in - seg_in;  // the live source's leaky queue
  }
  stats.seconds = static_cast<double>(end_us - start_us_) / 1e6;
  stats.fps = stats.seconds > 0 ? static_cast<double>(stats.frames) / stats.seconds : 0;
  stats.latency_mean_ms = latency.mean_ms();
  stats.latency_p95_ms = latency.percentile_ms(95);
  stats.latency_max_ms = latency.max_ms();
  for (const auto& q : qos_dropped_) stats.dropped += q.second;
  stats.stopped = eos_sent_;
  for (std::size_t k = 0; k < config_.outputs.size(); ++k) {
    const OutputConfig& o = config_.outputs[k];
    stats.outputs.push_back({o.name, output_type_name(o.type), o.target(), output_frames_[k].load(), false, o.key});
  }
  return stats;
}

// A file output that got no frame holds nothing playable (an MP4 header at most): its file is removed,
// unless it is not this run's (an old file that the sink never opened).
void Runner::remove_empty_outputs(RunStats& stats, std::string& note) const {
  for (std::size_t k = 0; k < config_.outputs.size(); ++k) {
    const OutputConfig& o = config_.outputs[k];
    if (o.type != OutputType::kFile || stats.outputs[k].frames > 0) continue;
    std::error_code ec;
    if (!fs::is_regular_file(o.path, ec)) continue;
    const FileStamp now = file_stamp(o.path);
    if (output_stamps_[k].exists && output_stamps_[k].time == now.time && output_stamps_[k].size == now.size) continue;
    if (!fs::remove(o.path, ec)) continue;
    stats.outputs[k].removed = true;
    note += (note.empty() ? "" : ", ") + std::string("'") + o.path + "'";
  }
  if (!note.empty()) note = "nothing was written: removed the empty " + note;
}

// The duration a file or uri source's container declares, and the frame rate, while the pipeline can
// still answer; for a run that went to the source's end (not live, not stopped, not max-frames).
void Runner::query_input_duration() {
  if (live_ || eos_sent_ || !error_.empty()) return;
  // Checked for a lone source only: with several, which one a cut-short duration belongs to is unclear.
  if (config_.sources.size() != 1) return;
  const SourceType type = config_.sources[0].type;
  if (type != SourceType::kFile && type != SourceType::kUri) return;
  {
    std::lock_guard<std::mutex> lock(counters_[0].gate.mutex);
    if (counters_[0].gate.limited) return;
  }
  if (!gst_element_query_duration(pipeline_->get(), GST_FORMAT_TIME, &input_duration_ns_)) input_duration_ns_ = -1;
  GstPad* pad = gst_element_get_static_pad(pipeline_->element(source_element(config_, 0, kSegName)), "sink");
  if (GstCaps* caps = pad ? gst_pad_get_current_caps(pad) : nullptr) {
    gint num = 0, den = 1;
    if (gst_structure_get_fraction(gst_caps_get_structure(caps, 0), "framerate", &num, &den) && num > 0 && den > 0)
      input_fps_ = static_cast<double>(num) / den;
    gst_caps_unref(caps);
  }
  if (pad) gst_object_unref(pad);
}

// Did the video end clearly before the declared duration (a file cut short: the demuxer stops where
// the data stops, without an error)? Short by more than a second and 2 % counts; an audio track a
// little longer than the video does not.
void Runner::check_input_end(RunStats& stats) const {
  if (input_duration_ns_ <= 0) return;
  const std::int64_t end = std::max<std::int64_t>(counters_[0].last_end.load(), 0);
  if (input_duration_ns_ - end <= std::max<std::int64_t>(GST_SECOND, input_duration_ns_ / 50)) return;
  stats.input_ended_early = true;
  stats.input_end_s = static_cast<double>(end) / GST_SECOND;
  stats.input_duration_s = static_cast<double>(input_duration_ns_) / GST_SECOND;
  stats.input_frames_expected = static_cast<std::uint64_t>(stats.input_duration_s * input_fps_ + 0.5);
}

RunStats Runner::run() {
  if (stop_requests_.load() > 0) {  // stop() before run(): nothing is started, no output file touched
    stops_seen_ = stop_requests_.load();
    eos_sent_ = stopped_at_start_ = true;
    start_us_ = g_get_monotonic_time();
    return collect(start_us_);
  }
  check_inputs();
  prepare_outputs();
  for (const OutputConfig& o : config_.outputs)
    output_stamps_.push_back(o.type == OutputType::kFile ? file_stamp(o.path) : FileStamp{});
  pipeline_ = std::make_unique<GstPipelineHandle>(args_);
  attach_probes();
  attach_appsinks();
  watch_source_pads();
  progress_on_tty_ = options_.progress && isatty(STDERR_FILENO);
  GstBus* bus = gst_element_get_bus(pipeline_->get());
  start_us_ = last_progress_us_ = g_get_monotonic_time();
  const GstStateChangeReturn started = gst_element_set_state(pipeline_->get(), GST_STATE_PLAYING);
  live_ = started == GST_STATE_CHANGE_NO_PREROLL || config_.live();
  bool timed_out = false;
  if (started == GST_STATE_CHANGE_FAILURE) error_ = "the pipeline did not start";  // the bus says why, below
  while (true) {
    const gint64 before = g_get_monotonic_time();
    handle_stop(before);  // also a stop() that came before run()
    if (stopped_at_start_) break;
    GstMessage* message = gst_bus_timed_pop(bus, (started == GST_STATE_CHANGE_FAILURE ? 1000 : 100) * GST_MSECOND);
    const gint64 now = g_get_monotonic_time();
    if (message) {
      const Next next = handle(message);
      gst_message_unref(message);
      if (next == Next::kDone) break;
    } else if (started == GST_STATE_CHANGE_FAILURE) {
      break;
    }
    handle_stop(now);
    if (stopped_at_start_) break;
    if (eos_sent_) extend_eos_deadline(now);
    if (eos_sent_ && stops_seen_ == 1 && now > eos_deadline_us_ && !bypassed_) {
      bypass_model();
      eos_deadline_us_ = now + static_cast<gint64>(options_.eos_timeout_s * 1e6);
    }
    if (eos_sent_ && (stops_seen_ > 1 || now > eos_deadline_us_)) {
      timed_out = true;
      break;
    }
    report_progress(now, false);
  }
  const gint64 end = g_get_monotonic_time();
  report_progress(end, true);
  gst_object_unref(bus);
  query_input_duration();
  pipeline_.reset();  // to NULL: every streaming thread has stopped, the counters are final
  RunStats stats = collect(end);
  if (error_.empty() && !timed_out && !stopped_at_start_)  // the files are finalised
    for (std::size_t k = 0; k < config_.outputs.size(); ++k) {
      const OutputConfig& o = config_.outputs[k];
      if (o.type != OutputType::kFile || stats.outputs[k].frames == 0) continue;
      const std::int64_t written = count_written_frames(o.path, o.container);
      if (written >= 0) stats.outputs[k].frames = static_cast<std::uint64_t>(written);
    }
  check_input_end(stats);
  std::string removed;
  remove_empty_outputs(stats, removed);
  const std::string also = removed.empty() ? "" : "; " + removed;
  if (!error_.empty()) throw Error(error_code_, error_ + also);
  if (timed_out)
    throw Error(ErrorCode::kIo, (stops_seen_ > 1 ? "stopped again before the end of the stream: outputs may be incomplete"
                                                 : "the pipeline did not finish within " + seconds_text(2 * options_.eos_timeout_s) +
                                                       " of the last frame after the stop request: outputs may be incomplete") +
                                    also);
  return stats;
}

}  // namespace deeplab::pipeline
