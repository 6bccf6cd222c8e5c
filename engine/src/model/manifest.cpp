#include "deeplab/manifest.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <filesystem>

#include "crf/crf_params_yaml.h"
#include "deeplab/error.h"
#include "deeplab/log.h"
#include "tflite/tflite_import.h"
#include "yaml/yaml_keys.h"

#ifndef DEEPLAB_SOURCE_MODELS_DIR
#define DEEPLAB_SOURCE_MODELS_DIR ""
#endif

namespace fs = std::filesystem;

namespace deeplab {
namespace {

[[noreturn]] void bad_key(const std::string& path, const std::string& key, const std::string& why) {
  throw Error(ErrorCode::kInvalidArgument, path + ": manifest key '" + key + "': " + why);
}

// The keys a manifest may have (docs/models.md). `checkpoint:` is read by scripts/fetch-models.sh.
const std::vector<std::string> kTopKeys = {"name",   "description", "file",   "url",
                                           "sha256", "licence",     "source", "output",
                                           "input",  "classes",     "palette", "logits_upsampling",
                                           "checkpoint", "crf"};
const std::vector<std::string> kInputKeys = {"name", "width", "height", "layout", "color", "scale", "mean", "std"};
// What the pre-processing needs to feed the network as it was trained; guessing them gives a model
// garbage (ImageNet statistics for a [-1, 1] model, NCHW for NHWC) with no error.
const std::vector<std::string> kRequiredInputKeys = {"layout", "color", "scale", "mean", "std"};

void reject_unknown_keys(const YAML::Node& map, const std::vector<std::string>& known, const std::string& prefix,
                         const std::string& path) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : "<non-scalar key>";
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    const std::string suggestion = yaml::closest_match(key, known);
    throw Error(ErrorCode::kInvalidArgument,
                yaml::mark_text(path, it->first.Mark()) + ": unknown manifest key '" + prefix + key + "' " +
                    (suggestion.empty() ? "(known keys: " + yaml::list_words(known) + ")"
                                        : "(did you mean '" + prefix + suggestion + "'?)"));
  }
}

void reject_duplicate_keys(const YAML::Node& root, const std::string& path) {
  if (const auto duplicate = yaml::find_duplicate_key(root))
    throw Error(ErrorCode::kInvalidArgument, yaml::mark_text(path, duplicate->second) + ": manifest key '" +
                                                 duplicate->path + "' written twice (first at " +
                                                 yaml::mark_text(path, duplicate->first) + ")");
}

template <typename T>
T scalar(const YAML::Node& node, const std::string& key, const T& def, const std::string& path) {
  const YAML::Node v = node[key];
  if (!v) return def;
  try {
    return v.as<T>();
  } catch (const YAML::Exception& e) {
    bad_key(path, key, std::string("wrong type (") + e.what() + ")");
  }
}

std::array<float, 3> triple(const YAML::Node& node, const std::string& key, std::array<float, 3> def,
                            const std::string& path) {
  const YAML::Node v = node[key];
  if (!v) return def;
  if (!v.IsSequence() || v.size() != 3) bad_key(path, key, "expected a list of 3 numbers");
  try {
    return {v[0].as<float>(), v[1].as<float>(), v[2].as<float>()};
  } catch (const YAML::Exception&) {
    bad_key(path, key, "expected a list of 3 numbers");
  }
}

