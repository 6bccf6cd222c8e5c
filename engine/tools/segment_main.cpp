// deeplab-segment: segments one image.
//   deeplab-segment --model NAME|PATH --input IMG [--output-mask M.png] [--overlay O.png]
//                   [--device cpu|cuda|auto] [--threads N] [--size WxH]
// The mask is an 8-bit grayscale PNG at the input image's size whose value is the class id.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>

#include "cli_args.h"
#include "deeplab/segmenter.h"
#include "overlay.h"

using namespace deeplab;

int main(int argc, char** argv) {
  try {
    tools::Args args(argc, argv,
                     "deeplab-segment --model NAME|PATH --input IMG [--output-mask M.png] [--overlay O.png] "
                     "[--device cpu|cuda|auto] [--threads N] [--size WxH]");
    const ModelManifest manifest = resolve_model(args.required("--model"));
    const std::string input = args.required("--input");
    const std::string mask_path = args.value("--output-mask");
    const std::string overlay_path = args.value("--overlay");
    SegmenterOptions options;
    options.device = device_from_string(args.value("--device", "auto"));
    options.threads = args.integer("--threads", 0);
    args.size("--size", options.input_width, options.input_height);
    args.finish();

    cv::Mat bgr = cv::imread(input, cv::IMREAD_COLOR);
    if (bgr.empty()) throw Error(ErrorCode::kIo, input + ": cannot read the image (missing or not an image)");
    Segmenter segmenter(manifest, options);
    const FrameView frame = FrameView::packed(PixelFormat::kBGR, bgr.data, bgr.cols, bgr.rows, static_cast<int>(bgr.step));
    const Segmentation& seg = segmenter.segment(frame);
    const StageTimes& t = segmenter.last_times();
    std::printf("%s: %dx%d, model %s (%dx%d -> logits %dx%d), %.1f ms (pre %.1f, net %.1f, post %.1f)\n", input.c_str(),
                seg.width, seg.height, manifest.name.c_str(), segmenter.network().input_width,
                segmenter.network().input_height, segmenter.network().logits_width, segmenter.network().logits_height,
                t.total_ms, t.preprocess_ms, t.infer_ms, t.postprocess_ms);
    std::vector<long> counts(static_cast<std::size_t>(seg.num_classes), 0);
    for (auto c : seg.class_map) ++counts[c];
    for (int c = 0; c < seg.num_classes; ++c)
      if (counts[c] > 0)
        std::printf("  %-14s %5.1f%%\n", c < static_cast<int>(manifest.classes.size()) ? manifest.classes[c].c_str() : "?",
                    100.0 * counts[c] / seg.class_map.size());
    if (!mask_path.empty()) {
      cv::Mat mask(seg.height, seg.width, CV_8UC1, const_cast<std::uint8_t*>(seg.class_map.data()));
      if (!cv::imwrite(mask_path, mask)) throw Error(ErrorCode::kIo, mask_path + ": cannot write");
    }
    if (!overlay_path.empty() && !cv::imwrite(overlay_path, tools::make_overlay(bgr, seg, manifest)))
      throw Error(ErrorCode::kIo, overlay_path + ": cannot write");
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "deeplab-segment: %s\n", e.what());
    return 2;
  } catch (const cv::Exception& e) {
    std::fprintf(stderr, "deeplab-segment: OpenCV: %s\n", e.what());
    return 2;
  }
}
