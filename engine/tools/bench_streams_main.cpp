// deeplab-bench-streams: N streams, each on its own thread with frames of its own video (the clips
// in turn), segmented either by N separate Segmenters or by streams of one shared BatchingEngine
// (deeplab/batching.h). Prints one JSON line (or a text line): aggregate frames/s over the measured
// frames, per-stream latency (segment() call to result: median and p95 over all streams' frames,
// the batch wait included) and the process's peak resident memory. One configuration per process,
// so that the resident memory is this configuration's; scripts/bench-streams.sh runs the table.
//
//   deeplab-bench-streams --model NAME --streams 4 --mode shared --batch 4 [--timeout MS]
//                         [--threads N] [--frames N] [--warmup N] [--clips A.mp4,B.mp4,...] [--json]
//                         [--device cpu|cuda] [--precision fp32|fp16]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_frames.h"
#include "bench_stats.h"
#include "cli_args.h"
#include "deeplab/batching.h"
#include "deeplab/segmenter.h"

using namespace deeplab;

namespace {

using Clock = std::chrono::steady_clock;

struct Setup {
  std::string model, mode;
  SegmenterOptions options;
  BatchOptions batch;
  int streams = 1, frames = 30, warmup = 3;
  std::vector<std::string> clips;
  bool json = false;
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

Setup parse(int argc, char** argv) {
  tools::Args args(argc, argv,
                   "deeplab-bench-streams --model NAME|PATH --clips A.mp4,B.mp4,... [--streams N] [--mode shared|separate] "
                   "[--batch N] [--timeout MS] [--threads N] [--frames N] [--warmup N] [--json] [--device cpu|cuda] "
                   "[--precision fp32|fp16]\n"
                   "  stream k plays clip k modulo the list; shared: one BatchingEngine (batch N, timeout MS), "
                   "separate: a Segmenter per stream");
  Setup s;
  s.model = args.required("--model");
  s.clips = split_list(args.required("--clips"));
  s.streams = args.integer("--streams", 1, 1, kMaxBatch);
  s.mode = args.value("--mode", "shared");
  if (s.mode != "shared" && s.mode != "separate")
    throw Error(ErrorCode::kInvalidArgument, "--mode must be shared or separate, got '" + s.mode + "'");
  s.batch.batch_size = args.integer("--batch", s.streams, 1, kMaxBatch);
  s.batch.timeout_ms = args.integer("--timeout", 10, 0, kMaxBatchTimeoutMs);
  s.options.device = device_from_string(args.value("--device", "cpu"));
  s.options.precision = precision_from_string(args.value("--precision", "fp32"));
  s.options.threads = args.integer("--threads", 0, 0, kMaxThreads);
  s.frames = args.integer("--frames", 30, 1, 100000);
  s.warmup = args.integer("--warmup", 3, 0, 1000);
  s.json = args.flag("--json");
  args.finish();
  if (s.clips.empty()) throw Error(ErrorCode::kInvalidArgument, "--clips lists no file");
  return s;
}

// Peak resident memory of this process (VmHWM), KiB.
long peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// One stream's segment(): a Segmenter of its own or a shared engine's stream.
struct Stream {
  std::unique_ptr<Segmenter> own;
  std::unique_ptr<EngineStream> shared;
  std::unique_ptr<tools::FrameSource> frames;
  std::vector<double> latency_ms, network_ms;  // network_ms: the network call its frame was in
  void segment() {
    const FrameView frame = frames->next();
    if (own) own->segment(frame);
    else shared->segment(frame);
  }
  double last_network_ms() const { return own ? own->last_times().infer_ms : shared->last_times().infer_ms; }
};

struct Measured {
  double wall_s = 0;
  std::vector<double> latency_ms, network_ms;
};

Measured run_streams(const Setup& s, std::vector<Stream>& streams) {
  auto body = [&](Stream& stream) {
    for (int k = 0; k < s.warmup; ++k) stream.segment();
    for (int k = 0; k < s.frames; ++k) {
      const auto t0 = Clock::now();
      stream.segment();
      stream.latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      stream.network_ms.push_back(stream.last_network_ms());
    }
  };
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (Stream& stream : streams) threads.emplace_back(body, std::ref(stream));
  for (auto& t : threads) t.join();
  Measured m;
  m.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  for (const Stream& stream : streams) {
    m.latency_ms.insert(m.latency_ms.end(), stream.latency_ms.begin(), stream.latency_ms.end());
    m.network_ms.insert(m.network_ms.end(), stream.network_ms.begin(), stream.network_ms.end());
  }
  return m;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5))];
}

void report(const Setup& s, const Measured& m) {
  // The warm-up frames run in the wall time too (the streams start together): counted.
  const double fps = static_cast<double>(s.streams) * (s.frames + s.warmup) / m.wall_s;
  const double med = tools::median(m.latency_ms), p95 = percentile(m.latency_ms, 0.95);
  const double network = tools::median(m.network_ms);
  const int batch = s.mode == "shared" ? s.batch.batch_size : 1;
  if (s.json)
    std::printf("{\"tool\":\"deeplab-bench-streams\",\"model\":\"%s\",\"device\":\"%s\",\"mode\":\"%s\","
                "\"streams\":%d,\"batch\":%d,\"timeout_ms\":%d,\"threads\":%d,\"frames_per_stream\":%d,"
                "\"aggregate_fps\":%.2f,"
                "\"latency_ms_median\":%.2f,\"latency_ms_p95\":%.2f,\"network_ms_median\":%.2f,\"peak_rss_mib\":%.1f}\n",
                tools::json_escape(s.model).c_str(), device_name(s.options.device), s.mode.c_str(), s.streams, batch,
                s.batch.timeout_ms, s.options.threads, s.frames, fps, med, p95, network, peak_rss_kib() / 1024.0);
  else
    std::printf("%s, %d streams, batch %d: %.1f frames/s, latency median %.1f ms, p95 %.1f ms, network call median "
                "%.1f ms, peak RSS %.0f MiB\n",
                s.mode.c_str(), s.streams, batch, fps, med, p95, network, peak_rss_kib() / 1024.0);
}

int run(const Setup& s) {
  const ModelManifest manifest = resolve_model(s.model, tools::model_search_from_environment());
  std::shared_ptr<BatchingEngine> engine;
  if (s.mode == "shared") engine = std::make_shared<BatchingEngine>(manifest, s.options, s.batch);
  std::vector<Stream> streams(static_cast<std::size_t>(s.streams));
  for (int k = 0; k < s.streams; ++k) {
    Stream& stream = streams[k];
    stream.frames = tools::load_video_frames(s.clips[k % s.clips.size()], s.frames + s.warmup, 0, 0);
    if (engine) stream.shared = engine->open_stream();
    else stream.own = std::make_unique<Segmenter>(manifest, s.options);
  }
  report(s, run_streams(s, streams));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return tools::run_tool("deeplab-bench-streams", [&] { return run(parse(argc, argv)); });
}
