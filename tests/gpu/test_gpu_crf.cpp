// The CUDA dense CRF on a GPU (label gpu; every test skips without one), against the CPU CRF and
// against the host emulation of its own kernels (crf_emulation.h):
//   - the lattice (vertex count, each point's vertices and weights, normalisation, splat + blur)
//     equals the emulation bit for bit, and so the CPU lattice (deeplab_cuda_host_tests shows the
//     emulation equals it): what differs is a device problem (atomics, CUB, launches, copies);
//   - DenseCrf(kCuda) against DenseCrf(kCpu) on awkward sizes (1x1 .. 1920x1080) and class counts
//     (2, 7, 21): label agreement >= 99.5 % (the bar), Q's max |difference| printed; and
//     the GPU's Q against the emulation's, which should be identical;
//   - warm starts and a temporal CrfStream (moving scene, a cut, keyframes) against the CPU's;
//   - the device-pointer entry point equals the host one, repeated runs are identical and allocate
//     nothing after the first frame of a size, bad arguments are refused by name.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "crf_cases.h"
#include "crf_emulation.h"
#include "cuda/crf/cuda_crf.h"
#include "cuda/crf/cuda_lattice.h"
#include "cuda/cuda_resources.h"
#include "deeplab/crf.h"
#include "deeplab/error.h"
#include "gpu_test.h"

using namespace deeplab;
using namespace deeplab::cuda;
using namespace deeplab::test;

namespace {

constexpr double kMinAgreement = 0.995;

// After all the device's work: the CRF's streams are non-blocking, so a plain cudaMemcpy would not
// wait for them.
template <typename T>
std::vector<T> download(const T* device, std::size_t count) {
  DEEPLAB_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<T> host(count);
  DEEPLAB_CUDA_CHECK(cudaMemcpy(host.data(), device, count * sizeof(T), cudaMemcpyDeviceToHost));
  return host;
}

template <typename T>
std::size_t identical(const T* a, const T* b, std::size_t n) {
  std::size_t same = 0;
  for (std::size_t i = 0; i < n; ++i) same += std::memcmp(a + i, b + i, sizeof(T)) == 0;
  return same;
}

// The scene's pixels in device memory, 3 * width bytes per row.
struct DeviceScene {
  DeviceBuffer<std::uint8_t> rgb;
  CrfImage image;
  DeviceScene(const CrfScene& scene, cudaStream_t stream)
      : rgb(static_cast<std::size_t>(3) * scene.width * scene.height) {
    DEEPLAB_CUDA_CHECK(cudaMemcpy2DAsync(rgb.data(), 3 * scene.width, scene.rgb.data(), scene.stride, 3 * scene.width,
                                         scene.height, cudaMemcpyHostToDevice, stream));
    image = scene.image();
    image.rgb = rgb.data();
    image.stride = 3 * scene.width;
  }
};

std::vector<float> run_crf(Device device, const CrfScene& scene, const std::vector<float>& p, int classes,
                           const CrfParams& params, int iterations, bool warm = false, std::vector<float> q = {}) {
  q.resize(p.size());
  DenseCrf crf(device);
  crf.infer(scene.image(), p.data(), classes, params, iterations, warm, q.data());
  return q;
}

std::vector<float> run_emulated(const CrfScene& scene, const std::vector<float>& p, int classes,
                                const CrfParams& params, int iterations, bool warm = false, std::vector<float> q = {}) {
  q.resize(p.size());
  EmulatedCrf crf(kCrfSymmetricNormalisation);
  crf.infer(scene.image(), p.data(), classes, params, iterations, warm, q.data());
  return q;
}

// The GPU lattice of `features` against the emulation: structure, normalisation and one filter.
template <typename Features>
void expect_lattice_is_emulated(CudaLattice& gpu, EmulatedLattice& emulated, const Features& device_features,
                                const Features& host_features, int points, cudaStream_t stream,
                                const std::string& what) {
  const bool symmetric = kCrfSymmetricNormalisation;
  gpu.set_symmetric(symmetric);
  emulated.set_symmetric(symmetric);
  gpu.build(device_features, points, stream);
  emulated.build(host_features, points, 17);
  ASSERT_EQ(gpu.vertices(), emulated.vertices()) << what;
  const LatticeView& g = gpu.view();
  const LatticeView& e = emulated.view();
  const std::size_t entries = static_cast<std::size_t>(g.entries), m = static_cast<std::size_t>(g.vertices);
  EXPECT_EQ(identical(download(g.offsets, entries).data(), e.offsets, entries), entries) << what << ": vertices";
  EXPECT_EQ(identical(download(g.weights, entries).data(), e.weights, entries), entries) << what << ": weights";
  EXPECT_EQ(identical(download(g.splat_entry, entries).data(), e.splat_entry, entries), entries) << what << ": lists";
  const std::size_t nb = m * (g.dim + 1) * 2;
  EXPECT_EQ(identical(download(g.neighbours, nb).data(), e.neighbours, nb), nb) << what << ": neighbours";
  EXPECT_EQ(identical(download(g.norm, points).data(), e.norm, points), static_cast<std::size_t>(points))
      << what << ": normalisation";

  const int stride = 21;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  std::vector<float> q(static_cast<std::size_t>(points) * stride);
  for (float& x : q) x = uni(rng);
  DeviceBuffer<float> dq(q.size());
  dq.upload(q.data(), q.size(), stream);
  const std::size_t rows = (m + 1) * stride;
  const std::vector<float> got = download(gpu.splat_blur(dq.data(), stride, stream), rows);
  const float* want = emulated.splat_blur(q.data(), stride);
  const std::size_t same = identical(want, got.data(), rows);
  std::printf("[crf-gpu] %s: %zu vertices; blurred rows identical to the emulation: %zu of %zu\n", what.c_str(), m,
              same, rows);
  EXPECT_EQ(same, rows) << what;
}

class CrfGpuTest : public GpuTest {};

}  // namespace

