// deeplab-gpu-pipeline-bench: the Segmenter's frame -> class map on the GPU, per stage (upload,
// pre-process, network, upsample+argmax, download), on a synthetic RGB frame — what
// deeplab-bench --device cuda measures, without the tools' OpenCV dependency, so that it builds on
// the GPU machine (which has no OpenCV; scripts/gpu-bench.sh uses it there).
//
//   deeplab-gpu-pipeline-bench --model NAME|PATH [--device cuda|cpu|auto] [--precision fp16|fp32]
//                              [--size WxH] [--frame WxH] [--iters N] [--warmup N] [--in-flight 1|2] [--json]
//
// --in-flight 2: the measured frames go through Segmenter::submit/collect with two frames in flight
// (uploads and downloads overlap the compute). fps: frames over the measured loop's wall time;
// latency: each frame's submit -> collect (total_ms). On the CPU the figures equal --in-flight 1's.
// --json prints one line with deeplab-bench's keys ("infer_ms_median", "total_ms_median", ...) plus
// "upload_ms_median", "download_ms_median", "precision", "in_flight", "fps" and "latency_ms_median".
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "bench_stats.h"
#include "cli_args.h"
#include "deeplab/segmenter.h"

using namespace deeplab;

namespace {

using tools::json_escape;
using tools::Series;

// Smooth gradients plus noise (deeplab-bench's synthetic frame).
std::vector<std::uint8_t> synthetic_rgb(int w, int h) {
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(w) * h * 3);
  std::mt19937 rng(7);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        pixels[(static_cast<std::size_t>(y) * w + x) * 3 + c] =
            static_cast<std::uint8_t>((x * (c + 1) + y * (3 - c) + static_cast<int>(rng() % 32)) & 255);
  return pixels;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    tools::Args args(argc, argv,
                     "deeplab-gpu-pipeline-bench --model NAME|PATH [--device cuda|cpu|auto] [--precision fp16|fp32] "
                     "[--size WxH] [--frame WxH] [--iters N] [--warmup N] [--in-flight 1|2] [--json]");
    const std::string model = args.required("--model");
    SegmenterOptions options;
    options.device = device_from_string(args.value("--device", "cuda"));
    options.precision = precision_from_string(args.value("--precision", "fp16"));
    args.size("--size", options.input_width, options.input_height);
    int frame_w = 0, frame_h = 0;
    args.size("--frame", frame_w, frame_h);
    options.profile = tools::environment_flag("DEEPLAB_PROFILE", false);
    options.cuda_graph = tools::environment_flag("DEEPLAB_CUDA_GRAPH", true);
    const int iters = args.integer("--iters", 50, 1, 1000000);
    const int warmup = args.integer("--warmup", 10, 0, 1000000);
    const bool json = args.flag("--json");
    const int in_flight = args.integer("--in-flight", 1, 1, Segmenter::kMaxInFlight);
    args.finish();

    const ModelManifest manifest = resolve_model(model, tools::model_search_from_environment());
    const auto load_start = std::chrono::steady_clock::now();
    Segmenter segmenter(manifest, options);
    const double load_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
    const NetworkInfo& net = segmenter.network();
    if (frame_w == 0) frame_w = net.input_width, frame_h = net.input_height;
    const std::vector<std::uint8_t> pixels = synthetic_rgb(frame_w, frame_h);
    const FrameView frame = FrameView::packed(PixelFormat::kRGB, pixels.data(), frame_w, frame_h, frame_w * 3);

    Series upload, pre, infer, post, download, total;
    for (int k = 0; k < warmup; ++k) segmenter.segment(frame);
    const auto loop_start = std::chrono::steady_clock::now();
    int submitted = 0;
    for (int k = 0; k < iters; ++k) {
      while (submitted < iters && segmenter.pending() < in_flight) {
        segmenter.submit(frame);
        ++submitted;
      }
      segmenter.collect();
      const StageTimes& t = segmenter.last_times();
      upload.values.push_back(t.upload_ms);
      pre.values.push_back(t.preprocess_ms);
      infer.values.push_back(t.infer_ms);
      post.values.push_back(t.postprocess_ms);
      download.values.push_back(t.download_ms);
      total.values.push_back(t.total_ms);
    }
    const double loop_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - loop_start).count();
    const double fps = loop_ms > 0 ? 1000.0 * iters / loop_ms : 0;
    // The CPU runs fp32 whatever was asked.
    const char* precision =
        segmenter.device() == Device::kCuda && options.precision == Precision::kFp16 ? "fp16" : "fp32";
    if (json) {
      std::printf("{\"runtime\":\"deeplab\",\"tool\":\"deeplab-gpu-pipeline-bench\",\"model\":\"%s\",\"device\":\"%s\","
                  "\"precision\":\"%s\",\"size\":[%d,%d],\"frame\":[%d,%d],\"logits\":[%d,%d],\"iters\":%d,"
                  "\"warmup\":%d,\"load_ms\":%.3f,\"upload_ms_median\":%.4f,\"preprocess_ms_median\":%.4f,"
                  "\"infer_ms_median\":%.4f,\"infer_ms_min\":%.4f,\"postprocess_ms_median\":%.4f,"
                  "\"download_ms_median\":%.4f,\"total_ms_median\":%.4f,\"total_ms_min\":%.4f,\"nodes\":%d,"
                  "\"arena_bytes\":%zu,\"in_flight\":%d,\"fps\":%.2f,\"latency_ms_median\":%.4f}\n",
                  json_escape(manifest.file).c_str(), device_name(segmenter.device()), precision, net.input_width,
                  net.input_height, frame_w, frame_h, net.logits_width, net.logits_height, iters, warmup, load_ms,
                  upload.median(), pre.median(), infer.median(), infer.min(), post.median(), download.median(),
                  total.median(), total.min(), net.node_count, net.arena_bytes, in_flight, fps, total.median());
    } else {
      std::printf("%s on %s %s: input %dx%d, frame %dx%d, logits %dx%d, %d nodes, arena %.1f MiB, load %.0f ms\n",
                  manifest.name.c_str(), device_name(segmenter.device()), precision, net.input_width,
                  net.input_height, frame_w, frame_h, net.logits_width, net.logits_height, net.node_count,
                  net.arena_bytes / 1048576.0, load_ms);
      std::printf("median over %d iters (ms): upload %.3f, pre-process %.3f, network %.3f (min %.3f), "
                  "upsample+argmax %.3f, download %.3f, total %.3f (min %.3f)\n",
                  iters, upload.median(), pre.median(), infer.median(), infer.min(), post.median(), download.median(),
                  total.median(), total.min());
      std::printf("%d in flight: %.1f frames/s, latency (submit -> collect) %.3f ms median\n", in_flight, fps,
                  total.median());
    }
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "deeplab-gpu-pipeline-bench: %s: %s\n", error_code_name(e.code()), e.what());
    return 2;
  }
}
