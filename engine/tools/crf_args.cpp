#include "crf_args.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "deeplab/error.h"

namespace deeplab::tools {

const char* const kCrfUsage =
    "[--crf off|full|temporal] [--crf-iterations N] [--crf-temporal-iterations N] [--crf-keyframe-interval N] "
    "[--crf-scale F] [--crf-max-pixels N] [--crf-bilateral-weight W] [--crf-bilateral-xy-std S] [--crf-bilateral-rgb-std S] "
    "[--crf-gaussian-weight W] [--crf-gaussian-xy-std S] [--crf-scene-cut-threshold T]";

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
  CrfParams& p = o.params;
  p.iterations = read_int(args, "--crf-iterations", p.iterations, 1, 1000, tuning);
  p.bilateral_weight = read_real(args, "--crf-bilateral-weight", p.bilateral_weight, kNonNegative, tuning);
  p.bilateral_xy_std = read_real(args, "--crf-bilateral-xy-std", p.bilateral_xy_std, kPositive, tuning);
  p.bilateral_rgb_std = read_real(args, "--crf-bilateral-rgb-std", p.bilateral_rgb_std, kPositive, tuning);
  p.gaussian_weight = read_real(args, "--crf-gaussian-weight", p.gaussian_weight, kNonNegative, tuning);
  p.gaussian_xy_std = read_real(args, "--crf-gaussian-xy-std", p.gaussian_xy_std, kPositive, tuning);
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
