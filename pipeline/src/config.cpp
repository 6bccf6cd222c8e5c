#include "config.h"

#include <gst/gst.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "deeplab/pipeline.h"
#include "overrides.h"

namespace deeplab::pipeline {
namespace {

const std::vector<std::string> kSourceTypes = {"camera", "file", "uri", "test"};
const std::vector<std::string> kOutputTypes = {"display", "file", "masks", "appsink", "shm", "udp"};
const std::vector<std::string> kShows = {"overlay", "mask", "ids", "frame"};

template <typename T>
T enum_at(const std::vector<std::string>& names, const std::string& name) {
  return static_cast<T>(std::find(names.begin(), names.end(), name) - names.begin());
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A video format name GStreamer knows ("I420", "RGB"...); cameras also take MJPG.
std::string read_format(const Context& ctx, const YAML::Node& node, const std::string& path, bool allow_mjpg) {
  const std::string format = read_string(ctx, node, path);
  if (allow_mjpg && format == "MJPG") return format;
  if (gst_video_format_from_string(format.c_str()) != GST_VIDEO_FORMAT_UNKNOWN) return format;
  std::vector<std::string> known;
  guint n = 0;
  const GstVideoFormat* formats = gst_video_formats_raw(&n);
  for (guint k = 0; k < n; ++k) known.emplace_back(gst_video_format_to_string(formats[k]));
  std::string message = "'" + format + "' is not a GStreamer video format";
  if (auto s = closest_match(format, known); !s.empty()) message += " (did you mean '" + s + "'?)";
  ctx.fail(node, path, message + (allow_mjpg ? "; cameras also take MJPG" : ""));
}

std::string read_path(const Context& ctx, const YAML::Node& map, const std::string& parent, const char* key) {
  const std::string path = join_path(parent, key);
  const std::string value = read_string(ctx, map[key], path);
  if (value.empty()) ctx.fail(map[key], path, "must not be empty");
  check_launch_safe(ctx, map[key], path, value);
  return value;
}

void require_key(const Context& ctx, const YAML::Node& map, const std::string& path, const char* key,
                 const std::string& what) {
  if (!map[key] || map[key].IsNull()) ctx.fail(map, path, "missing required key '" + std::string(key) + "' for " + what);
}

// Video size and rate keys shared by the camera and test sources.
void read_video_caps(const Context& ctx, const YAML::Node& map, const std::string& path, SourceConfig& s) {
  if (map["width"]) s.width = static_cast<int>(read_int(ctx, map["width"], path + ".width", 1, 16384));
  if (map["height"]) s.height = static_cast<int>(read_int(ctx, map["height"], path + ".height", 1, 16384));
  if (map["framerate"]) s.framerate = read_fraction(ctx, map["framerate"], path + ".framerate");
  if (map["format"]) s.format = read_format(ctx, map["format"], path + ".format", s.type == SourceType::kCamera);
}

std::string read_test_pattern(const Context& ctx, const YAML::Node& node, const std::string& path) {
  for (GParamSpec* p : settable_properties("videotestsrc"))
    if (std::string(p->name) == "pattern") return read_property_value(ctx, node, path, p);
  return read_string(ctx, node, path);
}

// One source at `key` (source, or sources.N); an item of a `sources:` list also has its `outputs`.
SourceConfig read_source(const Context& ctx, const YAML::Node& node, const std::string& key, bool in_list) {
  require_map(ctx, node, key);
  require_key(ctx, node, key, "type", "the source (one of camera, file, uri, test)");
  SourceConfig s;
  s.key = key;
  s.type = enum_at<SourceType>(kSourceTypes, read_choice(ctx, node["type"], key + ".type", kSourceTypes));
  const std::vector<std::string> common = in_list ? std::vector<std::string>{"type", "max-frames", "outputs"}
                                                  : std::vector<std::string>{"type", "max-frames"};
  const std::vector<std::string> caps = {"width", "height", "framerate", "format"};
  const std::string what = std::string("a ") + source_type_name(s.type) + " source";
  switch (s.type) {
    case SourceType::kFile:
      check_keys(ctx, node, key, concat(common, {"path"}), what);
      require_key(ctx, node, key, "path", what);
      s.path = read_path(ctx, node, key, "path");
      break;
    case SourceType::kUri:
      check_keys(ctx, node, key, concat(common, {"uri"}), what);
      require_key(ctx, node, key, "uri", what);
      s.uri = read_path(ctx, node, key, "uri");
      if (!gst_uri_is_valid(s.uri.c_str())) ctx.fail(node["uri"], key + ".uri", "'" + s.uri + "' is not a URI (scheme://...)");
      break;
    case SourceType::kCamera:
      check_keys(ctx, node, key, concat(concat(common, {"device"}), caps), what);
      if (node["device"]) s.device = read_path(ctx, node, key, "device");
      read_video_caps(ctx, node, key, s);
      break;
    case SourceType::kTest:
      check_keys(ctx, node, key, concat(concat(common, {"pattern", "num-buffers", "is-live"}), caps), what);
      if (node["pattern"]) s.pattern = read_test_pattern(ctx, node["pattern"], key + ".pattern");
      if (node["num-buffers"]) s.num_buffers = read_int(ctx, node["num-buffers"], key + ".num-buffers", -1, G_MAXINT);
      if (node["is-live"]) s.is_live = read_bool(ctx, node["is-live"], key + ".is-live");
      read_video_caps(ctx, node, key, s);
      break;
  }
  if (node["max-frames"]) s.max_frames = read_int(ctx, node["max-frames"], key + ".max-frames", 0, G_MAXINT);
  return s;
}

struct OutputRules {
  std::vector<std::string> keys;   // besides type, name, show
  std::vector<std::string> shows;  // the first is the default
  bool sync;
  std::string what;
};

OutputRules rules_for(OutputType type) {
  switch (type) {
    case OutputType::kDisplay: return {{"overlay", "resolution", "sink", "sync"}, {"overlay", "mask"}, true, "a display output"};
    case OutputType::kFile:
      return {{"path", "container", "overlay", "resolution", "encoder", "sync"}, {"overlay", "mask"}, false, "a file output"};
    case OutputType::kMasks: return {{"path", "resolution"}, {"ids", "mask"}, false, "a masks output"};
    case OutputType::kAppsink:
      return {{"overlay", "resolution", "format", "max-buffers", "drop", "sync"}, {"frame", "overlay", "mask", "ids"}, false,
              "an appsink output"};
    case OutputType::kShm: return {{"socket-path", "shm-size", "resolution", "sync"}, {"ids", "mask"}, false, "a shm output"};
    case OutputType::kUdp:
      return {{"host", "port", "overlay", "resolution", "encoder", "sync"}, {"overlay", "mask"}, true, "a udp output"};
  }
  return {};
}

// multifilesink formats the frame number into the pattern with printf: exactly one integer
// conversion, every other '%' doubled.
void check_mask_pattern(const Context& ctx, const YAML::Node& node, const std::string& path, const std::string& pattern) {
  int conversions = 0;
  for (std::size_t k = 0; k < pattern.size(); ++k) {
    if (pattern[k] != '%') continue;
    if (k + 1 < pattern.size() && pattern[k + 1] == '%') {
      ++k;
      continue;
    }
    std::size_t j = k + 1;
    while (j < pattern.size() && (pattern[j] == '0' || (pattern[j] >= '1' && pattern[j] <= '9'))) ++j;
    if (j >= pattern.size() || (pattern[j] != 'd' && pattern[j] != 'u' && pattern[j] != 'i'))
      ctx.fail(node, path, "'" + pattern + "': only %d-style conversions (and %%) are allowed in a masks path");
    ++conversions;
    k = j;
  }
  if (conversions != 1)
    ctx.fail(node, path, "'" + pattern + "' needs exactly one %d for the frame number, e.g. masks/%05d.png");
}

std::string container_for(const Context& ctx, const YAML::Node& node, const std::string& path) {
  auto ends_with = [&](const char* suffix) {
    const std::string p = node.Scalar();
    const std::size_t n = std::char_traits<char>::length(suffix);
    return p.size() >= n && std::equal(p.end() - n, p.end(), suffix, [](char a, char b) { return std::tolower(a) == b; });
  };
  if (ends_with(".mp4") || ends_with(".m4v") || ends_with(".mov")) return "mp4";
  if (ends_with(".mkv")) return "mkv";
  ctx.fail(node, path, "cannot tell the container from '" + node.Scalar() + "' (.mp4 or .mkv); set 'container: mp4' or 'mkv'");
}

std::string read_sink(const Context& ctx, const YAML::Node& node, const std::string& path) {
  const std::string sink = read_string(ctx, node, path);
  if (element_exists(sink)) return sink;
  std::vector<std::string> sinks;
  GList* factories = gst_element_factory_list_get_elements(GST_ELEMENT_FACTORY_TYPE_SINK, GST_RANK_NONE);
  for (GList* f = factories; f; f = f->next) sinks.emplace_back(GST_OBJECT_NAME(f->data));
  gst_plugin_feature_list_free(factories);
  std::string message = "no GStreamer element '" + sink + "'";
  if (auto s = closest_match(sink, sinks); !s.empty()) message += " (did you mean '" + s + "'?)";
  ctx.fail(node, path, message);
}

void read_output_keys(const Context& ctx, const YAML::Node& node, const std::string& path, OutputConfig& o) {
  if (node["path"]) o.path = read_path(ctx, node, path, "path");
  if (o.type == OutputType::kFile)
    o.container = node["container"] ? read_choice(ctx, node["container"], path + ".container", {"mp4", "mkv"})
                                    : container_for(ctx, node["path"], path + ".path");
  if (o.type == OutputType::kMasks) check_mask_pattern(ctx, node["path"], path + ".path", o.path);
  if (node["sink"]) o.sink = read_sink(ctx, node["sink"], path + ".sink");
  if (node["sync"]) o.sync = read_bool(ctx, node["sync"], path + ".sync");
  if (node["format"]) o.format = read_format(ctx, node["format"], path + ".format", false);
  if (node["max-buffers"]) o.max_buffers = read_int(ctx, node["max-buffers"], path + ".max-buffers", 1, 1000);
  if (node["drop"]) o.drop = read_bool(ctx, node["drop"], path + ".drop");
  if (node["socket-path"]) o.socket_path = read_path(ctx, node, path, "socket-path");
  if (node["shm-size"]) o.shm_size = read_uint64(ctx, node["shm-size"], path + ".shm-size", 1 << 20, 1ull << 32);
  if (node["host"]) o.host = read_path(ctx, node, path, "host");
  if (node["port"]) o.port = static_cast<int>(read_int(ctx, node["port"], path + ".port", 1, 65535));
  if (node["encoder"]) o.encoder = read_element_properties(ctx, node["encoder"], path + ".encoder", "x264enc");
  if (node["resolution"]) {
    if (o.show != Show::kMask && o.show != Show::kIds)
      ctx.fail(node["resolution"], path + ".resolution", "applies to show: mask or ids only");
    o.resolution = read_choice(ctx, node["resolution"], path + ".resolution", {"frame", "model"});
  }
  if (node["overlay"]) {
    if (o.show != Show::kOverlay) ctx.fail(node["overlay"], path + ".overlay", "applies to show: overlay only");
    o.overlay = read_element_properties(ctx, node["overlay"], path + ".overlay", "deeplaboverlay");
  }
}

OutputConfig read_output(const Context& ctx, const YAML::Node& node, const std::string& path) {
  require_map(ctx, node, path);
  require_key(ctx, node, path, "type", "an output (one of " + list_words(kOutputTypes) + ")");
  OutputConfig o;
  o.type = enum_at<OutputType>(kOutputTypes, read_choice(ctx, node["type"], path + ".type", kOutputTypes));
  const OutputRules rules = rules_for(o.type);
  check_keys(ctx, node, path, concat({"type", "name", "show"}, rules.keys), rules.what);
  for (const char* key : {"path", "socket-path"})
    if (std::find(rules.keys.begin(), rules.keys.end(), key) != rules.keys.end())
      require_key(ctx, node, path, key, rules.what);
  o.show = enum_at<Show>(kShows, node["show"] ? read_choice(ctx, node["show"], path + ".show", rules.shows) : rules.shows[0]);
  o.sync = rules.sync;
  if (node["name"]) {
    o.name = read_string(ctx, node["name"], path + ".name");
    if (o.name.empty() || o.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
                              std::string::npos)
      ctx.fail(node["name"], path + ".name", "'" + o.name + "': use letters, digits, '-' and '_'");
  }
  read_output_keys(ctx, node, path, o);
  return o;
}

// The node at a dotted key of the tree ("sources.1.outputs.0"), for a message's location.
YAML::Node node_at(const YAML::Node& root, const std::string& key) {
  YAML::Node node = root;
  std::size_t start = 0;
  while (start <= key.size()) {
    const std::size_t dot = std::min(key.find('.', start), key.size());
    const std::string segment = key.substr(start, dot - start);
    const YAML::Node next = node.IsSequence() ? node[std::stoul(segment)] : node[segment];
    node.reset(next);
    start = dot + 1;
  }
  return node;
}

// Unnamed outputs are called after their type ("file"), with the index when a type repeats in their
// list ("file1"), and in a `sources:` list after their source too ("src1-file"). Names are unique
// across every source: they name the outputs in messages and the summary.
void name_outputs(const Context& ctx, const YAML::Node& root, const PipelineConfig& config, std::vector<OutputConfig>& outputs) {
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    OutputConfig& o = outputs[k];
    if (!o.name.empty()) continue;
    const auto same_type = std::count_if(outputs.begin(), outputs.end(), [&](const OutputConfig& other) {
      return other.type == o.type && other.source == o.source;
    });
    const std::string index = o.key.substr(o.key.rfind('.') + 1);
    o.name = (config.source_list ? "src" + std::to_string(o.source) + "-" : std::string()) + output_type_name(o.type) +
             (same_type > 1 ? index : "");
  }
  for (std::size_t k = 0; k < outputs.size(); ++k)
    for (std::size_t j = 0; j < k; ++j)
      if (outputs[j].name == outputs[k].name)
        ctx.fail(node_at(root, outputs[k].key), outputs[k].key,
                 "the name '" + outputs[k].name + "' is already taken by " + outputs[j].key + "; give it another 'name'");
}

// The `outputs` list of `parent` (the root, or an item of `sources`), for source `source`.
void read_outputs(const Context& ctx, const YAML::Node& parent, const std::string& prefix, std::size_t source,
                  std::vector<OutputConfig>& outputs) {
  const YAML::Node list = parent["outputs"];
  const std::string key = join_path(prefix, "outputs");
  if (!list) ctx.fail(parent, prefix, "missing required key 'outputs' (a list: display, file, masks, appsink, shm, udp)");
  if (!list.IsSequence()) ctx.fail(list, key, "expected a list of at least one output, got " + describe_node(list));
  if (list.size() == 0)
    ctx.fail(list, key, "the list is empty: at least one output is needed (each with a type: display, file, masks, "
                        "appsink, shm or udp)");
  for (std::size_t k = 0; k < list.size(); ++k) {
    outputs.push_back(read_output(ctx, list[k], key + "." + std::to_string(k)));
    outputs.back().source = source;
    outputs.back().key = key + "." + std::to_string(k);
  }
}

// `source:` + `outputs:`, or a `sources:` list whose items have their own `outputs:`; not both.
void read_sources(const Context& ctx, const YAML::Node& root, PipelineConfig& config) {
  const YAML::Node list = root["sources"];
  if (!list) {
    if (!root["source"])
      ctx.fail(root, "", "missing required key 'source' (where frames come from: camera, file, uri or test), or 'sources' "
                         "(a list of them, each with its outputs)");
    config.sources.push_back(read_source(ctx, root["source"], "source", false));
    read_outputs(ctx, root, "", 0, config.outputs);
    return;
  }
  for (const char* single : {"source", "outputs"})
    if (root[single])
      ctx.fail(root[single], single, std::string("'") + single + "' and 'sources' do not go together: with 'sources', each "
                                     "item is a source with its own 'outputs'");
  if (!list.IsSequence())
    ctx.fail(list, "sources", "expected a list of at least one source (each with its outputs), got " + describe_node(list));
  if (list.size() == 0) ctx.fail(list, "sources", "the list is empty: at least one source (each with its outputs) is needed");
  config.source_list = true;
  for (std::size_t k = 0; k < list.size(); ++k) {
    const std::string key = "sources." + std::to_string(k);
    config.sources.push_back(read_source(ctx, list[k], key, true));
    read_outputs(ctx, list[k], key, k, config.outputs);
  }
}

// The sources of a `sources:` list share one engine: one model-instance-id (the configuration's file
// name, unless set) and, unless set, a batch as large as the number of sources (at most 64).
void share_engine(const PipelineConfig& config, std::vector<PropertySetting>& segmentation) {
  const auto has = [&](const char* name) {
    return std::any_of(segmentation.begin(), segmentation.end(), [&](const PropertySetting& p) { return p.name == name; });
  };
  if (!has("model-instance-id")) {
    std::string id = std::filesystem::path(config.origin).stem().string();
    const auto odd = [](char c) { return !std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_'; };
    id.erase(std::remove_if(id.begin(), id.end(), odd), id.end());  // a plain word in the launch line
    segmentation.push_back({"model-instance-id", id.empty() ? std::string("deeplab-run") : id});
  }
  if (!has("batch-size")) segmentation.push_back({"batch-size", std::to_string(std::min<std::size_t>(config.sources.size(), 64))});
}

// deeplabseg's input-size is a string property: its form (WIDTHxHEIGHT, 1..16384 each, or empty) is
// checked here, as a configuration error, rather than when the element loads the model.
void check_input_size(const Context& ctx, const YAML::Node& segmentation, const std::vector<PropertySetting>& settings) {
  for (const auto& s : settings) {
    if (s.name != "input-size" || s.value.empty()) continue;
    unsigned w = 0, h = 0;
    char tail = 0;
    if (std::sscanf(s.value.c_str(), "%ux%u%c", &w, &h, &tail) == 2 && w >= 1 && h >= 1 && w <= 16384 && h <= 16384) continue;
    ctx.fail(segmentation["input-size"], "segmentation.input-size",
             "'" + s.value + "' is not WIDTHxHEIGHT with each within 1..16384 (e.g. 513x513), or empty for the model's own size");
  }
}

PipelineConfig read_config(const Context& ctx, const YAML::Node& root) {
  if (!root.IsDefined() || root.IsNull()) ctx.fail(root, "", "the configuration is empty: it needs 'source' and 'outputs'");
  check_keys(ctx, root, "", {"description", "source", "sources", "segmentation", "outputs"}, "the configuration");
  if (root["description"]) read_string(ctx, root["description"], "description");
  PipelineConfig config;
  config.origin = ctx.origin();
  read_sources(ctx, root, config);
  config.segmentation = read_element_properties(ctx, root["segmentation"], "segmentation", "deeplabseg");
  check_input_size(ctx, root["segmentation"], config.segmentation);
  name_outputs(ctx, root, config, config.outputs);
  if (config.source_list) share_engine(config, config.segmentation);
  return config;
}

}  // namespace

const char* source_type_name(SourceType type) { return kSourceTypes[static_cast<int>(type)].c_str(); }
const char* output_type_name(OutputType type) { return kOutputTypes[static_cast<int>(type)].c_str(); }
const char* show_name(Show show) { return kShows[static_cast<int>(show)].c_str(); }

bool SourceConfig::live() const {
  if (type == SourceType::kCamera) return true;
  if (type == SourceType::kTest) return is_live;
  if (type == SourceType::kUri)
    for (const char* scheme : {"rtsp", "rtsps", "rtspt", "rtspu", "udp", "rtp", "srt", "v4l2"})
      if (uri.rfind(std::string(scheme) + "://", 0) == 0) return true;
  return false;
}

bool PipelineConfig::live() const {
  return std::any_of(sources.begin(), sources.end(), [](const SourceConfig& s) { return s.live(); });
}

std::string OutputConfig::target() const {
  switch (type) {
    case OutputType::kDisplay: return sink;
    case OutputType::kFile:
    case OutputType::kMasks: return path;
    case OutputType::kAppsink: return name;
    case OutputType::kShm: return socket_path;
    case OutputType::kUdp: return host + ":" + std::to_string(port);
  }
  return "";
}

std::string PipelineConfig::model() const {
  for (const auto& s : segmentation)
    if (s.name == "model") return s.value;
  for (GParamSpec* p : settable_properties("deeplabseg"))
    if (std::string(p->name) == "model") return g_value_get_string(g_param_spec_get_default_value(p));
  return "";
}

PipelineConfig load_config(const std::string& yaml, const std::string& origin, const std::vector<std::string>& overrides) {
  if (!gst_is_initialized()) gst_init(nullptr, nullptr);
  Context ctx(origin);
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::ParserException& e) {
    ctx.fail_at(e.mark, "", "YAML syntax error: " + e.msg);
  }
  check_no_duplicate_keys(ctx, root);
  for (const auto& text : overrides) apply_override(root, text, ctx);
  return read_config(ctx, root);
}

PipelineConfig load_config_file(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read the configuration file (" + std::strerror(errno) + ")");
  std::ostringstream text;
  text << in.rdbuf();
  return load_config(text.str(), path, overrides);
}

}  // namespace deeplab::pipeline