void parse_input(const YAML::Node& in, InputSpec& spec, const std::string& path) {
  if (!in)
    bad_key(path, "input", "the section is missing: say how the network's input is laid out and normalised "
                           "(layout, color, scale, mean and std; docs/models.md)");
  if (!in.IsMap()) bad_key(path, "input", "expected a mapping");
  reject_unknown_keys(in, kInputKeys, "input.", path);
  spec.name = scalar<std::string>(in, "name", "", path);
  spec.width = scalar<int>(in, "width", 0, path);
  spec.height = scalar<int>(in, "height", 0, path);
  if (spec.width < 0 || spec.height < 0 || spec.width > 16384 || spec.height > 16384)
    bad_key(path, "input.width/height", "out of range");
  const auto layout = scalar<std::string>(in, "layout", "NCHW", path);
  if (layout == "NCHW") spec.layout = TensorLayout::kNCHW;
  else if (layout == "NHWC") spec.layout = TensorLayout::kNHWC;
  else bad_key(path, "input.layout", "'" + layout + "' is neither NCHW nor NHWC");
  const auto color = scalar<std::string>(in, "color", "RGB", path);
  if (color == "RGB") spec.color = ColorOrder::kRGB;
  else if (color == "BGR") spec.color = ColorOrder::kBGR;
  else bad_key(path, "input.color", "'" + color + "' is neither RGB nor BGR");
  spec.scale = scalar<float>(in, "scale", spec.scale, path);
  spec.mean = triple(in, "mean", spec.mean, path);
  spec.std = triple(in, "std", spec.std, path);
  for (float s : spec.std)
    if (s == 0) bad_key(path, "input.std", "must not be 0");
  std::string missing;
  for (const auto& key : kRequiredInputKeys)
    if (!in[key]) missing += (missing.empty() ? "" : ", ") + key;
  if (!missing.empty())
    bad_key(path, "input", "missing " + missing +
                               ": the pre-processing is not guessed (an ImageNet normalisation given to a model "
                               "trained otherwise segments nonsense without an error)");
}

void parse_classes(const YAML::Node& root, ModelManifest& m, const std::string& path) {
  if (const YAML::Node classes = root["classes"]) {
    if (!classes.IsSequence()) bad_key(path, "classes", "expected a list of names");
    for (const auto& c : classes) {
      if (!c.IsScalar()) bad_key(path, "classes", "each entry must be a name");
      m.classes.push_back(c.as<std::string>());
    }
  }
  if (const YAML::Node palette = root["palette"]) {
    if (!palette.IsSequence()) bad_key(path, "palette", "expected a list of [r,g,b]");
    for (const auto& c : palette) {
      if (!c.IsSequence() || c.size() != 3) bad_key(path, "palette", "each entry must be [r,g,b]");
      std::array<std::uint8_t, 3> rgb{};
      for (int k = 0; k < 3; ++k) {
        int v = -1;
        try {
          v = c[k].as<int>();
        } catch (const YAML::Exception&) {
          bad_key(path, "palette", "colour components must be integers 0..255");
        }
        if (v < 0 || v > 255) bad_key(path, "palette", "colour components must be 0..255");
        rgb[k] = static_cast<std::uint8_t>(v);
      }
      m.palette.push_back(rgb);
    }
  }
  if (m.classes.size() > 256) bad_key(path, "classes", "at most 256 classes are supported");
  if (m.palette.size() < m.classes.size()) {
    auto voc = voc_palette(static_cast<int>(m.classes.size()));
    for (std::size_t k = m.palette.size(); k < m.classes.size(); ++k) m.palette.push_back(voc[k]);
  }
}

}  // namespace

std::vector<std::array<std::uint8_t, 3>> voc_palette(int n) {
  std::vector<std::array<std::uint8_t, 3>> palette;
  for (int k = 0; k < n; ++k) {
    int c = k, r = 0, g = 0, b = 0;
    for (int bit = 7; bit >= 0; --bit, c >>= 3) {
      r |= ((c >> 0) & 1) << bit;
      g |= ((c >> 1) & 1) << bit;
      b |= ((c >> 2) & 1) << bit;
    }
    palette.push_back({static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(b)});
  }
  return palette;
}