TEST_F(CrfGpuTest, LatticeIsTheEmulatedLattice) {
  Stream stream;
  CudaLattice gaussian(false), bilateral(true);
  EmulatedLattice emulated_g, emulated_b;
  for (auto [w, h] : {std::pair{1, 1}, std::pair{7, 13}, std::pair{127, 65}, std::pair{480, 360}}) {
    const CrfScene scene = crf_scene(w, h, 61);
    DeviceScene device(scene, stream.get());
    const std::string size = std::to_string(w) + "x" + std::to_string(h);
    GaussianFeatures g;
    g.width = w;
    g.inv_xy = 1.0f / 1.0f;
    expect_lattice_is_emulated(gaussian, emulated_g, g, g, w * h, stream.get(), "gaussian " + size);
    BilateralFeatures b_host;
    b_host.rgb = scene.rgb.data();
    b_host.width = w;
    b_host.stride = scene.stride;
    b_host.inv_xy = 1.0f / 67.0f;
    b_host.inv_rgb = 1.0f / 3.0f;
    BilateralFeatures b_device = b_host;
    b_device.rgb = device.image.rgb;
    b_device.stride = device.image.stride;
    expect_lattice_is_emulated(bilateral, emulated_b, b_device, b_host, w * h, stream.get(), "bilateral " + size);
  }
}

TEST_F(CrfGpuTest, MeanFieldMatchesTheCpu) {
  struct Case {
    int w, h, classes;
    bool emulate;  // the emulation is single-threaded: the largest sizes compare with the CPU only
  } cases[] = {{1, 1, 2, true},        {1, 1, 7, true},      {1, 1, 21, true},     {7, 13, 2, true},
               {7, 13, 7, true},       {7, 13, 21, true},    {127, 65, 2, true},   {127, 65, 7, true},
               {127, 65, 21, true},    {480, 360, 2, false}, {480, 360, 7, false}, {480, 360, 21, true},
               {1920, 1080, 21, false}};
  const CrfParams params;
  for (const Case& c : cases) {
    const CrfScene scene = crf_scene(c.w, c.h, 71);
    const auto p = crf_probabilities(c.w, c.h, c.classes, 72);
    const auto cpu = run_crf(Device::kCpu, scene, p, c.classes, params, params.iterations);
    const auto gpu = run_crf(Device::kCuda, scene, p, c.classes, params, params.iterations);
    const QComparison r = compare_q(cpu, gpu, c.classes);
    std::printf("[crf-gpu] CUDA vs CPU %dx%d, %d classes, 10 iterations: %s\n", c.w, c.h, c.classes,
                r.describe().c_str());
    EXPECT_GE(r.agreement(), kMinAgreement) << c.w << "x" << c.h << ", " << c.classes << " classes: " << r.describe();
    EXPECT_TRUE(r.finite && r.normalised) << r.describe();
    if (c.emulate) {
      const auto emulated = run_emulated(scene, p, c.classes, params, params.iterations);
      const std::size_t same = identical(emulated.data(), gpu.data(), gpu.size());
      std::printf("[crf-gpu]   Q identical to the emulation: %zu of %zu\n", same, gpu.size());
      EXPECT_EQ(same, gpu.size()) << c.w << "x" << c.h << ", " << c.classes << " classes";
    }
  }
}

