// deeplab-crf-bench: CPU time of the dense CRF alone (no network), full and temporal mode.
//   deeplab-crf-bench (--image PATH | --images DIR) [--size WxH] [--classes N] [--iterations N]
//                     [--temporal-iterations N] [--frames N] [--threads N] [--crf-scale S]
//                     [--dump DIR] [--json]
// Frames are the image (every frame the same) or the first --frames images of DIR in file-name
// order (e.g. consecutive CamVid frames), resized to --size; with --crf-scale S the CRF works on
// them resized to S x --size with the positional stds times S, as the Segmenter's crf-scale does
// (the resizing itself is not timed). --dump DIR writes the CRF's inputs (frames as PPM,
// probabilities as raw floats, sizes and parameters in inputs.txt) for scripts/bench-pydensecrf.sh,
// so that the peer CRF gets exactly the same work;
// the class probabilities are a smooth random field (the CRF's cost does not depend on them).
// Reports per-frame medians: full mode (--iterations from the unary), the lattice build alone
// (1 iteration minus one iteration's share), and temporal mode's warm-started frames; each as wall
// time and as process CPU time (on a machine shared with other work, CPU time / threads is the
// better estimate of what an idle machine's wall time would be).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>
#include <vector>

#include "bench_stats.h"
#include "cli_args.h"
#include "deeplab/crf.h"
#include "deeplab/error.h"
#include "deeplab/segmenter.h"
#include "image_file.h"

using namespace deeplab;

namespace {

using tools::median;

using Clock = std::chrono::steady_clock;

double cpu_ms_now() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

// Wall and process CPU milliseconds of one call.
struct Timing {
  double wall = 0, cpu = 0;
};
template <class F>
Timing timing(F&& fn) {
  const auto start = Clock::now();
  const double cpu = cpu_ms_now();
  fn();
  return {std::chrono::duration<double, std::milli>(Clock::now() - start).count(), cpu_ms_now() - cpu};
}

struct Series {
  std::vector<double> wall, cpu;
  void add(const Timing& t) {
    wall.push_back(t.wall);
    cpu.push_back(t.cpu);
  }
};


// RGB frames at the benchmark size.
std::vector<cv::Mat> load_frames(const std::string& image, const std::string& dir, int w, int h, int count) {
  std::vector<cv::Mat> frames;
  const auto add = [&](const std::string& path) {
    const cv::Mat bgr = tools::read_image(path, cv::IMREAD_COLOR, tools::WhenTruncated::kWarn);
    cv::Mat rgb, sized;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    cv::resize(rgb, sized, cv::Size(w, h), 0, 0, cv::INTER_AREA);
    frames.push_back(sized);
  };
  if (!image.empty()) {
    for (int k = 0; k < count; ++k) add(image);
    return frames;
  }
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_regular_file()) files.push_back(entry.path().string());
  if (ec || files.empty()) throw Error(ErrorCode::kIo, "--images: no images in " + dir);
  std::sort(files.begin(), files.end());
  for (int k = 0; k < count && k < static_cast<int>(files.size()); ++k) add(files[k]);
  return frames;
}

// Softmax of bilinearly interpolated random logits on a coarse grid: smooth regions, soft edges.
std::vector<float> smooth_probabilities(int w, int h, int classes, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 2.5f);
  const int gw = 9, gh = 7;
  std::vector<float> grid(static_cast<std::size_t>(gw) * gh * classes);
  for (float& v : grid) v = dist(rng);
  std::vector<float> p(static_cast<std::size_t>(w) * h * classes);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const float gx = static_cast<float>(x) * (gw - 1) / std::max(1, w - 1),
                  gy = static_cast<float>(y) * (gh - 1) / std::max(1, h - 1);
      const int x0 = std::min(static_cast<int>(gx), gw - 2), y0 = std::min(static_cast<int>(gy), gh - 2);
      const float fx = gx - x0, fy = gy - y0;
      float* out = p.data() + (static_cast<std::size_t>(y) * w + x) * classes;
      float peak = -1e30f, sum = 0;
      for (int c = 0; c < classes; ++c) {
        const auto at = [&](int xx, int yy) { return grid[(static_cast<std::size_t>(yy) * gw + xx) * classes + c]; };
        out[c] = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
                 fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
        peak = std::max(peak, out[c]);
      }
      for (int c = 0; c < classes; ++c) sum += out[c] = std::exp(out[c] - peak);
      for (int c = 0; c < classes; ++c) out[c] /= sum;
    }
  return p;
}