ModelManifest load_manifest(const std::string& path) {
  if (!fs::exists(path)) throw Error(ErrorCode::kNotFound, path + ": manifest not found");
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw Error(ErrorCode::kInvalidArgument, path + ": not valid YAML: " + e.what());
  }
  if (!root.IsMap()) throw Error(ErrorCode::kInvalidArgument, path + ": a manifest must be a YAML mapping");
  reject_duplicate_keys(root, path);
  reject_unknown_keys(root, kTopKeys, "", path);
  ModelManifest m;
  m.manifest_path = path;
  try {
    m.name = scalar<std::string>(root, "name", fs::path(path).stem().string(), path);
    m.description = scalar<std::string>(root, "description", "", path);
    m.file = scalar<std::string>(root, "file", "", path);
    m.url = scalar<std::string>(root, "url", "", path);
    m.sha256 = scalar<std::string>(root, "sha256", "", path);
    m.licence = scalar<std::string>(root, "licence", "", path);
    m.source = scalar<std::string>(root, "source", "", path);
    m.output = scalar<std::string>(root, "output", "", path);
    m.logits_upsampling = scalar<std::string>(root, "logits_upsampling", "", path);
    static const char* kModes[] = {"", "align_corners", "half_pixel", "pytorch_half_pixel", "asymmetric"};
    if (std::find(std::begin(kModes), std::end(kModes), m.logits_upsampling) == std::end(kModes))
      bad_key(path, "logits_upsampling", "'" + m.logits_upsampling +
                                             "' is not one of align_corners, half_pixel, pytorch_half_pixel, asymmetric");
    if (m.file.empty()) bad_key(path, "file", "missing (the ONNX file name)");
    parse_classes(root, m, path);
    parse_input(root["input"], m.input, path);
    if (const YAML::Node crf = root["crf"]) m.crf = crf::parse_crf_block(crf, path);
  } catch (const YAML::Exception& e) {
    throw Error(ErrorCode::kInvalidArgument, path + ": " + e.what());
  }
  return m;
}

ModelManifest default_manifest_for(const std::string& onnx_path) {
  ModelManifest m;
  m.name = fs::path(onnx_path).stem().string();
  m.file = onnx_path;
  m.description = "bare ONNX file (no manifest): ImageNet normalisation, NCHW RGB assumed";
  return m;
}

ModelManifest default_manifest_for_tflite(const std::string& tflite_path) {
  const TfliteInputInfo info = read_tflite_input_info(tflite_path);
  ModelManifest m;
  m.name = fs::path(tflite_path).stem().string();
  m.file = tflite_path;
  m.input.name = info.name;
  m.input.height = static_cast<int>(info.shape[1]);
  m.input.width = static_cast<int>(info.shape[2]);
  m.input.layout = TensorLayout::kNHWC;  // TFLite's own layout; the importer keeps it for the input
  m.input.color = ColorOrder::kRGB;
  m.input.std = {1, 1, 1};
  // The graph's input is the dequantized image, (q - zero_point) * scale, with q the uint8 pixel (or,
  // for an int8 input, pixel - 128): value = pixel * scale - mean.
  if (info.quantized) {
    const float offset = static_cast<float>(info.zero_point + (info.type == TfliteInputInfo::kInt8 ? 128 : 0));
    m.input.scale = info.scale;
    m.input.mean.fill(offset * info.scale);
    m.description = "bare TFLite file (no manifest): RGB, normalisation from the input's quantization (scale " +
                    std::to_string(info.scale) + ", zero point " + std::to_string(info.zero_point) + ")";
  } else {
    m.input.scale = 1.0f / 127.5f;  // TFLite's float image models mostly take [-1, 1]
    m.input.mean.fill(1.0f);
    m.description = "bare float TFLite file (no manifest): RGB in [-1, 1] assumed";
  }
  for (int k = 0; k < info.classes; ++k) m.classes.push_back(std::to_string(k));
  m.palette = voc_palette(info.classes);
  return m;
}

namespace {

// A bare .onnx path with no manifest: the assumptions are said out loud, once per file.
void say_assumed_manifest(const std::string& onnx_path) {
  log_message(LogLevel::kWarning,
              onnx_path + ": no manifest found; assuming NCHW RGB input with ImageNet normalisation "
                          "(pixel/255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]. If the model was trained "
                          "otherwise, write a manifest beside it (" +
                  fs::path(onnx_path).replace_extension(".yaml").string() + "; docs/models.md)");
}

}  // namespace

// Directories holding manifests: the caller's (the tools' $DEEPLAB_MODEL_DIR), then the source tree's models/.
static std::vector<fs::path> manifest_dirs(const ModelSearch& search) {
  std::vector<fs::path> dirs;
  if (!search.manifest_dir.empty()) dirs.emplace_back(search.manifest_dir);
  if (*DEEPLAB_SOURCE_MODELS_DIR) dirs.emplace_back(DEEPLAB_SOURCE_MODELS_DIR);
  return dirs;
}

