#include "launch.h"

#include <algorithm>

namespace deeplab::pipeline {
namespace {

using Args = std::vector<std::string>;

void link(Args& args) { args.emplace_back("!"); }

void add_properties(Args& args, const std::vector<PropertySetting>& properties) {
  for (const auto& p : properties) args.push_back(p.name + "=" + p.value);
}

// `defaults` unless the configuration sets the same property.
std::vector<PropertySetting> with_defaults(std::vector<PropertySetting> defaults, const std::vector<PropertySetting>& set) {
  for (const auto& s : set) {
    auto it = std::find_if(defaults.begin(), defaults.end(), [&](const PropertySetting& d) { return d.name == s.name; });
    if (it != defaults.end()) it->value = s.value;
    else defaults.push_back(s);
  }
  return defaults;
}

std::string raw_caps(const SourceConfig& s) {
  const bool jpeg = s.format == "MJPG";
  std::string caps = jpeg ? "image/jpeg" : "video/x-raw";
  if (!s.format.empty() && !jpeg) caps += ",format=" + s.format;
  if (s.width > 0) caps += ",width=" + std::to_string(s.width);
  if (s.height > 0) caps += ",height=" + std::to_string(s.height);
  if (!s.framerate.empty()) caps += ",framerate=" + s.framerate;
  return caps;
}

void add_source(Args& args, const PipelineConfig& config, std::size_t index) {
  const SourceConfig& s = config.sources[index];
  const auto name = [&](const char* base) { return "name=" + source_element(config, index, base); };
  switch (s.type) {
    case SourceType::kFile:
      args.insert(args.end(), {"filesrc", name(kSourceName), "location=" + s.path, "!", "decodebin", name(kDecodeName)});
      break;
    case SourceType::kUri: args.insert(args.end(), {"uridecodebin", name(kSourceName), "uri=" + s.uri}); break;
    case SourceType::kCamera: args.insert(args.end(), {"v4l2src", name(kSourceName), "device=" + s.device}); break;
    case SourceType::kTest:
      args.insert(args.end(), {"videotestsrc", name(kSourceName), "pattern=" + s.pattern});
      if (s.num_buffers >= 0) args.push_back("num-buffers=" + std::to_string(s.num_buffers));
      if (s.is_live) args.emplace_back("is-live=true");
      break;
  }
  const std::string caps = raw_caps(s);
  if (caps != "video/x-raw") {
    link(args);
    args.push_back(caps);
  }
  if (s.format == "MJPG") args.insert(args.end(), {"!", "jpegdec", name(kSourceDecoderName)});
  args.insert(args.end(), {"!", "videoconvert", name(kSourceConvertName)});
  // A live source must not queue frames behind a slow model: keep the newest one.
  if (s.live())
    args.insert(args.end(), {"!", "queue", name(kSourceQueueName), "max-size-buffers=1", "max-size-bytes=0",
                             "max-size-time=0", "leaky=downstream"});
}

void add_show(Args& args, std::size_t k, const OutputConfig& o) {
  switch (o.show) {
    case Show::kOverlay:
      args.insert(args.end(), {"!", "deeplaboverlay", "name=" + output_element(k, "overlay")});
      add_properties(args, o.overlay);
      break;
    case Show::kMask:
    case Show::kIds:
      args.insert(args.end(), {"!", "deeplabmask", "name=" + output_element(k, "mask"),
                               std::string("mode=") + (o.show == Show::kIds ? "ids" : "color"), "resolution=" + o.resolution});
      break;
    case Show::kFrame: break;
  }
}

void add_h264(Args& args, std::size_t k, const OutputConfig& o, bool live) {
  std::vector<PropertySetting> defaults;
  if (live || o.type == OutputType::kUdp) defaults.push_back({"tune", "zerolatency"});
  if (o.type == OutputType::kUdp) defaults.push_back({"key-int-max", "30"});
  args.insert(args.end(), {"!", "videoconvert", "name=" + output_element(k, "conv"), "!", "video/x-raw,format=I420", "!",
                           "x264enc", "name=" + output_element(k, "enc")});
  add_properties(args, with_defaults(defaults, o.encoder));
}

std::string sync_arg(const OutputConfig& o) { return std::string("sync=") + (o.sync ? "true" : "false"); }

bool behind_encoder(const OutputConfig& o) { return o.type == OutputType::kFile || o.type == OutputType::kUdp; }

// Whether the sinks behind an encoder commit to PAUSED without a frame (async=false). x264enc holds
// ~40 frames (its lookahead) before its first output, so its sink prerolls that late; an output
// without an encoder (masks, appsink, display) prerolls on its first frame and then blocks until
// PLAYING, its queue (1 s) fills and the tee stops: a deadlock that stalled configs/file-masks.yaml
// after ~30 frames. Only when both kinds are present: with every sink async=false, gst-launch-1.0
// (decodebin, a short clip) was seen to hang at EOS now and then under load.
bool encoder_sinks_skip_preroll(const PipelineConfig& config) {
  const auto& outs = config.outputs;
  return std::any_of(outs.begin(), outs.end(), behind_encoder) && !std::all_of(outs.begin(), outs.end(), behind_encoder);
}

void add_sink(Args& args, std::size_t k, const OutputConfig& o, bool live, bool skip_preroll) {
  const std::string sink_name = "name=" + output_element(k, "sink");
  switch (o.type) {
    case OutputType::kDisplay:
      args.insert(args.end(), {"!", "videoconvert", "name=" + output_element(k, "conv"), "!", o.sink, sink_name, sync_arg(o)});
      break;
    case OutputType::kFile:
      add_h264(args, k, o, live);
      args.insert(args.end(), {"!", o.container == "mkv" ? "matroskamux" : "mp4mux", "name=" + output_element(k, "mux"), "!",
                               "filesink", sink_name, "location=" + o.path, sync_arg(o)});
      if (skip_preroll) args.push_back("async=false");
      break;
    case OutputType::kMasks:
      args.insert(args.end(), {"!", "pngenc", "name=" + output_element(k, "enc"), "!", "multifilesink", sink_name,
                               "location=" + o.path, sync_arg(o)});
      break;
    case OutputType::kAppsink:
      if (!o.format.empty())
        args.insert(args.end(), {"!", "videoconvert", "name=" + output_element(k, "conv"), "!", "video/x-raw,format=" + o.format});
      args.insert(args.end(), {"!", "appsink", sink_name, "max-buffers=" + std::to_string(o.max_buffers),
                               std::string("drop=") + (o.drop ? "true" : "false"), sync_arg(o),
                               "emit-signals=false", "wait-on-eos=false"});  // with nobody pulling (gst-launch), EOS must not wait
      break;
    case OutputType::kShm:
      args.insert(args.end(), {"!", "shmsink", sink_name, "socket-path=" + o.socket_path, "shm-size=" + std::to_string(o.shm_size),
                               "wait-for-connection=false", sync_arg(o)});
      break;
    case OutputType::kUdp:
      add_h264(args, k, o, live);
      args.insert(args.end(), {"!", "rtph264pay", "name=" + output_element(k, "pay"), "config-interval=1", "pt=96", "!",
                               "udpsink", sink_name, "host=" + o.host, "port=" + std::to_string(o.port), sync_arg(o)});
      if (skip_preroll) args.push_back("async=false");
      break;
  }
}

bool shell_safe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string("_./:,=+@%-").find(c) != std::string::npos;
}

}  // namespace

