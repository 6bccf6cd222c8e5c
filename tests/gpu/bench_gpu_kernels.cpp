// deeplab-gpu-bench: times the pre/post-processing kernels and the dense CRF on the GPU (CUDA events,
// median of --runs launches after warm-up; at most 30 for the CRF) at the sizes a DeepLab deployment
// sees, and prints a table plus one JSON line. Not a test: no timing is asserted anywhere.
//
//   deeplab-gpu-bench [--runs N]
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "crf_cases.h"
#include "cuda/crf/cuda_crf.h"
#include "cuda/cuda_postprocess.h"
#include "cuda/cuda_preprocess.h"
#include "cuda/cuda_resources.h"
#include "gpu_cases.h"
#include "postprocess/interpolate.h"

using namespace deeplab;
using namespace deeplab::cuda;
using namespace deeplab::test;

namespace {

struct Result {
  std::string name;
  double median_ms, min_ms;
};

Result time_it(const std::string& name, int runs, cudaStream_t stream, const std::function<void()>& enqueue) {
  for (int i = 0; i < 10; ++i) enqueue();
  std::vector<Event> starts, ends;
  for (int i = 0; i < runs; ++i) {
    starts.emplace_back(true);
    ends.emplace_back(true);
  }
  for (int i = 0; i < runs; ++i) {
    starts[i].record(stream);
    enqueue();
    ends[i].record(stream);
  }
  ends.back().synchronize();
  std::vector<double> ms(runs);
  for (int i = 0; i < runs; ++i) ms[i] = Event::elapsed_ms(starts[i], ends[i]);
  std::sort(ms.begin(), ms.end());
  return {name, ms[runs / 2], ms[0]};
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 200;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::max(1, std::atoi(argv[i + 1]));
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    std::printf("no CUDA GPU: nothing to time\n");
    return 0;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  try {
    Stream stream;
    std::vector<Result> results;

    // Post-processing: 65x65x21 logits (DeepLabv3 at 513x513, output stride 8) -> 1920x1080.
    ResizeAttrs a;
    a.mode = ResizeAttrs::kLinear;
    a.coord = ResizeAttrs::kHalfPixel;
    const int in = 65, c = 21, out_w = 1920, out_h = 1080;
    const ResampleGeometry geo = make_resample_geometry(in, in, c, out_h, out_w, float(out_h) / in, float(out_w) / in, a);
    const std::vector<float> host_logits = random_logits(in, in, c, 1);
    DeviceBuffer<float> logits(host_logits.size());
    logits.upload(host_logits.data(), host_logits.size(), stream.get());
    DeviceBuffer<std::uint8_t> classes(static_cast<std::size_t>(out_w) * out_h);
    DeviceBuffer<float> planes(static_cast<std::size_t>(out_w) * out_h * c);
    CudaPostprocess post;
    for (bool staged : {true, false}) {
      post.prepare(geo, stream.get(), staged ? kDefaultStagingBytes : 0);
      const std::string tag = staged ? "staged" : "direct";
      results.push_back(time_it("upsample_argmax 65x65x21 -> 1920x1080 (" + tag + ")", runs, stream.get(),
                                [&] { post.run(logits.data(), classes.data(), stream.get()); }));
      results.push_back(time_it("upsample_softmax 65x65x21 -> 1920x1080 (" + tag + ")", runs, stream.get(),
                                [&] { post.run_softmax(logits.data(), planes.data(), stream.get()); }));
    }

    // Pre-processing: 1920x1080 frames -> 513x513 NCHW.
    const LayoutCase nchw = layout_cases(513, 513)[0];
    DeviceBuffer<float> input(nchw.floats);
    for (PixelFormat format : {PixelFormat::kNV12, PixelFormat::kRGBx, PixelFormat::kRGB}) {
      const OwnedFrame frame = make_random_frame(format, 1920, 1080, 2);
      DeviceFrame device;
      device.upload(frame.view, stream.get());
      CudaPreprocess pre(imagenet_rgb_spec(), nchw.layout);
      results.push_back(time_it(std::string("preprocess ") + pixel_format_name(format) + " 1920x1080 -> 513x513 NCHW",
                                runs, stream.get(), [&] { pre.run(device.view(), input.data(), stream.get()); }));
      results.push_back(time_it(std::string("upload ") + pixel_format_name(format) + " 1920x1080 (pageable host)",
                                std::min(runs, 50), stream.get(), [&] { device.upload(frame.view, stream.get()); }));
    }

    // Dense CRF (cuda/crf), 21 classes, DeepLab's parameters, device pointers in and out: full (10
    // iterations from the unary) and temporal (2 iterations from the previous Q). Every call builds
    // the bilateral lattice, as every frame of a stream does; the Gaussian one is built once per size.
    // The scene is synthetic (crf_cases.h: regions, gradient, noise of std 6).
    for (const auto& [w, h] : {std::pair{480, 360}, std::pair{1920, 1080}}) {
      const int classes = 21, crf_runs = std::min(runs, 30);
      const CrfScene scene = crf_scene(w, h, 7);
      const std::vector<float> p = crf_probabilities(w, h, classes, 8);
      DeviceBuffer<std::uint8_t> rgb(static_cast<std::size_t>(3) * w * h);
      DEEPLAB_CUDA_CHECK(cudaMemcpy2DAsync(rgb.data(), 3 * w, scene.rgb.data(), scene.stride, 3 * w, h,
                                           cudaMemcpyHostToDevice, stream.get()));
      DeviceBuffer<float> probabilities(p.size()), q(p.size());
      probabilities.upload(p.data(), p.size(), stream.get());
      const CrfImage image{rgb.data(), w, h, 3 * w};
      const CrfParams params;
      CudaCrf crf;
      const std::string size = std::to_string(w) + "x" + std::to_string(h) + "x21";
      results.push_back(time_it("crf full (10 iterations) " + size, crf_runs, stream.get(), [&] {
        crf.infer_device(image, probabilities.data(), classes, params, params.iterations, false, q.data(), 1.0f,
                         stream.get());
      }));
      results.push_back(time_it("crf temporal (2 iterations, warm) " + size, crf_runs, stream.get(), [&] {
        crf.infer_device(image, probabilities.data(), classes, params, 2, true, q.data(), 1.0f, stream.get());
      }));
      std::printf("crf %s: Gaussian blur radius %d, %d bilateral lattice vertices, %.1f MiB of device memory\n",
                  size.c_str(), crf.gaussian_blur().radius(), crf.bilateral_lattice().vertices(),
                  crf.device_bytes() / 1048576.0);
    }
    stream.synchronize();

    std::printf("device: %s (sm_%d%d), %d runs each\n", prop.name, prop.major, prop.minor, runs);
    std::printf("%-62s %10s %10s\n", "kernel", "median ms", "min ms");
    for (const Result& r : results) std::printf("%-62s %10.4f %10.4f\n", r.name.c_str(), r.median_ms, r.min_ms);
    std::printf("{\"device\": \"%s\", \"runs\": %d, \"results\": [", prop.name, runs);
    for (std::size_t i = 0; i < results.size(); ++i)
      std::printf("%s{\"name\": \"%s\", \"median_ms\": %.5f, \"min_ms\": %.5f}", i ? ", " : "", results[i].name.c_str(),
                  results[i].median_ms, results[i].min_ms);
    std::printf("]}\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "deeplab-gpu-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
