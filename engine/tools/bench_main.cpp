// deeplab-bench: per-stage timings of frame -> class map (and the dense CRF's, with --crf).
//   deeplab-bench --model NAME|PATH [--device D] [--precision fp32|fp16] [--size WxH] [--aspect stretch|keep] [--frame WxH]
//                 [--threads N] [--iters N] [--warmup N] [--json] [--frames-from VIDEO] [--in-flight 1|2]
//                 [--crf off|full|temporal ...]
// --size is the network input size; --frame the frame size (default: the network input size, or
// the video's size). What the frames are and what is measured: kFrameSourceHelp (--help).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "bench_frames.h"
#include "bench_stats.h"
#include "cli_args.h"
#include "crf_args.h"
#include "deeplab/segmenter.h"

using namespace deeplab;

namespace {

using tools::json_escape;
using tools::Series;

struct Measured {
  Series pre, infer, post, crf, total;
  Series upload, download;  // CUDA: frame to the device, class map back (0 on the CPU)
  std::vector<int> crf_iterations;
  int crf_full_frames = 0;  // measured frames that ran full iterations (keyframes, scene cuts)
  CrfFrameReport first;     // the stream's first frame after the reset
  double first_crf_ms = 0;
  double loop_ms = 0;       // wall time of the measured frames
  double fps(int frames) const { return loop_ms > 0 ? 1000.0 * frames / loop_ms : 0; }
};

// The measured frames go through submit()/collect() with `in_flight` frames in flight (1: each
// collected before the next is submitted, as segment()); fps is frames over the loop's wall time,
// total_ms each frame's latency from submit to collect.
Measured run_bench(Segmenter& segmenter, tools::FrameSource& stream, int warmup, int iters, int in_flight) {
  for (int k = 0; k < warmup; ++k) segmenter.segment(stream.next());
  segmenter.reset_stream();
  Measured m;
  m.first = segmenter.segment(stream.next()).crf;
  m.first_crf_ms = segmenter.last_times().crf_ms;
  const auto loop_start = std::chrono::steady_clock::now();
  int submitted = 0;
  for (int k = 0; k < iters; ++k) {
    while (submitted < iters && segmenter.pending() < in_flight) {
      segmenter.submit(stream.next());
      ++submitted;
    }
    const CrfFrameReport report = segmenter.collect()->crf;
    const StageTimes& t = segmenter.last_times();
    m.pre.values.push_back(t.preprocess_ms);
    m.upload.values.push_back(t.upload_ms);
    m.download.values.push_back(t.download_ms);
    m.infer.values.push_back(t.infer_ms);
    m.post.values.push_back(t.postprocess_ms);
    m.crf.values.push_back(t.crf_ms);
    m.total.values.push_back(t.total_ms);
    m.crf_iterations.push_back(report.iterations);
    if (report.iterations > 0 && !report.warm_started) ++m.crf_full_frames;
  }
  m.loop_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - loop_start).count();
  return m;
}