struct BenchConfig {
  int w = 480, h = 360, classes = 21, iterations = 10, temporal_iterations = 2, threads = 0;
  int frame_w = 480, frame_h = 360;  // --size; w x h is where the CRF works (--crf-scale)
  float crf_scale = 1.0f;
  bool json = false;
  std::string source;
};

struct BenchInputs {  // at the CRF's size
  std::vector<cv::Mat> frames;
  std::vector<std::vector<float>> probabilities;
  CrfImage image(std::size_t k, const BenchConfig& c) const {
    return CrfImage{frames[k].data, c.w, c.h, static_cast<int>(frames[k].step[0])};
  }
};

// Full mode per frame: --iterations, 1 and 0 iterations (the lattice build alone).
void measure_full(const BenchConfig& c, const BenchInputs& in, Series& full, Series& one, Series& none) {
  CrfOptions options;
  options.params.iterations = c.iterations;
  DenseCrf crf(Device::kCpu, c.threads);
  std::vector<float> q(static_cast<std::size_t>(c.w) * c.h * c.classes);
  const auto timed = [&](std::size_t k, int iters) {
    return timing([&] {
      crf.infer(in.image(k, c), in.probabilities[k].data(), c.classes, options.params, iters, false, q.data(),
                c.crf_scale);
    });
  };
  timed(0, c.iterations);  // warm-up: buffers sized
  for (std::size_t k = 0; k < in.frames.size(); ++k) {
    full.add(timed(k, c.iterations));
    one.add(timed(k, 1));
    none.add(timed(k, 0));
  }
}

// Temporal mode: the warm-started frames of a second pass over the frames.
Series measure_temporal(const BenchConfig& c, const BenchInputs& in) {
  CrfOptions options;
  options.params.iterations = c.iterations;
  options.temporal_iterations = c.temporal_iterations;
  options.mode = CrfMode::kTemporal;
  options.keyframe_interval = 0;
  options.scene_cut_threshold = 1.0f;  // every frame after the first warm-starts
  CrfStream stream(options, Device::kCpu, c.threads);
  Series warm;
  for (int pass = 0; pass < 2; ++pass)
    for (std::size_t k = 0; k < in.frames.size(); ++k) {
      const Timing t =
          timing([&] { stream.process(in.image(k, c), in.probabilities[k].data(), c.classes, c.crf_scale); });
      if (pass == 1 && stream.last_report().warm_started) warm.add(t);
    }
  return warm;
}

// The inputs for the peer CRF's driver (scripts/peer/densecrf_driver.cpp reads this layout).
void dump_inputs(const std::string& dir, const BenchConfig& c, const BenchInputs& in) {
  std::filesystem::create_directories(dir);
  const CrfParams p;
  std::FILE* meta = std::fopen((dir + "/inputs.txt").c_str(), "w");
  if (!meta) throw Error(ErrorCode::kIo, "--dump: cannot write " + dir + "/inputs.txt");
  std::fprintf(meta, "%d %d %d %zu %d %d %.9g %.9g %.9g %.9g %.9g %.9g\n", c.w, c.h, c.classes, in.frames.size(),
               c.iterations, c.temporal_iterations, p.bilateral_weight, p.bilateral_xy_std, p.bilateral_rgb_std,
               p.gaussian_weight, p.gaussian_xy_std, c.crf_scale);
  std::fclose(meta);
  for (std::size_t k = 0; k < in.frames.size(); ++k) {
    const std::string name = dir + "/frame-" + std::to_string(k);
    cv::Mat bgr;
    cv::cvtColor(in.frames[k], bgr, cv::COLOR_RGB2BGR);
    if (!cv::imwrite(name + ".ppm", bgr)) throw Error(ErrorCode::kIo, "--dump: cannot write " + name + ".ppm");
    const std::string prob = dir + "/prob-" + std::to_string(k) + ".f32";
    std::FILE* f = std::fopen(prob.c_str(), "wb");
    const std::size_t count = in.probabilities[k].size();
    const bool ok = f && std::fwrite(in.probabilities[k].data(), sizeof(float), count, f) == count;
    if (f) std::fclose(f);
    if (!ok) throw Error(ErrorCode::kIo, "--dump: cannot write " + prob);
  }
}

