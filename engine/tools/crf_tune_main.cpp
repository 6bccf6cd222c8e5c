// deeplab-crf-tune: searches the dense CRF's parameters for a model on a labelled image set, as
// DeepLab cross-validated theirs per model and dataset (docs/crf.md, "Tuning the CRF").
//   deeplab-crf-tune --model M --class-map FILE --images DIR --labels DIR [--tune-frames A:B]
//                    [--validate-frames C:D | --validation DIR] [--crf-scale F] [--output FILE]
// The network runs once per image; its probabilities are kept at the CRF's working size and the
// search runs only the CRF. Writes the best parameters as a YAML `crf:` block (a manifest's, or a
// file for --crf-params / crf-params=FILE). Exit status: 0 done, 2 bad usage, 1 a failure while tuning.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_args.h"
#include "deeplab/error.h"
#include "deeplab/segmenter.h"
#include "eval/class_map.h"
#include "eval/dataset.h"
#include "eval/tune.h"

using namespace deeplab;
namespace fs = std::filesystem;

namespace {

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

const char* const kUsage =
    "deeplab-crf-tune [--model NAME|PATH] --class-map FILE --images DIR --labels DIR [--tune-frames A:B]\n"
    "                 [--validate-frames C:D | --validation DIR [--validation-labels DIR]] [--crf-scale F]\n"
    "                 [--validate-crf-scale F] [--rounds N] [--quick] [--threads N] [--output FILE]\n"
    "  --model            model manifest name or path (deeplabv3-mnv2-voc-513)\n"
    "  --class-map        YAML mapping dataset labels and model classes onto evaluation classes (as deeplab-eval)\n"
    "  --images/--labels  the labelled images, in file-name order\n"
    "  --tune-frames A:B  tune on images A..B-1 of that order (all)\n"
    "  --validate-frames C:D  score the result on images C..D-1 (not overlapping the tuned ones)\n"
    "  --validation DIR   or on another set: DIR/images and DIR/labels, or DIR with --validation-labels\n"
    "  --crf-scale F      the search's CRF working resolution / the image's, (0, 1] (0.5): lower is faster\n"
    "  --validate-crf-scale F  the validation's (1, as deeplab-eval's default)\n"
    "  --rounds N         coordinate-descent passes after DeepLab's grid (2)\n"
    "  --quick            a 2x2x2 grid instead of 3x3x3 (tests)\n"
    "  --threads N        images scored at once (2)\n"
    "  --output FILE      write the crf: block there (stdout otherwise)\n";

struct Range {
  int begin = 0, end = 0;  // end 0: to the last
};

Range parse_range(const std::string& key, const std::string& text) {
  Range r;
  const auto colon = text.find(':');
  try {
    if (colon == std::string::npos) throw std::invalid_argument(text);
    r.begin = colon == 0 ? 0 : std::stoi(text.substr(0, colon));
    r.end = colon + 1 == text.size() ? 0 : std::stoi(text.substr(colon + 1));
  } catch (const std::exception&) {
    throw Error(ErrorCode::kInvalidArgument, key + ": '" + text + "' is not FIRST:END (e.g. 0:120)");
  }
  if (r.begin < 0 || (r.end != 0 && r.end <= r.begin))
    throw Error(ErrorCode::kInvalidArgument, key + ": '" + text + "' is an empty or negative range");
  return r;
}

std::vector<eval::LabelledImage> slice(const std::vector<eval::LabelledImage>& all, const Range& r,
                                       const std::string& key) {
  const int end = r.end == 0 ? static_cast<int>(all.size()) : r.end;
  if (end > static_cast<int>(all.size()))
    throw Error(ErrorCode::kInvalidArgument, key + ": the set has only " + std::to_string(all.size()) + " images");
  return {all.begin() + r.begin, all.begin() + end};
}

struct Setup {
  std::string model, class_map, images, labels, output;
  std::string validation_images, validation_labels;
  Range tune, validate;
  bool validate_split = false;
  double scale = 0.5, validate_scale = 1;
  int rounds = 2, threads = 2;
  bool quick = false;
};

Setup read_setup(tools::Args& args) {
  Setup s;
  s.model = args.value("--model", "deeplabv3-mnv2-voc-513");
  s.class_map = args.required("--class-map");
  s.images = args.required("--images");
  s.labels = args.required("--labels");
  s.output = args.value("--output");
  if (!args.value("--tune-frames").empty()) s.tune = parse_range("--tune-frames", args.value("--tune-frames"));
  if (!args.value("--validate-frames").empty()) {
    s.validate = parse_range("--validate-frames", args.value("--validate-frames"));
    s.validate_split = true;
  }
  s.validation_images = args.value("--validation");
  s.validation_labels = args.value("--validation-labels");
  s.scale = args.real("--crf-scale", 0.5, 1e-3, 1);
  s.validate_scale = args.real("--validate-crf-scale", 1, 1e-3, 1);
  s.rounds = args.integer("--rounds", 2, 0, 10);
  s.threads = args.integer("--threads", 2, 1, 64);
  s.quick = args.flag("--quick");
  args.finish();
  if (s.validate_split && !s.validation_images.empty())
    throw Error(ErrorCode::kInvalidArgument, "give --validate-frames or --validation, not both");
  if (!s.validation_images.empty() && s.validation_labels.empty()) {
    if (!fs::is_directory(fs::path(s.validation_images) / "images"))
      throw Error(ErrorCode::kInvalidArgument, "--validation " + s.validation_images +
                                                   ": no images/ folder inside; give --validation-labels DIR");
    s.validation_labels = (fs::path(s.validation_images) / "labels").string();
    s.validation_images = (fs::path(s.validation_images) / "images").string();
  }
  if (s.validate_split && s.tune.end != 0 && s.validate.begin < s.tune.end && s.tune.begin < (s.validate.end ? s.validate.end : 1 << 30))
    throw Error(ErrorCode::kInvalidArgument, "--validate-frames overlaps --tune-frames: validate on images the search did not see");
  return s;
}

void bar(const char* what, int done, int total, const std::string& tail) {
  const int width = 30, filled = total > 0 ? std::min(width, done * width / total) : 0;
  std::fprintf(stderr, "\r%-10s [%s%s] %3d/%-3d %s", what, std::string(filled, '#').c_str(),
               std::string(width - filled, ' ').c_str(), done, total, tail.c_str());
  std::fflush(stderr);
}

std::string describe(const CrfParams& p) {
  char text[160];
  std::snprintf(text, sizeof text, "T %.3g, bilateral %.3g/%.3g/%.3g, gaussian %.3g/%.3g, %d it", p.unary_temperature,
                p.bilateral_weight, p.bilateral_xy_std, p.bilateral_rgb_std, p.gaussian_weight, p.gaussian_xy_std,
                p.iterations);
  return text;
}

eval::CrfTuneSet cache(Segmenter& segmenter, const eval::ClassMap& map, const std::vector<eval::LabelledImage>& images,
                       double scale, const char* what) {
  CrfOptions working;
  working.scale = static_cast<float>(scale);
  const int total = static_cast<int>(images.size());
  eval::CrfTuneSet set(segmenter, map, images, working, [&](int done) { bar(what, done, total, "network"); });
  std::fprintf(stderr, "\n%s: %d images kept at CRF scale %g: %.1f MiB\n", what, set.size(), scale,
               set.bytes() / 1048576.0);
  return set;
}

// off / DeepLab's / the model's current / tuned, full and temporal, on the validation images.
void validate(eval::CrfTuneSet& set, const ModelManifest& manifest, const CrfParams& tuned, int threads) {
  struct Column {
    const char* name;
    CrfParams params;
  };
  std::vector<Column> columns = {{"DeepLab", CrfParams{}}};
  if (!manifest.crf.empty())
    columns.push_back({"model's", resolve_crf_options(CrfOptions{}, manifest.crf).params});
  columns.push_back({"tuned", tuned});
  CrfOptions off;
  const double off_miou = set.score(off, threads);
  std::printf("validation, %d images, mIoU:  %8s", set.size(), "off");
  for (const auto& c : columns) std::printf("  %8s", c.name);
  std::printf("\n");
  for (CrfMode mode : {CrfMode::kFull, CrfMode::kTemporal}) {
    std::printf("  %-28s  %8.2f", mode == CrfMode::kFull ? "full" : "temporal (in order)", off_miou);
    for (const auto& c : columns) {
      CrfOptions o;
      o.mode = mode;
      o.params = c.params;
      std::printf("  %8.2f", set.score(o, threads));
      std::fflush(stdout);
    }
    std::printf("\n");
  }
}

int run(int argc, char** argv, int& failure_code) {
  tools::Args args(argc, argv, kUsage);
  const Setup s = read_setup(args);
  const ModelManifest manifest = resolve_model(s.model);
  const eval::ClassMap map = eval::load_class_map(s.class_map, static_cast<int>(manifest.classes.size()));
  const auto all = eval::list_labelled_images(s.images, s.labels);
  const auto tune_images = slice(all, s.tune, "--tune-frames");
  SegmenterOptions options;
  options.device = Device::kCpu;
  options.threads = s.threads;
  Segmenter segmenter(manifest, options);
  failure_code = kExitRuntime;

  eval::CrfTuneSet set = cache(segmenter, map, tune_images, s.scale, "tune");
  eval::TuneOptions tune;
  tune.base.mode = CrfMode::kFull;
  tune.base.scale = static_cast<float>(s.scale);
  tune.threads = s.threads;
  tune.descent_rounds = s.rounds;
  tune.quick_grid = s.quick;
  CrfOptions off;
  const double off_miou = set.score(off, s.threads);
  tune.off_miou = off_miou;  // never worse than no CRF on the tuning images
  const eval::TuneResult result = eval::tune_crf(set, tune, [&](const eval::TuneProgress& p) {
    char tail[200];
    std::snprintf(tail, sizeof tail, "best %.2f (off %.2f): %s   ", p.best_miou, off_miou, describe(p.best).c_str());
    bar("search", p.evaluations, p.planned, tail);
  });
  std::fprintf(stderr, "\nbest on the %d tuning images: mIoU %.2f (off %.2f), %d evaluations: %s\n", set.size(),
               result.best_miou, off_miou, result.evaluations, describe(result.best).c_str());

  char line[200];
  std::snprintf(line, sizeof line, "deeplab-crf-tune: %s, %s, %d images from %s (CRF scale %g): mIoU %.2f (off %.2f)",
                manifest.name.c_str(), s.class_map.c_str(), set.size(), s.images.c_str(), s.scale, result.best_miou,
                off_miou);
  const std::string block = eval::crf_block_yaml(result.best, {line});
  if (s.output.empty()) {
    std::printf("%s", block.c_str());
  } else {
    std::ofstream(s.output) << block;
    if (!fs::exists(s.output)) throw Error(ErrorCode::kIo, s.output + ": cannot write the crf: block");
    load_crf_params_file(s.output);  // what was written loads
    std::fprintf(stderr, "wrote %s\n", s.output.c_str());
  }

  std::vector<eval::LabelledImage> held_out;
  if (s.validate_split) held_out = slice(all, s.validate, "--validate-frames");
  if (!s.validation_images.empty()) held_out = eval::list_labelled_images(s.validation_images, s.validation_labels);
  if (held_out.empty()) return 0;
  eval::CrfTuneSet check = cache(segmenter, map, held_out, s.validate_scale, "validation");
  validate(check, manifest, result.best, s.threads);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int failure_code = kExitUsage;
  return tools::run_tool("deeplab-crf-tune", [&] { return run(argc, argv, failure_code); }, &failure_code);
}