int median_int(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

const char* const kInFlightHelp =
    "--in-flight 2: the measured frames go through Segmenter::submit/collect with two frames in flight (on\n"
    "  CUDA the next frame's upload and the previous one's download overlap the compute); fps is frames over\n"
    "  the loop's wall time, latency each frame's submit -> collect. On the CPU submit() runs the frame, so\n"
    "  the figures equal --in-flight 1's.\n";

struct Setup {
  std::string model;
  SegmenterOptions options;
  int frame_w = 0, frame_h = 0;
  int iters = 20, warmup = 3;
  int in_flight = 1;  // frames in flight in the measured loop (Segmenter::submit/collect)
  bool json = false;
  std::string frames_from;  // a video; empty: the synthetic stream
};

Setup parse(int argc, char** argv) {
  tools::Args args(argc, argv,
                   std::string("deeplab-bench --model NAME|PATH [--device cpu|cuda|auto] [--precision fp32|fp16] "
                               "[--size WxH] [--aspect stretch|keep] [--frame WxH] [--threads N] [--iters N] [--warmup N] [--json] "
                               "[--frames-from VIDEO] [--in-flight 1|2] ") +
                       tools::kCrfUsage + "\n" + tools::kFrameSourceHelp + kInFlightHelp + tools::kCrfHelp);
  Setup s;
  s.model = args.required("--model");
  s.options.device = device_from_string(args.value("--device", "auto"));
  s.options.precision = precision_from_string(args.value("--precision", "fp32"));
  s.options.threads = args.integer("--threads", 0, 0, kMaxThreads);
  args.size("--size", s.options.input_width, s.options.input_height);
  s.options.aspect = aspect_from_string(args.value("--aspect", "stretch"));
  args.size("--frame", s.frame_w, s.frame_h);
  s.iters = args.integer("--iters", 20, 1, 1000000);
  s.warmup = args.integer("--warmup", 3, 0, 1000000);
  s.json = args.flag("--json");
  s.in_flight = args.integer("--in-flight", 1, 1, Segmenter::kMaxInFlight);
  s.frames_from = args.value("--frames-from");
  s.options.crf = tools::read_crf_options(args);
  s.options.profile = tools::environment_flag("DEEPLAB_PROFILE", false);
  s.options.cuda_graph = tools::environment_flag("DEEPLAB_CUDA_GRAPH", true);
  args.finish();
  return s;
}

void print_json(const Setup& s, const Segmenter& segmenter, double load_ms, const Measured& m) {
  const NetworkInfo& net = segmenter.network();
  const CrfOptions& crf = s.options.crf;
  std::printf("{\"runtime\":\"deeplab\",\"model\":\"%s\",\"device\":\"%s\",\"frames\":\"%s\","
              "\"size\":[%d,%d],\"frame\":[%d,%d],\"logits\":[%d,%d],\"threads\":%d,\"iters\":%d,\"warmup\":%d,\"load_ms\":%.3f,"
              "\"preprocess_ms_median\":%.3f,\"infer_ms_median\":%.3f,\"infer_ms_min\":%.3f,"
              "\"postprocess_ms_median\":%.3f,\"total_ms_median\":%.3f,\"total_ms_min\":%.3f,"
              "\"nodes\":%d,\"arena_bytes\":%zu,\"final_resize_removed\":%s,",
              json_escape(segmenter.manifest().file).c_str(), device_name(segmenter.device()),
              json_escape(s.frames_from.empty() ? "synthetic" : s.frames_from).c_str(), net.input_width,
              net.input_height, s.frame_w, s.frame_h, net.logits_width, net.logits_height, s.options.threads, s.iters,
              s.warmup, load_ms, m.pre.median(), m.infer.median(), m.infer.min(), m.post.median(), m.total.median(),
              m.total.min(), net.node_count, net.arena_bytes, net.final_resize_removed ? "true" : "false");
  // CUDA's stages around the network (0 on the CPU, which runs fp32 whatever was asked).
  std::printf("\"precision\":\"%s\",\"upload_ms_median\":%.3f,\"download_ms_median\":%.3f,",
              segmenter.device() == Device::kCuda && s.options.precision == Precision::kFp16 ? "fp16" : "fp32",
              m.upload.median(), m.download.median());
  std::printf("\"in_flight\":%d,\"fps\":%.2f,\"latency_ms_median\":%.3f,", s.in_flight, m.fps(s.iters),
              m.total.median());
  std::printf("\"crf\":\"%s\",\"crf_scale\":%g,\"crf_iterations\":%d,\"crf_temporal_iterations\":%d,"
              "\"crf_keyframe_interval\":%d,\"crf_ms_median\":%.3f,\"crf_ms_min\":%.3f,\"crf_ms_mean\":%.3f,"
              "\"crf_iterations_median\":%d,\"crf_full_frames\":%d,\"crf_first_frame_ms\":%.3f,"
              "\"crf_first_frame_iterations\":%d}\n",
              crf_mode_name(crf.mode), crf.scale, crf.params.iterations, crf.temporal_iterations,
              crf.keyframe_interval, m.crf.median(), m.crf.min(), m.crf.mean(), median_int(m.crf_iterations),
              m.crf_full_frames, m.first_crf_ms, m.first.iterations);
}

void print_text(const Setup& s, const Segmenter& segmenter, double load_ms, const Measured& m) {
  const NetworkInfo& net = segmenter.network();
  std::printf("%s on %s: %s frames, input %dx%d, frame %dx%d, logits %dx%d, %d nodes, arena %.1f MiB, load %.0f ms\n",
              segmenter.manifest().name.c_str(), device_name(segmenter.device()),
              s.frames_from.empty() ? "synthetic" : s.frames_from.c_str(), net.input_width, net.input_height, s.frame_w,
              s.frame_h, net.logits_width, net.logits_height, net.node_count, net.arena_bytes / 1048576.0, load_ms);
  std::printf("median over %d frames: preprocess %.2f ms, network %.2f ms (min %.2f), upsample+argmax %.2f ms, "
              "crf %.2f ms, total %.2f ms\n",
              s.iters, m.pre.median(), m.infer.median(), m.infer.min(), m.post.median(), m.crf.median(),
              m.total.median());
  std::printf("%d in flight: %.1f frames/s, latency (submit -> collect) %.2f ms median\n", s.in_flight,
              m.fps(s.iters), m.total.median());
  if (segmenter.device() == Device::kCuda)
    std::printf("cuda %s: upload %.3f ms, download %.3f ms (medians)\n",
                s.options.precision == Precision::kFp16 ? "fp16" : "fp32", m.upload.median(), m.download.median());
  const CrfOptions& crf = s.options.crf;
  if (crf.mode == CrfMode::kOff) return;
  std::printf("crf %s at scale %g: median %.2f ms (min %.2f, mean %.2f), %d iterations per frame (median); "
              "%d of %d frames ran full iterations; the stream's first frame: %s\n",
              crf_mode_name(crf.mode), crf.scale, m.crf.median(), m.crf.min(), m.crf.mean(),
              median_int(m.crf_iterations), m.crf_full_frames, s.iters, tools::describe_crf_report(m.first).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  return tools::run_tool("deeplab-bench", [&] {
    Setup s = parse(argc, argv);
    const ModelManifest manifest = resolve_model(s.model, tools::model_search_from_environment());
    const auto load_start = std::chrono::steady_clock::now();
    Segmenter segmenter(manifest, s.options);
    const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
    std::unique_ptr<tools::FrameSource> frames;
    if (!s.frames_from.empty()) {
      frames = tools::load_video_frames(s.frames_from, s.warmup + 1 + s.iters, s.frame_w, s.frame_h);
    } else {
      if (s.frame_w == 0) s.frame_w = segmenter.network().input_width, s.frame_h = segmenter.network().input_height;
      frames = tools::make_synthetic_stream(s.frame_w, s.frame_h);
    }
    s.frame_w = frames->width(), s.frame_h = frames->height();
    const Measured m = run_bench(segmenter, *frames, s.warmup, s.iters, s.in_flight);
    if (s.json) print_json(s, segmenter, load_ms, m);
    else print_text(s, segmenter, load_ms, m);
    return 0;
  });
}
