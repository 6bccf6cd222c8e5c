// deeplab-eval: accuracy against labelled images, or temporal stability of a video, in the
// evaluation classes of a class map (engine/tools/eval/class_map.h).
//   deeplab-eval [--model M] --images DIR --labels DIR --class-map FILE [--sequence] [--limit N] ...
//   deeplab-eval [--model M] --video FILE --class-map FILE [--max-frames N] ...
// Exit status: 0 done, 2 bad usage or configuration (options, class map, model), 1 a failure while
// evaluating (unreadable image or video, missing label, label size mismatch).
#include <opencv2/core.hpp>

#include <cstdio>
#include <string>

#include "cli_args.h"
#include "crf_args.h"
#include "deeplab/error.h"
#include "deeplab/segmenter.h"
#include "eval/class_map.h"
#include "eval/dataset.h"
#include "eval/report.h"
#include "eval/runner.h"

using namespace deeplab;

namespace {

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

const std::string kUsage = std::string(
    "deeplab-eval [--model NAME|PATH] --class-map FILE (--images DIR --labels DIR [--sequence] [--limit N] | "
    "--video FILE [--max-frames N]) [--json] [--overlay-dir DIR] [--size WxH] [--aspect stretch|keep] [--threads N] "
    "[--device cpu|cuda|auto] ") + tools::kCrfUsage + "\n"
    "  --model        model manifest name or path, or an .onnx file (deeplabv3-mnv2-voc-513)\n"
    "  --class-map    YAML mapping dataset labels and model classes onto evaluation classes\n"
    "  --images/--labels  image folder and label PNGs (value = label id) with the same file names;\n"
    "                 reports per-class IoU, mIoU and pixel accuracy\n"
    "  --sequence     feed the images in file-name order as one stream (temporal CRF state carries over);\n"
    "                 otherwise each image starts a new stream\n"
    "  --limit N      only the first N images\n"
    "  --video FILE   no labels: flicker and temporal consistency (TC) over the first --max-frames frames\n"
    "  --aspect       stretch (the frame squeezed into the network input) or keep (the input follows the\n"
    "                 frame's aspect: 513x385 for 4:3)\n"
    "  --json         one JSON object on stdout\n"
    "  --overlay-dir  write each prediction as an overlay (evaluation classes) into DIR\n"
    "  --oracle-unary STRIDE[:T]  no network (with --images): the unary is each image's own labels seen\n"
    "                 through output stride STRIDE (class indicators averaged over STRIDE x STRIDE blocks,\n"
    "                 upsampled bilinearly, softmax of T x that; T 5): what the CRF alone does to\n"
    "                 blurred but otherwise right class scores\n" + tools::kCrfHelp;

struct Setup {
  eval::RunInfo info;
  SegmenterOptions options;
  bool json = false;
  int limit = 0;
  std::string overlay_dir;
  bool oracle = false;
  eval::OracleUnary oracle_unary;
};

// "STRIDE" or "STRIDE:TEMPERATURE"; a stride of 1..256 and a temperature above 0.
eval::OracleUnary parse_oracle_unary(const std::string& text) {
  eval::OracleUnary oracle;
  const auto colon = text.find(':');
  try {
    std::size_t used = 0;
    const std::string stride = text.substr(0, colon);
    oracle.stride = std::stoi(stride, &used);
    if (used != stride.size()) throw std::invalid_argument("trailing characters");
    if (colon != std::string::npos) {
      const std::string temperature = text.substr(colon + 1);
      oracle.temperature = std::stof(temperature, &used);
      if (used != temperature.size()) throw std::invalid_argument("trailing characters");
    }
  } catch (const std::exception&) {
    throw Error(ErrorCode::kInvalidArgument, "--oracle-unary '" + text + "': expected STRIDE or STRIDE:TEMPERATURE, e.g. 16:5");
  }
  if (oracle.stride < 1 || oracle.stride > 256 || !(oracle.temperature > 0.0f))
    throw Error(ErrorCode::kInvalidArgument,
                "--oracle-unary '" + text + "': the stride must be 1..256 and the temperature above 0");
  return oracle;
}

Setup read_setup(tools::Args& args) {
  Setup s;
  const std::string oracle = args.value("--oracle-unary");
  s.oracle = !oracle.empty();
  if (s.oracle) {
    s.oracle_unary = parse_oracle_unary(oracle);
    for (const char* option : {"--model", "--device", "--size"})
      if (!args.value(option).empty())
        throw Error(ErrorCode::kInvalidArgument, std::string(option) + " does not go with --oracle-unary (no network runs)");
  }
  s.info.model = args.value("--model", "deeplabv3-mnv2-voc-513");
  s.info.class_map_path = args.required("--class-map");
  s.info.images_dir = args.value("--images");
  s.info.labels_dir = args.value("--labels");
  s.info.video = args.value("--video");
  s.info.sequence = args.flag("--sequence");
  s.info.max_frames = args.integer("--max-frames", 0, 0, 100000000);
  s.limit = args.integer("--limit", 0, 0, 100000000);
  s.json = args.flag("--json");
  s.overlay_dir = args.value("--overlay-dir");
  s.options.device = device_from_string(args.value("--device", "auto"));
  s.options.threads = args.integer("--threads", 0, 0, kMaxThreads);
  args.size("--size", s.options.input_width, s.options.input_height);
  s.options.aspect = aspect_from_string(args.value("--aspect", "stretch"));
  s.options.crf = tools::read_crf_options(args);
  s.options.profile = tools::environment_flag("DEEPLAB_PROFILE", false);
  args.finish();
  const bool images = !s.info.images_dir.empty() || !s.info.labels_dir.empty();
  const bool video = !s.info.video.empty();
  if (images == video)
    throw Error(ErrorCode::kInvalidArgument, "give either --images and --labels, or --video\nusage: " + kUsage);
  if (images && (s.info.images_dir.empty() || s.info.labels_dir.empty()))
    throw Error(ErrorCode::kInvalidArgument, "--images and --labels go together");
  if (video && (s.info.sequence || s.limit))
    throw Error(ErrorCode::kInvalidArgument, "--sequence and --limit are for --images; a video is one stream (--max-frames)");
  if (video && s.oracle)
    throw Error(ErrorCode::kInvalidArgument, "--oracle-unary needs labels: use it with --images and --labels");
  if (images && s.info.max_frames)
    throw Error(ErrorCode::kInvalidArgument, "--max-frames is for --video; use --limit with --images");
  if (s.limit < 0 || s.info.max_frames < 0 || s.options.threads < 0)
    throw Error(ErrorCode::kInvalidArgument, "--limit, --max-frames and --threads must not be negative");
  return s;
}

// The oracle run: no model, the CPU CRF on the labels' own coarse unary.
int run_oracle(Setup& s, int& failure_code) {
  const eval::ClassMap map = eval::load_class_map(s.info.class_map_path, 256);
  char name[96];
  std::snprintf(name, sizeof name, "oracle unary (labels at stride %d, temperature %g)", s.oracle_unary.stride,
                static_cast<double>(s.oracle_unary.temperature));
  s.info.model = name;
  s.info.oracle = true;
  s.info.device = "cpu";
  s.info.threads = s.options.threads;
  s.info.crf = s.options.crf;
  failure_code = kExitRuntime;
  const auto images = eval::list_labelled_images(s.info.images_dir, s.info.labels_dir, s.limit);
  eval::ImageRunOptions options;
  options.sequence = s.info.sequence;
  options.overlay_dir = s.overlay_dir;
  const eval::ImageRun run = eval::evaluate_oracle(s.oracle_unary, s.options.crf, s.options.threads, map, images, options);
  if (s.json) std::printf("%s\n", eval::image_run_json(s.info, map, run).c_str());
  else eval::print_image_run(stdout, s.info, map, run);
  return 0;
}

// The network input size of the last frame (with --aspect keep it follows the frames).
void note_input_size(Setup& s, const Segmenter& segmenter) {
  s.info.input_width = segmenter.network().input_width;
  s.info.input_height = segmenter.network().input_height;
}

int run(int argc, char** argv, int& failure_code) {
  tools::Args args(argc, argv, kUsage);
  Setup s = read_setup(args);
  if (s.oracle) return run_oracle(s, failure_code);
  const ModelManifest manifest = resolve_model(s.info.model, tools::model_search_from_environment());
  const eval::ClassMap map = eval::load_class_map(s.info.class_map_path, static_cast<int>(manifest.classes.size()));
  Segmenter segmenter(manifest, s.options);
  s.info.device = device_name(segmenter.device());
  s.info.threads = s.options.threads;
  s.info.crf = resolve_crf_options(s.options.crf, manifest.crf);  // what the Segmenter runs

  failure_code = kExitRuntime;  // from here on, what fails is the data, not the command line
  if (!s.info.video.empty()) {
    const eval::VideoRun run = eval::evaluate_video(segmenter, map, s.info.video, s.info.max_frames, s.overlay_dir);
    note_input_size(s, segmenter);
    if (s.json) std::printf("%s\n", eval::video_run_json(s.info, map, run).c_str());
    else eval::print_video_run(stdout, s.info, map, run);
    return 0;
  }
  const auto images = eval::list_labelled_images(s.info.images_dir, s.info.labels_dir, s.limit);
  eval::ImageRunOptions options;
  options.sequence = s.info.sequence;
  options.overlay_dir = s.overlay_dir;
  const eval::ImageRun run = eval::evaluate_images(segmenter, map, images, options);
  note_input_size(s, segmenter);
  if (s.json) std::printf("%s\n", eval::image_run_json(s.info, map, run).c_str());
  else eval::print_image_run(stdout, s.info, map, run);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int failure_code = kExitUsage;
  return tools::run_tool("deeplab-eval", [&] { return run(argc, argv, failure_code); }, &failure_code);
}
