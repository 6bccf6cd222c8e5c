// CRF parameter blocks: parsing (manifests, tuned files), overrides and the order they apply in.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "crf/crf_params_yaml.h"
#include "deeplab/error.h"
#include "yaml/yaml_keys.h"

namespace deeplab {

bool CrfParamOverrides::empty() const {
  return !iterations && !bilateral_weight && !bilateral_xy_std && !bilateral_rgb_std && !gaussian_weight &&
         !gaussian_xy_std && !unary_temperature;
}

void CrfParamOverrides::apply_to(CrfParams& p) const {
  if (iterations) p.iterations = *iterations;
  if (bilateral_weight) p.bilateral_weight = *bilateral_weight;
  if (bilateral_xy_std) p.bilateral_xy_std = *bilateral_xy_std;
  if (bilateral_rgb_std) p.bilateral_rgb_std = *bilateral_rgb_std;
  if (gaussian_weight) p.gaussian_weight = *gaussian_weight;
  if (gaussian_xy_std) p.gaussian_xy_std = *gaussian_xy_std;
  if (unary_temperature) p.unary_temperature = *unary_temperature;
}

namespace crf {

namespace {

// One key: where its value goes and what it may be.
struct BlockKey {
  const char* name;
  double lo;
  bool lo_open;  // (lo, hi] rather than [lo, hi]
  double hi;
  bool integer;
  std::function<void(CrfParamOverrides&, double)> store;
};

const std::vector<BlockKey>& block_keys() {
  constexpr double kBig = 1e6;
  static const std::vector<BlockKey> keys = {
      {"iterations", 1, false, 1000, true, [](CrfParamOverrides& o, double v) { o.iterations = static_cast<int>(v); }},
      {"bilateral_weight", 0, false, kBig, false, [](CrfParamOverrides& o, double v) { o.bilateral_weight = v; }},
      {"bilateral_xy_std", 0, true, kBig, false, [](CrfParamOverrides& o, double v) { o.bilateral_xy_std = v; }},
      {"bilateral_rgb_std", 0, true, kBig, false, [](CrfParamOverrides& o, double v) { o.bilateral_rgb_std = v; }},
      {"gaussian_weight", 0, false, kBig, false, [](CrfParamOverrides& o, double v) { o.gaussian_weight = v; }},
      {"gaussian_xy_std", 0, true, kBig, false, [](CrfParamOverrides& o, double v) { o.gaussian_xy_std = v; }},
      {"unary_temperature", 0, true, kMaxCrfUnaryTemperature, false,
       [](CrfParamOverrides& o, double v) { o.unary_temperature = v; }},
  };
  return keys;
}

[[noreturn]] void bad(const std::string& path, const YAML::Mark& mark, const std::string& key, const std::string& why) {
  throw Error(ErrorCode::kInvalidArgument, yaml::mark_text(path, mark) + ": crf key '" + key + "': " + why);
}

std::string range_text(const BlockKey& k) {
  char text[96];
  std::snprintf(text, sizeof text, "%s in %c%g, %g]", k.integer ? "an integer" : "a number", k.lo_open ? '(' : '[',
                k.lo, k.hi);
  return text;
}

void read_key(const BlockKey& k, const YAML::Node& value, const YAML::Mark& mark, const std::string& path,
              CrfParamOverrides& out) {
  double v = NAN;
  try {
    v = k.integer ? value.as<int>() : value.as<double>();
  } catch (const YAML::Exception&) {
    bad(path, mark, k.name, "'" + (value.IsScalar() ? value.Scalar() : std::string("<not a scalar>")) + "' is not " +
                                range_text(k));
  }
  const bool ok = std::isfinite(v) && (k.lo_open ? v > k.lo : v >= k.lo) && v <= k.hi;
  if (!ok) bad(path, mark, k.name, value.Scalar() + " is not " + range_text(k));
  k.store(out, v);
}

}  // namespace

const std::vector<std::string>& crf_block_keys() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& k : block_keys()) n.emplace_back(k.name);
    return n;
  }();
  return names;
}

CrfParamOverrides parse_crf_block(const YAML::Node& block, const std::string& path) {
  if (!block.IsMap())
    throw Error(ErrorCode::kInvalidArgument,
                yaml::mark_text(path, block.Mark()) + ": 'crf' must be a mapping of " +
                    yaml::list_words(crf_block_keys()));
  CrfParamOverrides out;
  for (auto it = block.begin(); it != block.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : "<non-scalar key>";
    const BlockKey* known = nullptr;
    for (const auto& k : block_keys())
      if (key == k.name) known = &k;
    if (!known) {
      const std::string guess = yaml::closest_match(key, crf_block_keys());
      bad(path, it->first.Mark(), key,
          guess.empty() ? "unknown (known keys: " + yaml::list_words(crf_block_keys()) + ")"
                        : "unknown (did you mean '" + guess + "'?)");
    }
    read_key(*known, it->second, it->first.Mark(), path, out);
  }
  return out;
}

}  // namespace crf

CrfParamOverrides load_crf_params_file(const std::string& path) {
  if (!std::filesystem::exists(path)) throw Error(ErrorCode::kNotFound, path + ": CRF parameter file not found");
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw Error(ErrorCode::kInvalidArgument, path + ": not valid YAML: " + e.what());
  }
  if (!root.IsMap() || !root["crf"])
    throw Error(ErrorCode::kInvalidArgument, path + ": a CRF parameter file is a YAML mapping with a 'crf:' block "
                                                    "(what deeplab-crf-tune writes)");
  if (const auto duplicate = yaml::find_duplicate_key(root))
    throw Error(ErrorCode::kInvalidArgument, yaml::mark_text(path, duplicate->second) + ": key '" + duplicate->path +
                                                 "' written twice (first at " +
                                                 yaml::mark_text(path, duplicate->first) + ")");
  for (auto it = root.begin(); it != root.end(); ++it)
    if (!it->first.IsScalar() || it->first.Scalar() != "crf")
      throw Error(ErrorCode::kInvalidArgument, yaml::mark_text(path, it->first.Mark()) + ": unknown key '" +
                                                   (it->first.IsScalar() ? it->first.Scalar() : "?") +
                                                   "' (a CRF parameter file has only a 'crf:' block)");
  return crf::parse_crf_block(root["crf"], path);
}

CrfOptions resolve_crf_options(const CrfOptions& options, const CrfParamOverrides& model_block) {
  if (!options.model_params) return options;
  CrfOptions out = options;
  out.params = CrfParams{};
  model_block.apply_to(out.params);
  if (!options.params_file.empty()) load_crf_params_file(options.params_file).apply_to(out.params);
  options.overrides.apply_to(out.params);
  return out;
}

}  // namespace deeplab
