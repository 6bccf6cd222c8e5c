// A pipeline configuration (docs/pipelines.md): YAML -> typed, validated config. Every check that can
// be made without running (keys, types, ranges, enums, required keys, element properties against the
// installed elements) is made here and reported as a ConfigError with the key's FILE:LINE:COLUMN.
// Whether input files and cameras exist is a runtime matter (runner.cpp).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "element_props.h"

namespace deeplab::pipeline {

enum class SourceType { kCamera, kFile, kUri, kTest };
enum class OutputType { kDisplay, kFile, kMasks, kAppsink, kShm, kUdp };
// What an output shows: the frame with the class colours blended in, the colour mask, the class ids
// (GRAY8), or the frame unchanged (the class map rides along as meta).
enum class Show { kOverlay, kMask, kIds, kFrame };

const char* source_type_name(SourceType type);
const char* output_type_name(OutputType type);
const char* show_name(Show show);

struct SourceConfig {
  SourceType type = SourceType::kFile;
  std::string path;                   // file
  std::string uri;                    // uri
  std::string device = "/dev/video0";  // camera
  std::string pattern = "smpte";      // test
  std::int64_t num_buffers = -1;      // test: -1 = endless
  bool is_live = false;               // test
  int width = 0;                      // camera, test: 0 = what the source picks
  int height = 0;
  std::string framerate;  // "N/D", empty = what the source picks
  std::string format;     // GStreamer format name (camera also MJPG); empty = any
  std::int64_t max_frames = 0;  // > 0: end (EOS) after this many frames
  std::string key = "source";   // its config key, for messages: source, or sources.N in a list
  bool live() const;
};

struct OutputConfig {
  OutputType type = OutputType::kFile;
  std::string name;
  Show show = Show::kOverlay;
  std::vector<PropertySetting> overlay;  // deeplaboverlay properties (show: overlay)
  std::vector<PropertySetting> encoder;  // x264enc properties (file, udp)
  std::string resolution = "frame";      // deeplabmask resolution (show: mask, ids)
  bool sync = false;
  std::string sink = "autovideosink";  // display
  std::string path;                    // file, masks (pattern)
  std::string container;               // file: mp4 or mkv
  std::string format;                  // appsink: convert frames to this format; empty = as they come
  std::int64_t max_buffers = 2;        // appsink
  bool drop = true;                    // appsink
  std::string socket_path;             // shm
  std::uint64_t shm_size = 64ull << 20;  // shm
  std::string host = "127.0.0.1";      // udp
  int port = 5000;                     // udp
  std::size_t source = 0;              // the index of the source whose frames it takes
  std::string key;                     // its config key: outputs.N, or sources.S.outputs.N
  std::string target() const;          // what the output writes to, for messages
};

struct PipelineConfig {
  std::string origin;  // the file (or "<string>") it came from
  // `source:` is one item; a `sources:` list is one item each, all segmented by one shared engine
  // (their deeplabseg elements get one model-instance-id, see launch.h).
  std::vector<SourceConfig> sources;
  bool source_list = false;  // written as `sources:`: element names carry the source's index
  std::vector<PropertySetting> segmentation;  // deeplabseg properties
  std::vector<OutputConfig> outputs;          // every source's, in order (OutputConfig::source)
  bool live() const;          // any source is live
  std::string model() const;  // segmentation.model or deeplabseg's default
};

// YAML text -> tree with the overrides applied -> validated config. Throws ConfigError; a missing
// GStreamer element throws deeplab::Error (kNotFound).
PipelineConfig load_config(const std::string& yaml, const std::string& origin, const std::vector<std::string>& overrides);
PipelineConfig load_config_file(const std::string& path, const std::vector<std::string>& overrides);

}  // namespace deeplab::pipeline
