// deeplab-segment: segments images.
//   deeplab-segment --model NAME|PATH --input IMG[,IMG...] [--output-mask M.png] [--overlay O.png]
//                   [--device cpu|cuda|auto] [--threads N] [--size WxH] [--aspect stretch|keep] [--crf off|full|temporal ...]
// The mask is an 8-bit grayscale PNG at the input image's size whose value is the class id. With
// several inputs, --output-mask and --overlay name directories and each file is named after its
// input (STEM.png). Images are independent: the temporal CRF starts afresh on each.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_args.h"
#include "crf_args.h"
#include "deeplab/segmenter.h"
#include "image_file.h"
#include "overlay.h"

using namespace deeplab;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const std::size_t end = std::min(text.find(',', begin), text.size());
    if (end > begin) items.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  if (items.empty()) throw Error(ErrorCode::kInvalidArgument, "--input: no image named");
  return items;
}

// The output file for `input`: `target` itself for a single input, else target/STEM.png.
std::string output_path(const std::string& target, const std::string& input, bool several) {
  if (target.empty() || !several) return target;
  return (fs::path(target) / fs::path(input).stem()).string() + ".png";
}

void make_output_dir(const std::string& dir, const char* option) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw Error(ErrorCode::kIo, std::string(option) + " " + dir + ": cannot create the directory (" + ec.message() + ")");
}

void print_result(const std::string& input, const Segmenter& segmenter, const Segmentation& seg) {
  const ModelManifest& manifest = segmenter.manifest();
  const NetworkInfo& net = segmenter.network();
  const StageTimes& t = segmenter.last_times();
  std::printf("%s: %dx%d, model %s (%dx%d -> logits %dx%d), %.1f ms (pre %.1f, net %.1f, post %.1f, crf %.1f)\n",
              input.c_str(), seg.width, seg.height, manifest.name.c_str(), net.input_width, net.input_height,
              net.logits_width, net.logits_height, t.total_ms, t.preprocess_ms, t.infer_ms, t.postprocess_ms, t.crf_ms);
  if (seg.crf.iterations > 0) std::printf("  crf: %s\n", tools::describe_crf_report(seg.crf).c_str());
  std::vector<long> counts(static_cast<std::size_t>(seg.num_classes), 0);
  for (auto c : seg.class_map) ++counts[c];
  for (int c = 0; c < seg.num_classes; ++c)
    if (counts[c] > 0)
      std::printf("  %-14s %5.1f%%\n", c < static_cast<int>(manifest.classes.size()) ? manifest.classes[c].c_str() : "?",
                  100.0 * counts[c] / seg.class_map.size());
}

void segment_one(Segmenter& segmenter, const std::string& input, const std::string& mask_path,
                 const std::string& overlay_path) {
  cv::Mat bgr = tools::read_image(input, cv::IMREAD_COLOR, tools::WhenTruncated::kWarn);
  segmenter.reset_stream();  // each image on its own: no temporal CRF state from the previous one
  const FrameView frame = FrameView::packed(PixelFormat::kBGR, bgr.data, bgr.cols, bgr.rows, static_cast<int>(bgr.step));
  const Segmentation& seg = segmenter.segment(frame);
  print_result(input, segmenter, seg);
  if (!mask_path.empty()) {
    cv::Mat mask(seg.height, seg.width, CV_8UC1, const_cast<std::uint8_t*>(seg.class_map.data()));
    if (!cv::imwrite(mask_path, mask)) throw Error(ErrorCode::kIo, mask_path + ": cannot write");
  }
  if (!overlay_path.empty() && !cv::imwrite(overlay_path, tools::make_overlay(bgr, seg, segmenter.manifest())))
    throw Error(ErrorCode::kIo, overlay_path + ": cannot write");
}

}  // namespace

int main(int argc, char** argv) {
  return tools::run_tool("deeplab-segment", [&] {
    tools::Args args(argc, argv,
                     std::string("deeplab-segment --model NAME|PATH --input IMG[,IMG...] [--output-mask M.png] "
                                 "[--overlay O.png] [--device cpu|cuda|auto] [--threads N] [--size WxH] [--aspect stretch|keep] ") +
                         tools::kCrfUsage +
                         "\nWith several inputs, --output-mask and --overlay are directories (STEM.png inside); "
                         "each image is segmented on its own.\n" + tools::kCrfHelp);
    const ModelManifest manifest = resolve_model(args.required("--model"), tools::model_search_from_environment());
    const std::vector<std::string> inputs = split_list(args.required("--input"));
    const std::string mask_target = args.value("--output-mask");
    const std::string overlay_target = args.value("--overlay");
    SegmenterOptions options;
    options.device = device_from_string(args.value("--device", "auto"));
    options.threads = args.integer("--threads", 0, 0, kMaxThreads);
    args.size("--size", options.input_width, options.input_height);
    options.aspect = aspect_from_string(args.value("--aspect", "stretch"));
    options.crf = tools::read_crf_options(args);
    options.profile = tools::environment_flag("DEEPLAB_PROFILE", false);
    options.cuda_graph = tools::environment_flag("DEEPLAB_CUDA_GRAPH", true);
    args.finish();

    const bool several = inputs.size() > 1;
    if (several && !mask_target.empty()) make_output_dir(mask_target, "--output-mask");
    if (several && !overlay_target.empty()) make_output_dir(overlay_target, "--overlay");
    Segmenter segmenter(manifest, options);
    for (const std::string& input : inputs)
      segment_one(segmenter, input, output_path(mask_target, input, several), output_path(overlay_target, input, several));
    return 0;
  });
}
