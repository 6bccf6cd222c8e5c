// deeplab-gpu-streams-bench: issue 15's N-stream benchmark without the tools' OpenCV dependency, so
// that it builds on the lent GPU machine (tests/gpu/device/run-gpu-tests.sh runs 1/2/4/8 streams).
// N threads, stream k segmenting a synthetic frame of its own (the sizes below in turn), either
// through one shared BatchingEngine (batch N) or through N separate Segmenters. One JSON line (or
// text): aggregate frames/s over the wall time of all streams' frames, per-frame latency (the
// segment() call, the batch wait included: median, p95) and the median network call.
//
//   deeplab-gpu-streams-bench --model NAME|PATH --streams N --mode shared|separate [--device cuda|cpu]
//                             [--precision fp32|fp16] [--frames N] [--warmup N] [--timeout MS] [--json]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "bench_stats.h"
#include "cli_args.h"
#include "deeplab/batching.h"
#include "deeplab/segmenter.h"

using namespace deeplab;

namespace {

using Clock = std::chrono::steady_clock;

// Frame sizes the streams take in turn (a camera mix: HD, VGA-ish, odd).
constexpr int kSizes[][2] = {{1280, 720}, {640, 480}, {960, 540}, {513, 289}};

struct Lane {
  std::vector<std::uint8_t> rgb;
  FrameView frame;
  std::unique_ptr<Segmenter> own;
  std::unique_ptr<EngineStream> shared;
  std::vector<double> latency_ms, network_ms;

  explicit Lane(int index) {
    const int w = kSizes[index % 4][0], h = kSizes[index % 4][1];
    rgb.resize(static_cast<std::size_t>(w) * h * 3);
    for (std::size_t i = 0; i < rgb.size(); ++i)
      rgb[i] = static_cast<std::uint8_t>((i * 7 + index * 31 + i / 997) & 255);
    frame = FrameView::packed(PixelFormat::kRGB, rgb.data(), w, h, w * 3);
  }
  void run(int frames, int warmup) {
    for (int k = 0; k < warmup + frames; ++k) {
      const auto start = Clock::now();
      if (own)
        own->segment(frame);
      else
        shared->segment(frame);
      const StageTimes& t = own ? own->last_times() : shared->last_times();
      if (k < warmup) continue;
      latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      network_ms.push_back(t.infer_ms);
    }
  }
};

constexpr const char* kUsage =
    "deeplab-gpu-streams-bench --model NAME|PATH --streams N --mode shared|separate [--device cuda|cpu] "
    "[--precision fp32|fp16] [--frames N] [--warmup N] [--timeout MS] [--json]";

double p95(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(0.95 * v.size()))];
}

}  // namespace

int main(int argc, char** argv) {
  try {
    tools::Args args(argc, argv, kUsage);
    const ModelManifest manifest = resolve_model(args.required("--model"), tools::model_search_from_environment());
    SegmenterOptions options;
    options.device = device_from_string(args.value("--device", "cuda"));
    options.precision = precision_from_string(args.value("--precision", "fp32"));
    const int streams = args.integer("--streams", 1, 1, kMaxBatch);
    const std::string mode = args.value("--mode", "shared");
    BatchOptions batch;
    batch.batch_size = streams;
    batch.timeout_ms = args.integer("--timeout", 10, 0, kMaxBatchTimeoutMs);
    const int frames = args.integer("--frames", 30, 1, 100000), warmup = args.integer("--warmup", 3, 0, 1000);
    const bool json = args.flag("--json");
    args.finish();
    if (mode != "shared" && mode != "separate")
      throw Error(ErrorCode::kInvalidArgument, "--mode must be shared or separate, got '" + mode + "'");

    std::vector<std::unique_ptr<Lane>> lanes;
    std::shared_ptr<BatchingEngine> engine;
    if (mode == "shared") engine = std::make_shared<BatchingEngine>(manifest, options, batch);
    for (int k = 0; k < streams; ++k) {
      lanes.push_back(std::make_unique<Lane>(k));
      if (engine)
        lanes.back()->shared = engine->open_stream();
      else
        lanes.back()->own = std::make_unique<Segmenter>(manifest, options);
    }
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (auto& lane : lanes) threads.emplace_back([&lane, frames, warmup] { lane->run(frames, warmup); });
    for (std::thread& t : threads) t.join();
    const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
    std::vector<double> latency, network;
    for (const auto& lane : lanes) {
      latency.insert(latency.end(), lane->latency_ms.begin(), lane->latency_ms.end());
      network.insert(network.end(), lane->network_ms.begin(), lane->network_ms.end());
    }
    const double fps = streams * (frames + warmup) / wall_s;  // the warm-up frames run in the wall time too
    const char* device = device_name(engine ? engine->device() : lanes[0]->own->device());
    std::printf(json ? "{\"tool\":\"deeplab-gpu-streams-bench\",\"device\":\"%s\",\"precision\":\"%s\",\"mode\":\"%s\","
                       "\"streams\":%d,\"batch\":%d,\"aggregate_fps\":%.2f,\"latency_ms_median\":%.3f,"
                       "\"latency_ms_p95\":%.3f,\"network_ms_median\":%.3f}\n"
                     : "%s %s, %s, %d streams, batch %d: %.1f frames/s, latency median %.2f ms, p95 %.2f ms, "
                       "network call median %.2f ms\n",
                device, options.precision == Precision::kFp16 ? "fp16" : "fp32", mode.c_str(), streams,
                engine ? streams : 1, fps, tools::median(latency), p95(latency), tools::median(network));
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "deeplab-gpu-streams-bench: %s: %s\n", error_code_name(e.code()), e.what());
    return 2;
  }
}