TEST_F(CrfGpuTest, WarmStartMatchesTheCpu) {
  const int w = 480, h = 360, classes = 21;
  const CrfParams params;
  const CrfScene first = crf_scene(w, h, 80), next = crf_scene(w, h, 81, /*shift=*/4);
  const auto p0 = crf_probabilities(w, h, classes, 82), p1 = crf_probabilities(w, h, classes, 83, 4);
  const auto q0 = run_crf(Device::kCpu, first, p0, classes, params, params.iterations);
  const auto cpu = run_crf(Device::kCpu, next, p1, classes, params, 2, true, q0);
  const auto gpu = run_crf(Device::kCuda, next, p1, classes, params, 2, true, q0);
  const QComparison r = compare_q(cpu, gpu, classes);
  std::printf("[crf-gpu] CUDA vs CPU, warm start from the CPU's Q, 2 iterations: %s\n", r.describe().c_str());
  EXPECT_GE(r.agreement(), kMinAgreement) << r.describe();
}

// The test sequence (crf_cases.h: moving, a cut at frame 5) with keyframes every 4 frames: both
// devices make the same decisions (CudaCrfHostSequence checks which) and agree on every frame.
TEST_F(CrfGpuTest, TemporalStreamMatchesTheCpu) {
  const int w = 160, h = 120, classes = 21;
  CrfOptions options;
  options.mode = CrfMode::kTemporal;
  options.keyframe_interval = 4;
  CrfStream cpu(options, Device::kCpu), gpu(options, Device::kCuda);
  for (int frame = 0; frame < kCrfSequenceFrames; ++frame) {
    const CrfScene scene = crf_sequence_scene(w, h, frame);
    const auto p = crf_sequence_probabilities(w, h, classes, frame);
    const std::size_t n = p.size();
    const float* qc = cpu.process(scene.image(), p.data(), classes);
    const std::vector<float> want(qc, qc + n);
    const float* qg = gpu.process(scene.image(), p.data(), classes);
    const std::vector<float> got(qg, qg + n);
    const CrfFrameReport& a = cpu.last_report();
    const CrfFrameReport& b = gpu.last_report();
    const QComparison r = compare_q(want, got, classes);
    std::printf("[crf-gpu] temporal frame %d: %d iterations%s%s%s (CPU %.1f ms, CUDA %.1f ms): %s\n", frame,
                b.iterations, b.warm_started ? ", warm" : "", b.scene_cut ? ", scene cut" : "",
                b.keyframe ? ", keyframe" : "", a.ms, b.ms, r.describe().c_str());
    EXPECT_EQ(a.iterations, b.iterations) << "frame " << frame;
    EXPECT_EQ(a.warm_started, b.warm_started) << "frame " << frame;
    EXPECT_EQ(a.scene_cut, b.scene_cut) << "frame " << frame;
    EXPECT_EQ(a.keyframe, b.keyframe) << "frame " << frame;
    EXPECT_GE(r.agreement(), kMinAgreement) << "frame " << frame << ": " << r.describe();
  }
}

