// deeplab-bench: per-stage timings of frame -> class map.
//   deeplab-bench --model NAME|PATH [--device D] [--size WxH] [--frame WxH] [--threads N] [--iters N]
//                 [--warmup N] [--json]
// --size is the network input size; --frame the frame size (default: the network input size).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "cli_args.h"
#include "deeplab/segmenter.h"

using namespace deeplab;

namespace {

struct Series {
  std::vector<double> values;
  double median() const {
    std::vector<double> v = values;
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  }
  double min() const { return values.empty() ? 0 : *std::min_element(values.begin(), values.end()); }
};

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    tools::Args args(argc, argv,
                     "deeplab-bench --model NAME|PATH [--device cpu|cuda|auto] [--size WxH] [--frame WxH] "
                     "[--threads N] [--iters N] [--warmup N] [--json]");
    const std::string model = args.required("--model");
    SegmenterOptions options;
    options.device = device_from_string(args.value("--device", "auto"));
    options.threads = args.integer("--threads", 0);
    args.size("--size", options.input_width, options.input_height);
    int frame_w = 0, frame_h = 0;
    args.size("--frame", frame_w, frame_h);
    const int iters = std::max(1, args.integer("--iters", 20));
    const int warmup = std::max(0, args.integer("--warmup", 3));
    const bool json = args.flag("--json");
    args.finish();

    const ModelManifest manifest = resolve_model(model);
    const auto load_start = std::chrono::steady_clock::now();
    Segmenter segmenter(manifest, options);
    const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
    if (frame_w == 0) frame_w = segmenter.network().input_width, frame_h = segmenter.network().input_height;

    // A deterministic synthetic RGB frame: smooth gradients plus noise.
    std::vector<std::uint8_t> pixels(static_cast<std::size_t>(frame_w) * frame_h * 3);
    std::mt19937 rng(7);
    for (int y = 0; y < frame_h; ++y)
      for (int x = 0; x < frame_w; ++x)
        for (int c = 0; c < 3; ++c)
          pixels[(static_cast<std::size_t>(y) * frame_w + x) * 3 + c] =
              static_cast<std::uint8_t>((x * (c + 1) + y * (3 - c) + static_cast<int>(rng() % 32)) & 255);
    const FrameView frame = FrameView::packed(PixelFormat::kRGB, pixels.data(), frame_w, frame_h, frame_w * 3);

    Series pre, infer, post, total;
    for (int k = 0; k < warmup + iters; ++k) {
      segmenter.segment(frame);
      if (k < warmup) continue;
      const StageTimes& t = segmenter.last_times();
      pre.values.push_back(t.preprocess_ms);
      infer.values.push_back(t.infer_ms);
      post.values.push_back(t.postprocess_ms);
      total.values.push_back(t.total_ms);
    }
    const NetworkInfo& net = segmenter.network();
    if (json) {
      std::printf("{\"runtime\":\"deeplab\",\"model\":\"%s\",\"device\":\"%s\",\"size\":[%d,%d],\"frame\":[%d,%d],"
                  "\"logits\":[%d,%d],\"threads\":%d,\"iters\":%d,\"warmup\":%d,\"load_ms\":%.3f,"
                  "\"preprocess_ms_median\":%.3f,\"infer_ms_median\":%.3f,\"infer_ms_min\":%.3f,"
                  "\"postprocess_ms_median\":%.3f,\"total_ms_median\":%.3f,\"total_ms_min\":%.3f,"
                  "\"nodes\":%d,\"arena_bytes\":%zu,\"final_resize_removed\":%s}\n",
                  json_escape(manifest.file).c_str(), device_name(segmenter.device()), net.input_width, net.input_height,
                  frame_w, frame_h, net.logits_width, net.logits_height, options.threads, iters, warmup, load_ms,
                  pre.median(), infer.median(), infer.min(), post.median(), total.median(), total.min(), net.node_count,
                  net.arena_bytes, net.final_resize_removed ? "true" : "false");
    } else {
      std::printf("%s on %s: input %dx%d, frame %dx%d, logits %dx%d, %d nodes, arena %.1f MiB, load %.0f ms\n",
                  manifest.name.c_str(), device_name(segmenter.device()), net.input_width, net.input_height, frame_w,
                  frame_h, net.logits_width, net.logits_height, net.node_count, net.arena_bytes / 1048576.0, load_ms);
      std::printf("median over %d iters: preprocess %.2f ms, network %.2f ms (min %.2f), upsample+argmax %.2f ms, "
                  "total %.2f ms\n",
                  iters, pre.median(), infer.median(), infer.min(), post.median(), total.median());
    }
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "deeplab-bench: %s\n", e.what());
    return 2;
  }
}