std::string output_element(std::size_t index, const char* role) {
  return "out" + std::to_string(index) + "_" + role;
}

const char* counted_role(OutputType type) {
  return type == OutputType::kFile || type == OutputType::kUdp ? "enc" : "sink";
}

const char* counted_pad(OutputType type) {
  return type == OutputType::kFile || type == OutputType::kUdp ? "src" : "sink";
}

std::string source_element(const PipelineConfig& config, std::size_t source, const char* base) {
  return config.source_list ? base + std::to_string(source) : std::string(base);
}

// One branch per source: source -> deeplabseg -> tee -> its outputs. Outputs are numbered across
// every source (outN_*), in the order of the configuration.
std::vector<std::string> launch_args(const PipelineConfig& config) {
  Args args;
  const bool skip_preroll = encoder_sinks_skip_preroll(config);
  for (std::size_t i = 0; i < config.sources.size(); ++i) {
    add_source(args, config, i);
    args.insert(args.end(), {"!", "deeplabseg", "name=" + source_element(config, i, kSegName)});
    add_properties(args, config.segmentation);
    const std::string tee = source_element(config, i, kTeeName);
    args.insert(args.end(), {"!", "tee", "name=" + tee});
    for (std::size_t k = 0; k < config.outputs.size(); ++k) {
      const OutputConfig& o = config.outputs[k];
      if (o.source != i) continue;
      args.insert(args.end(), {tee + ".", "!", "queue", "name=" + output_element(k, "q")});
      add_show(args, k, o);
      add_sink(args, k, o, config.sources[i].live(), skip_preroll);
    }
  }
  return args;
}

std::string shell_quote(const std::string& word) {
  if (word == "!" || (!word.empty() && std::all_of(word.begin(), word.end(), shell_safe))) return word;
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string launch_line(const std::vector<std::string>& args) {
  std::string line = "gst-launch-1.0 -e";
  for (const auto& a : args) line += " " + shell_quote(a);
  return line;
}

}  // namespace deeplab::pipeline
