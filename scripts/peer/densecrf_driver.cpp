// densecrf-driver: times Krähenbühl's densecrf (the C++ core that pydensecrf wraps) on the inputs
// that `deeplab-crf-bench --dump DIR` wrote, so that both CRFs see the same frames, the same class
// probabilities and the same parameters. Built by scripts/bench-pydensecrf.sh against a checkout
// of pydensecrf's densecrf/ outside this repository (its code is never committed here).
//
//   densecrf-driver DIR   -> one JSON line: full and temporal medians per frame
//
// DIR/inputs.txt: width height classes frames iterations temporal_iterations
//                 bilateral_weight bilateral_xy_std bilateral_rgb_std gaussian_weight gaussian_xy_std
//                 position_scale
// DIR/frame-K.ppm (binary P6, RGB) and DIR/prob-K.f32 (width x height x classes floats, pixel-major).
//
// Full mode: the model (unary -log(max(p, 1e-8)), both lattices) built and `iterations` mean-field
// steps from the unary. Temporal mode: the same build, then `temporal_iterations` steps from the
// previous frame's marginals (the project's warm start; densecrf's stepInference does the same
// update). Potts compatibilities and row normalisation (NORMALIZE_AFTER) as in the project's CRF.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "densecrf.h"

namespace {

struct Inputs {
  int width = 0, height = 0, classes = 0, frames = 0, iterations = 0, temporal_iterations = 0;
  float bilateral_weight = 0, bilateral_xy = 0, bilateral_rgb = 0, gaussian_weight = 0, gaussian_xy = 0;
  float position_scale = 1;
};

Inputs read_inputs(const std::string& dir) {
  std::ifstream in(dir + "/inputs.txt");
  Inputs p;
  in >> p.width >> p.height >> p.classes >> p.frames >> p.iterations >> p.temporal_iterations >>
      p.bilateral_weight >> p.bilateral_xy >> p.bilateral_rgb >> p.gaussian_weight >> p.gaussian_xy >>
      p.position_scale;
  if (!in) throw std::runtime_error(dir + "/inputs.txt: unreadable (write it with deeplab-crf-bench --dump)");
  return p;
}

std::vector<unsigned char> read_ppm(const std::string& path, int width, int height) {
  std::ifstream in(path, std::ios::binary);
  std::string magic;
  int w = 0, h = 0, maxval = 0;
  in >> magic >> w >> h >> maxval;
  in.get();
  if (!in || magic != "P6" || w != width || h != height || maxval != 255)
    throw std::runtime_error(path + ": not a " + std::to_string(width) + "x" + std::to_string(height) + " P6 image");
  std::vector<unsigned char> rgb(static_cast<std::size_t>(w) * h * 3);
  in.read(reinterpret_cast<char*>(rgb.data()), static_cast<std::streamsize>(rgb.size()));
  if (!in) throw std::runtime_error(path + ": truncated");
  return rgb;
}

// -log(max(p, 1e-8)), classes x pixels as densecrf stores it.
MatrixXf read_unary(const std::string& path, int pixels, int classes) {
  std::ifstream in(path, std::ios::binary);
  std::vector<float> p(static_cast<std::size_t>(pixels) * classes);
  in.read(reinterpret_cast<char*>(p.data()), static_cast<std::streamsize>(p.size() * sizeof(float)));
  if (!in) throw std::runtime_error(path + ": missing or truncated");
  MatrixXf unary(classes, pixels);
  for (int i = 0; i < pixels; ++i)
    for (int k = 0; k < classes; ++k)
      unary(k, i) = -std::log(std::max(p[static_cast<std::size_t>(i) * classes + k], 1e-8f));
  return unary;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// Wall and process CPU milliseconds (on a machine shared with other work, CPU time is the better
// estimate of an idle machine's wall time for this single-threaded code).
struct Stopwatch {
  std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
  double cpu = cpu_ms();
  static double cpu_ms() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
  }
  void stop(std::vector<double>& wall_ms, std::vector<double>& cpu_ms_out) const {
    wall_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall).count());
    cpu_ms_out.push_back(cpu_ms() - cpu);
  }
};

// One frame: the model built, then `steps` updates from `q` (from the unary when q is empty).
void run_frame(const Inputs& p, const std::vector<unsigned char>& rgb, const MatrixXf& unary, int steps, MatrixXf& q) {
  DenseCRF2D crf(p.width, p.height, p.classes);
  crf.setUnaryEnergy(unary);
  const float s = p.position_scale;
  crf.addPairwiseGaussian(p.gaussian_xy * s, p.gaussian_xy * s, new PottsCompatibility(p.gaussian_weight),
                          DIAG_KERNEL, NORMALIZE_AFTER);
  crf.addPairwiseBilateral(p.bilateral_xy * s, p.bilateral_xy * s, p.bilateral_rgb, p.bilateral_rgb, p.bilateral_rgb,
                           rgb.data(), new PottsCompatibility(p.bilateral_weight), DIAG_KERNEL, NORMALIZE_AFTER);
  if (q.size() == 0) q = crf.startInference();
  MatrixXf tmp1, tmp2;
  for (int it = 0; it < steps; ++it) crf.stepInference(q, tmp1, tmp2);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc != 2) throw std::runtime_error("usage: densecrf-driver DIR (written by deeplab-crf-bench --dump DIR)");
    const std::string dir = argv[1];
    const Inputs p = read_inputs(dir);
    std::vector<std::vector<unsigned char>> frames;
    std::vector<MatrixXf> unaries;
    for (int k = 0; k < p.frames; ++k) {
      frames.push_back(read_ppm(dir + "/frame-" + std::to_string(k) + ".ppm", p.width, p.height));
      unaries.push_back(read_unary(dir + "/prob-" + std::to_string(k) + ".f32", p.width * p.height, p.classes));
    }
    std::vector<double> full, full_cpu, temporal, temporal_cpu;
    MatrixXf warm;
    for (int k = 0; k < p.frames; ++k) {
      MatrixXf q;
      const Stopwatch cold;
      run_frame(p, frames[k], unaries[k], p.iterations, q);
      cold.stop(full, full_cpu);
      if (k == 0) {
        warm = q;
        continue;
      }
      const Stopwatch warm_frame;
      run_frame(p, frames[k], unaries[k], p.temporal_iterations, warm);
      warm_frame.stop(temporal, temporal_cpu);
    }
    std::printf("{\"peer\": \"densecrf (pydensecrf's C++ core)\", \"crf_size\": \"%dx%d\", \"classes\": %d, "
                "\"threads\": 1, \"frames\": %d, \"iterations\": %d, \"temporal_iterations\": %d, "
                "\"full_ms_median\": %.2f, \"full_cpu_ms_median\": %.2f, \"temporal_ms_median\": %.2f, "
                "\"temporal_cpu_ms_median\": %.2f}\n",
                p.width, p.height, p.classes, p.frames, p.iterations, p.temporal_iterations, median(full),
                median(full_cpu), median(temporal), median(temporal_cpu));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "densecrf-driver: %s\n", e.what());
    return 1;
  }
}