TEST_F(CrfGpuTest, DeviceEntryPointEqualsTheHostOne) {
  const int w = 127, h = 65, classes = 7;
  const CrfParams params;
  const CrfScene scene = crf_scene(w, h, 110);
  const auto p = crf_probabilities(w, h, classes, 111);
  CudaCrf crf;
  std::vector<float> host_q(p.size());
  crf.infer(scene.image(), p.data(), classes, params, params.iterations, false, host_q.data());

  DeviceScene device(scene, crf.stream());
  DeviceBuffer<float> dp(p.size()), dq(p.size());
  dp.upload(p.data(), p.size(), crf.stream());
  crf.infer_device(device.image, dp.data(), classes, params, params.iterations, false, dq.data(), 1.0f, crf.stream());
  DEEPLAB_CUDA_CHECK(cudaStreamSynchronize(crf.stream()));
  const std::vector<float> device_q = download(dq.data(), dq.size());
  EXPECT_EQ(identical(host_q.data(), device_q.data(), p.size()), p.size());
  // The device path reads the probabilities without changing them.
  EXPECT_EQ(identical(p.data(), download(dp.data(), dp.size()).data(), p.size()), p.size());
}

// Frames of different content (noise, hence vertex counts) at one size: identical results for
// identical input, and the device memory held does not grow after the first frame.
TEST_F(CrfGpuTest, RepeatedFramesAreIdenticalAndAllocateNothing) {
  const int w = 480, h = 360, classes = 21;
  const CrfParams params;
  CudaCrf crf;
  std::vector<float> first, q;
  std::size_t bytes = 0;
  for (int frame = 0; frame < 4; ++frame) {
    const CrfScene scene = crf_scene(w, h, 120 + frame % 2, 0, 0, frame % 2 ? 30.0f : 2.0f);
    const auto p = crf_probabilities(w, h, classes, 130 + frame % 2);
    q.assign(p.size(), 0.0f);
    crf.infer(scene.image(), p.data(), classes, params, frame % 2 ? 2 : params.iterations, false, q.data());
    std::printf("[crf-gpu] frame %d: %d bilateral vertices, %.1f MiB of device memory\n", frame,
                crf.bilateral_lattice().vertices(), crf.device_bytes() / 1048576.0);
    if (frame == 0) {
      first = q;
      bytes = crf.device_bytes();
    }
    EXPECT_EQ(crf.device_bytes(), bytes) << "frame " << frame;
    if (frame == 2) {
      EXPECT_EQ(identical(first.data(), q.data(), q.size()), q.size());
    }
  }
}

TEST_F(CrfGpuTest, BadArgumentsAreRefusedByName) {
  const int w = 40, h = 30, classes = 3;
  const CrfScene scene = crf_scene(w, h, 140);
  const auto p = crf_probabilities(w, h, classes, 141);
  std::vector<float> q(p.size());
  CudaCrf crf;
  const auto message_of = [&](auto&& call) -> std::string {
    try {
      call();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
      return e.what();
    }
    return "(no error)";
  };
  const CrfParams params;
  EXPECT_NE(message_of([&] {
              crf.infer_device(scene.image(), nullptr, classes, params, 1, false, q.data(), 1.0f, crf.stream());
            }).find("probabilities"),
            std::string::npos);
  EXPECT_NE(message_of([&] { crf.infer(scene.image(), p.data(), 0, params, 1, false, q.data()); }).find("num_classes"),
            std::string::npos);
  CrfParams bad = params;
  bad.bilateral_rgb_std = -1;
  EXPECT_NE(message_of([&] {
              crf.infer(scene.image(), p.data(), classes, bad, 1, false, q.data());
            }).find("bilateral_rgb_std"),
            std::string::npos);
  // A positional std far too small for the lattice's 16-bit keys: the same refusal as the CPU's.
  CrfParams tiny = params;
  tiny.gaussian_xy_std = 1e-4f;
  const std::string gpu_message = message_of([&] { run_crf(Device::kCuda, scene, p, classes, tiny, 1); });
  const std::string cpu_message = message_of([&] { run_crf(Device::kCpu, scene, p, classes, tiny, 1); });
  EXPECT_NE(gpu_message.find("gaussian_xy_std"), std::string::npos) << gpu_message;
  EXPECT_EQ(gpu_message, cpu_message);
  // After a refusal the next call works.
  EXPECT_NO_THROW(crf.infer(scene.image(), p.data(), classes, params, 2, false, q.data()));
}
