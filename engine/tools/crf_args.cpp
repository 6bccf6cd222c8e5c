#include "crf_args.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <type_traits>
#include <vector>

#include "deeplab/error.h"

namespace deeplab::tools {

const char* const kCrfUsage =
    "[--crf off|full|temporal] [--crf-iterations N] [--crf-temporal-iterations N] [--crf-keyframe-interval N] "
    "[--crf-scale F] [--crf-max-pixels N] [--crf-bilateral-weight W] [--crf-bilateral-xy-std S] [--crf-bilateral-rgb-std S] "
    "[--crf-gaussian-weight W] [--crf-gaussian-xy-std S] [--crf-unary-temperature T] [--crf-params FILE] "
    "[--crf-scene-cut-threshold T]";

const char* const kCrfHelp =
    "dense CRF (DeepLab's fully connected CRF after the network; docs/crf.md):\n"
    "  --crf off|full|temporal       off (default); full: every frame runs --crf-iterations; temporal: a frame\n"
    "                                starts from the previous frame's result and runs --crf-temporal-iterations\n"
    "  --crf-iterations N            mean-field iterations of a full run, 1..1000 (10)\n"
    "  --crf-temporal-iterations N   iterations of a warm-started frame, 1..1000 (2)\n"
    "  --crf-keyframe-interval N     temporal: full iterations every N frames, 0 = never (30)\n"
    "  --crf-scale F                 working resolution as a fraction of the frame's, (0, 1] (1)\n"
    "  --crf-max-pixels N            at most N working pixels (same aspect; a 4K frame runs at 1080p),\n"
    "                                0 = no cap (2073600 = 1920x1080)\n"
    "  --crf-bilateral-weight W      appearance kernel weight, >= 0 (4)\n"
    "  --crf-bilateral-xy-std S      appearance kernel position std, frame pixels, > 0 (67)\n"
    "  --crf-bilateral-rgb-std S     appearance kernel colour std, 0..255 units, > 0 (3)\n"
    "  --crf-gaussian-weight W       smoothness kernel weight, >= 0 (3)\n"
    "  --crf-gaussian-xy-std S       smoothness kernel position std, frame pixels, > 0 (1)\n"
    "  --crf-unary-temperature T     the unary is T x -log p: > 1 lets the CRF move fewer labels, (0, 4] (1)\n"
    "  --crf-params FILE             a tuned parameter file (deeplab-crf-tune's crf: block); over the\n"
    "                                model's own crf: block, under the --crf-* options above\n"
    "  (the kernel options' defaults are the model manifest's crf: block where it has one, else DeepLab's)\n"
    "  --crf-scene-cut-threshold T   temporal: mean luma change (0..1) that counts as a scene cut and runs\n"
    "                                full iterations, >= 0 (0.15)\n";

namespace {

// "--crf-iterations" with no value after it would otherwise read as absent.
bool present(Args& args, const char* key) {
  if (args.flag(key)) throw Error(ErrorCode::kInvalidArgument, std::string(key) + " needs a value");
  return !args.value(key).empty();
}

// An integer option within [lo, hi]; absent -> def. `given` collects the names of those present.
int read_int(Args& args, const char* key, int def, int lo, int hi, std::vector<std::string>& given) {
  if (!present(args, key)) return def;
  given.emplace_back(key);
  return args.integer(key, def, lo, hi);
}

struct RealRange {
  double lo;
  bool lo_open;  // (lo, ...] rather than [lo, ...]
  double hi;     // infinity: no upper bound
  const char* text;
};
constexpr double kNoLimit = std::numeric_limits<double>::infinity();
constexpr RealRange kPositive{0, true, kNoLimit, "> 0"};
constexpr RealRange kNonNegative{0, false, kNoLimit, ">= 0"};
constexpr RealRange kFraction{0, true, 1, "in (0, 1]"};

// A real option within `range`; absent -> def. `given` collects the names of those present.
float read_real(Args& args, const char* key, float def, const RealRange& range, std::vector<std::string>& given) {
  if (!present(args, key)) return def;
  given.emplace_back(key);
  const double v = args.real(key, def, -kNoLimit, kNoLimit);
  const bool ok = std::isfinite(v) && (range.lo_open ? v > range.lo : v >= range.lo) && v <= range.hi;
  if (!ok) throw Error(ErrorCode::kInvalidArgument, std::string(key) + ": " + args.value(key) + " must be " + range.text);
  return static_cast<float>(v);
}

constexpr RealRange kTemperature{0, true, kMaxCrfUnaryTemperature, "in (0, 4]"};

// A kernel parameter: into params (what the tool shows) and the overrides (what beats the model's
// own crf: block, CrfOptions::model_params).
template <class T>
void read_param(Args& args, const char* key, T& value, std::optional<T>& override_value, const RealRange* range,
                std::vector<std::string>& given) {
  const std::size_t before = given.size();
  if constexpr (std::is_same_v<T, int>)
    value = read_int(args, key, value, 1, 1000, given);
  else
    value = read_real(args, key, value, *range, given);
  if (given.size() > before) override_value = value;
}

void read_crf_params(Args& args, CrfOptions& o, std::vector<std::string>& given) {
  CrfParams& p = o.params;
  CrfParamOverrides& u = o.overrides;
  read_param(args, "--crf-iterations", p.iterations, u.iterations, nullptr, given);
  read_param(args, "--crf-bilateral-weight", p.bilateral_weight, u.bilateral_weight, &kNonNegative, given);
  read_param(args, "--crf-bilateral-xy-std", p.bilateral_xy_std, u.bilateral_xy_std, &kPositive, given);
  read_param(args, "--crf-bilateral-rgb-std", p.bilateral_rgb_std, u.bilateral_rgb_std, &kPositive, given);
  read_param(args, "--crf-gaussian-weight", p.gaussian_weight, u.gaussian_weight, &kNonNegative, given);
  read_param(args, "--crf-gaussian-xy-std", p.gaussian_xy_std, u.gaussian_xy_std, &kPositive, given);
  read_param(args, "--crf-unary-temperature", p.unary_temperature, u.unary_temperature, &kTemperature, given);
  if (present(args, "--crf-params")) {
    given.emplace_back("--crf-params");
    o.params_file = args.value("--crf-params");
    load_crf_params_file(o.params_file);  // a bad file fails here, naming the file and the key
  }
}

void note_without_effect(const std::vector<std::string>& keys, const std::string& why) {
  for (const auto& key : keys) std::fprintf(stderr, "note: %s has no effect %s\n", key.c_str(), why.c_str());
}

}  // namespace

CrfOptions read_crf_options(Args& args) {
  CrfOptions o;
  const std::string mode = present(args, "--crf") ? args.value("--crf") : "off";
  try {
    o.mode = crf_mode_from_string(mode);
  } catch (const Error&) {
    throw Error(ErrorCode::kInvalidArgument, "--crf: '" + mode + "' is not one of off, full, temporal");
  }
  std::vector<std::string> tuning, temporal;
  read_crf_params(args, o, tuning);
  o.scale = read_real(args, "--crf-scale", o.scale, kFraction, tuning);
  o.max_pixels = read_int(args, "--crf-max-pixels", static_cast<int>(o.max_pixels), 0,
                          static_cast<int>(kMaxCrfMaxPixels), tuning);
  o.temporal_iterations = read_int(args, "--crf-temporal-iterations", o.temporal_iterations, 1, 1000, temporal);
  o.keyframe_interval = read_int(args, "--crf-keyframe-interval", o.keyframe_interval, 0, 1000000, temporal);
  o.scene_cut_threshold = read_real(args, "--crf-scene-cut-threshold", o.scene_cut_threshold, kNonNegative, temporal);

  if (o.mode == CrfMode::kOff) {
    note_without_effect(tuning, "with --crf off");
    note_without_effect(temporal, "with --crf off");
  } else if (o.mode == CrfMode::kFull) {
    note_without_effect(temporal, "with --crf full (temporal mode only)");
  }
  validate_crf_options(o);  // the engine's own rules, in case they are stricter than the ranges above
  return o;
}

std::string describe_crf_report(const CrfFrameReport& report) {
  const char* why = report.warm_started ? "warm start"
                    : report.scene_cut  ? "scene cut"
                    : report.keyframe   ? "keyframe"
                                        : "from the network's probabilities";
  char text[160];
  std::snprintf(text, sizeof text, "%d iterations (%s), %.1f ms", report.iterations, why, report.ms);
  return text;
}

}  // namespace deeplab::tools