void print_report(const BenchConfig& c, std::size_t frames, const Series& full, const Series& one,
                  const Series& none, const Series& warm) {
  const auto per_iteration = [&](const std::vector<double>& f, const std::vector<double>& o) {
    return (median(f) - median(o)) / std::max(1, c.iterations - 1);
  };
  const double iteration_wall = per_iteration(full.wall, one.wall), iteration_cpu = per_iteration(full.cpu, one.cpu);
  if (c.json) {
    std::printf(
        "{\"size\": \"%dx%d\", \"crf_scale\": %.2f, \"crf_size\": \"%dx%d\", \"classes\": %d, \"threads\": %d, "
        "\"source\": \"%s\", \"frames\": %zu, "
        "\"iterations\": %d, \"temporal_iterations\": %d, "
        "\"full_ms_median\": %.2f, \"full_cpu_ms_median\": %.2f, "
        "\"ms_per_iteration\": %.2f, \"cpu_ms_per_iteration\": %.2f, "
        "\"setup_ms\": %.2f, \"setup_cpu_ms\": %.2f, \"inputs_ms\": %.2f, "
        "\"temporal_ms_median\": %.2f, \"temporal_cpu_ms_median\": %.2f, "
        "\"temporal_over_full\": %.3f, \"temporal_over_full_cpu\": %.3f}\n",
        c.frame_w, c.frame_h, c.crf_scale, c.w, c.h, c.classes, c.threads, c.source.c_str(), frames, c.iterations,
        c.temporal_iterations,
        median(full.wall), median(full.cpu), iteration_wall, iteration_cpu, median(one.wall) - iteration_wall,
        median(one.cpu) - iteration_cpu, median(none.wall), median(warm.wall), median(warm.cpu),
        median(warm.wall) / median(full.wall), median(warm.cpu) / median(full.cpu));
    return;
  }
  std::printf("dense CRF, CPU, %dx%d (CRF at %dx%d), %d classes, threads %d (0 = all), %zu frames of %s\n",
              c.frame_w, c.frame_h, c.w, c.h, c.classes, c.threads, frames, c.source.c_str());
  std::printf("                                      wall ms    CPU ms (medians per frame)\n");
  std::printf("  full (%2d iterations)              %8.1f  %8.1f\n", c.iterations, median(full.wall),
              median(full.cpu));
  std::printf("    per iteration                    %8.1f  %8.1f\n", iteration_wall, iteration_cpu);
  std::printf("    inputs + lattices                %8.1f  %8.1f\n", median(one.wall) - iteration_wall,
              median(one.cpu) - iteration_cpu);
  std::printf("  temporal, warm frame (%d iter.)    %8.1f  %8.1f   (%.2f / %.2f of full)\n", c.temporal_iterations,
              median(warm.wall), median(warm.cpu), median(warm.wall) / median(full.wall),
              median(warm.cpu) / median(full.cpu));
}

}  // namespace

int main(int argc, char** argv) {
  static const int kFailure = 1;
  return tools::run_tool("deeplab-crf-bench", [&] {
    tools::Args args(argc, argv,
                     "deeplab-crf-bench (--image PATH | --images DIR) [--size WxH] [--classes N] [--iterations N] "
                     "[--temporal-iterations N] [--frames N] [--threads N] [--crf-scale S] [--dump DIR] [--json]");
    const std::string image = args.value("--image"), dir = args.value("--images");
    BenchConfig c;
    args.size("--size", c.frame_w, c.frame_h);
    c.crf_scale = static_cast<float>(args.real("--crf-scale", 1.0, 0.05, 1.0));
    c.w = std::max(1, static_cast<int>(std::lround(c.frame_w * c.crf_scale)));
    c.h = std::max(1, static_cast<int>(std::lround(c.frame_h * c.crf_scale)));
    const std::string dump = args.value("--dump");
    c.classes = args.integer("--classes", 21, 1, 256);
    c.iterations = args.integer("--iterations", 10, 1, 1000);
    c.temporal_iterations = args.integer("--temporal-iterations", 2, 1, 1000);
    const int frame_count = args.integer("--frames", 10, 2, 100000);
    c.threads = args.integer("--threads", 0, 0, kMaxThreads);
    c.json = args.flag("--json");
    args.finish();
    if (image.empty() == dir.empty()) throw Error(ErrorCode::kInvalidArgument, "give one of --image or --images");
    c.source = image.empty() ? dir : image;

    BenchInputs in;
    in.frames = load_frames(image, dir, c.w, c.h, frame_count);
    for (std::size_t k = 0; k < in.frames.size(); ++k)
      in.probabilities.push_back(smooth_probabilities(c.w, c.h, c.classes, 100 + static_cast<unsigned>(k)));
    if (!dump.empty()) dump_inputs(dump, c, in);
    Series full, one, none;
    measure_full(c, in, full, one, none);
    const Series warm = measure_temporal(c, in);
    print_report(c, in.frames.size(), full, one, none, warm);
    return 0;
  }, &kFailure);
}