// A bare .onnx path still gets its model's facts (layout, normalisation, classes) when a known
// manifest names that file.
static bool find_manifest_for_file(const std::string& file_name, const ModelSearch& search, ModelManifest& out) {
  for (const auto& dir : manifest_dirs(search)) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() != ".yaml") continue;
      try {
        ModelManifest m = load_manifest(entry.path().string());
        if (m.file == file_name) {
          out = std::move(m);
          return true;
        }
      } catch (const Error&) {
        // An unrelated broken manifest does not stop the search.
      }
    }
  }
  return false;
}

static std::string find_model_file(const ModelManifest& m, const ModelSearch& search) {
  if (fs::path(m.file).is_absolute()) return m.file;
  std::vector<fs::path> candidates;
  if (!search.cache_dir.empty()) candidates.emplace_back(search.cache_dir);
  if (!m.manifest_path.empty()) {
    const fs::path dir = fs::path(m.manifest_path).parent_path();
    candidates.push_back(dir / "cache");
    candidates.push_back(dir);
  }
  if (*DEEPLAB_SOURCE_MODELS_DIR) candidates.push_back(fs::path(DEEPLAB_SOURCE_MODELS_DIR) / "cache");
  for (const auto& dir : candidates)
    if (fs::exists(dir / m.file)) return fs::absolute(dir / m.file).string();
  throw Error(ErrorCode::kNotFound, "model file '" + m.file + "' of manifest " + m.manifest_path +
                                        " is not in the model cache; run: scripts/fetch-models.sh " + m.name);
}

// A model file given by path: its sibling <stem>.yaml, else a known manifest naming the file, else
// what the file itself says (the assumptions logged as a warning); `file` is that path whatever the
// manifest says.
static ModelManifest manifest_for_model_file(const fs::path& p, const ModelSearch& search) {
  ModelManifest m;
  const fs::path sibling = fs::path(p).replace_extension(".yaml");
  if (fs::exists(sibling)) {
    m = load_manifest(sibling.string());
  } else if (!find_manifest_for_file(p.filename().string(), search, m)) {
    const std::string file = fs::absolute(p).string();
    if (p.extension() == ".tflite") {
      m = default_manifest_for_tflite(file);
      if (m.description.rfind("bare float", 0) == 0)
        log_message(LogLevel::kWarning, file + ": no manifest found and a float input; assuming RGB in [-1, 1] "
                                               "(pixel/127.5 - 1). If the model was trained otherwise, write a "
                                               "manifest beside it (docs/models.md)");
    } else {
      m = default_manifest_for(file);
      say_assumed_manifest(file);
    }
  }
  m.file = fs::absolute(p).string();
  return m;
}

ModelManifest resolve_model(const std::string& name_or_path, const ModelSearch& search) {
  const fs::path p(name_or_path);
  const std::string ext = p.extension().string();
  ModelManifest m;
  if (fs::exists(p) && (ext == ".yaml" || ext == ".yml")) {
    m = load_manifest(p.string());
  } else if (fs::exists(p) && (ext == ".onnx" || ext == ".tflite")) {
    return manifest_for_model_file(p, search);
  } else if (ext == ".onnx" || ext == ".tflite" || ext == ".yaml" || ext == ".yml") {
    throw Error(ErrorCode::kNotFound, name_or_path + ": model file not found");
  } else {
    bool found = false;
    for (const auto& dir : manifest_dirs(search))
      if (fs::exists(dir / (name_or_path + ".yaml"))) {
        m = load_manifest((dir / (name_or_path + ".yaml")).string());
        found = true;
        break;
      }
    if (!found)
      throw Error(ErrorCode::kNotFound, "unknown model '" + name_or_path +
                                            "': no such file and no manifest models/" + name_or_path + ".yaml");
  }
  m.file = find_model_file(m, search);
  return m;
}

}  // namespace deeplab
