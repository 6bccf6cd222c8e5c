// GPU parity of the CUDA network (label gpu): CudaNetwork (cuDNN + our kernels) against the CPU
// backend (oneDNN), fp32 and fp16, on
//  - the op cases of net_cases.h (every op the CPU backend runs, awkward shapes);
//  - whole networks: the torchvision architectures exported with random weights
//    (scripts/export-torchvision.py ARCH --random --reference: ARCH.onnx and ARCH.input.npy in
//    DEEPLAB_GPU_MODELS_DIR, default <build>/test-data/torch, where the parity tests put them) and
//    the shared real model (DEEPLAB_SHARED_DIR/models or models/cache/);
//  - the Segmenter end to end (device cuda vs cpu) at the frame's resolution.
// Thresholds: class agreement >= 99.9 % (fp32), >= 99.5 % (fp16); the logits' error is printed.
// Every test skips without a GPU; a missing model file skips its test, saying how to make it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>

#include "cpu/cpu_network.h"
#include "cuda/cuda_network.h"
#include "cuda/cuda_resources.h"
#include "deeplab/segmenter.h"
#include "gpu_test.h"
#include "net_cases.h"
#include "network_loader.h"
#include "npy.h"

using namespace deeplab;
using namespace deeplab::cuda;
using namespace deeplab::test;

namespace {

struct Comparison {
  double max_abs = 0, max_ref = 0, agreement = 1;
  std::size_t identical = 0, count = 0, non_finite = 0;
  std::string describe() const {
    char text[256];
    std::snprintf(text, sizeof text,
                  "max |gpu - cpu| %.3g = %.3g x max |cpu| %.3g; %zu/%zu identical; %zu non-finite; class agreement %.4f%%",
                  max_abs, max_ref > 0 ? max_abs / max_ref : 0.0, max_ref, identical, count, non_finite, 100 * agreement);
    return text;
  }
};

// Values and, along `class_stride`/`classes` (the class axis of the logical tensor), the argmax.
Comparison compare(const std::vector<float>& cpu, const std::vector<float>& gpu, std::int64_t classes = 0,
                   std::int64_t class_stride = 1) {
  Comparison c;
  c.count = cpu.size();
  for (std::size_t k = 0; k < cpu.size(); ++k) {
    if (!std::isfinite(gpu[k])) ++c.non_finite;
    if (cpu[k] == gpu[k]) ++c.identical;
    c.max_abs = std::max(c.max_abs, std::fabs(static_cast<double>(cpu[k]) - gpu[k]));
    c.max_ref = std::max(c.max_ref, std::fabs(static_cast<double>(cpu[k])));
  }
  if (classes > 1) {
    const std::int64_t total = static_cast<std::int64_t>(cpu.size()), pixels = total / classes;
    std::int64_t same = 0;
    for (std::int64_t p = 0; p < pixels; ++p) {
      // Pixel p: its elements are base + k * class_stride.
      const std::int64_t base = class_stride == 1 ? p * classes : (p / class_stride) * class_stride * classes + p % class_stride;
      int best_cpu = 0, best_gpu = 0;
      for (int k = 1; k < classes; ++k) {
        if (cpu[base + k * class_stride] > cpu[base + best_cpu * class_stride]) best_cpu = k;
        if (gpu[base + k * class_stride] > gpu[base + best_gpu * class_stride]) best_gpu = k;
      }
      same += best_cpu == best_gpu;
    }
    c.agreement = static_cast<double>(same) / static_cast<double>(pixels);
  }
  return c;
}

std::vector<float> run_cpu(const Graph& g, const std::vector<float>& input) {
  CpuNetwork net(g, 0);
  net.set_input_logical(input.data());
  net.run();
  std::vector<float> out;
  net.output_logical(net.output_value(), out);
  return out;
}

std::vector<float> run_gpu(CudaNetwork& net, const std::vector<float>& input) {
  net.set_input_logical(input.data());
  net.run();
  std::vector<float> out;
  net.output_logical(out);
  return out;
}

CudaNetworkOptions options(Precision precision, bool graph = true) {
  CudaNetworkOptions o;
  o.precision = precision;
  o.cuda_graph = graph;
  return o;
}

class GpuNetwork : public GpuTest {
 protected:
  // Created on first use: the fixture is also constructed on machines without a GPU, where the
  // test then skips in SetUp.
  cudaStream_t stream() {
    if (!stream_) stream_ = std::make_unique<Stream>();
    return stream_->get();
  }

  // Every op case on the GPU at `precision` against the CPU backend: finite, and within
  // tolerance(case) x max(1, largest reference magnitude).
  template <typename Tolerance>
  void expect_cases_close(Precision precision, const char* label, Tolerance tolerance) {
    for (const NetCase& c : net_cases()) {
      const Graph g = load_case_graph(c);
      const std::vector<float> input = case_input(c);
      const std::vector<float> want = run_cpu(g, input);
      CudaNetwork net(g, options(precision), stream());
      const Comparison d = compare(want, run_gpu(net, input));
      std::printf("  %-22s %s: %s\n", c.name.c_str(), label, d.describe().c_str());
      EXPECT_EQ(d.non_finite, 0u) << c.name;
      EXPECT_LE(d.max_abs, tolerance(c) * std::max(1.0, d.max_ref)) << c.name << ": " << d.describe() << "\n"
                                                                    << net.describe_convolutions();
    }
  }

 private:
  std::unique_ptr<Stream> stream_;
};

}  // namespace

// ===================================== op cases =====================================

TEST_F(GpuNetwork, CasesFp32MatchTheCpuBackend) {
  // cuDNN and oneDNN sum in different orders; everything else repeats the CPU's operations.
  expect_cases_close(Precision::kFp32, "fp32", [](const NetCase& c) { return c.has_conv ? 1e-4 : 1e-6; });
}

TEST_F(GpuNetwork, CasesFp16StayCloseToTheCpuBackend) {
  expect_cases_close(Precision::kFp16, "fp16", [](const NetCase&) { return 3e-2; });
}

// The forward is replayed from a CUDA graph, gives the same results as direct launches (the same
// algorithms, through a shared cache), and the same results every run (nothing left over from the
// previous frame).
TEST_F(GpuNetwork, GraphReplayEqualsDirectLaunchesRunAfterRun) {
  const NetCase& c = net_cases().back();  // mini_deeplab
  const Graph g = load_case_graph(c);
  for (Precision p : {Precision::kFp32, Precision::kFp16}) {
    ConvAlgorithmCache shared;
    CudaNetworkOptions with_graph = options(p, true), direct = options(p, false);
    with_graph.shared_algorithms = direct.shared_algorithms = &shared;
    CudaNetwork graph_net(g, with_graph, stream());
    EXPECT_TRUE(graph_net.graph_captured()) << "the forward was not captured (see stderr)";
    const int searches = static_cast<int>(shared.size());
    CudaNetwork direct_net(g, direct, stream());
    EXPECT_EQ(static_cast<int>(shared.size()), searches) << "the second network searched again";
    EXPECT_FALSE(direct_net.graph_captured());
    const std::vector<float> a = case_input(c, 1), b = case_input(c, 2);
    const std::vector<float> first = run_gpu(graph_net, a);
    const std::vector<float> other = run_gpu(graph_net, b);
    const std::vector<float> again = run_gpu(graph_net, a);
    EXPECT_EQ(first, again);
    EXPECT_NE(first, other);
    EXPECT_EQ(run_gpu(direct_net, a), first);
  }
}

TEST_F(GpuNetwork, EqualConvShapesShareOneAlgorithmSearch) {
  const Graph g = load_case_graph(net_cases()[1]);  // residuals: five 8->8 convs, three of them 3x3
  CudaNetwork net(g, options(Precision::kFp16), stream());
  const ConvAlgorithmCache& cache = net.algorithms();
  std::printf("%s", net.describe_convolutions().c_str());
  EXPECT_GT(cache.hits(), 0);
  EXPECT_EQ(static_cast<int>(cache.size()), cache.misses());
  EXPECT_EQ(net.workspace_bytes(), cache.max_workspace_bytes());
}

TEST_F(GpuNetwork, UnsupportedOpFailsAtLoadNamingTheNode) {
  for (const UnsupportedCase& c : unsupported_cases()) {
    LoadOptions load;
    Graph g = load_optimized_graph(c.onnx_path, load, nullptr);
    try {
      CudaNetwork net(std::move(g), options(Precision::kFp32), stream());
      ADD_FAILURE() << c.op << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kUnsupported) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.node_name), std::string::npos) << e.what();
    }
  }
}

// ===================================== whole networks =====================================

namespace {

std::string models_dir() {
  if (const char* dir = std::getenv("DEEPLAB_GPU_MODELS_DIR")) return dir;
  return std::string(DEEPLAB_TEST_WORK_DIR) + "/torch";
}

std::string shared_model() {
  for (const std::string& path : {std::string(DEEPLAB_SHARED_DIR) + "/models/deeplab_v3_1_default_1.onnx",
                                  std::string(DEEPLAB_SOURCE_DIR) + "/models/cache/deeplab_v3_1_default_1.onnx"})
    if (std::filesystem::exists(path)) return path;
  return "";
}

// Smooth blobs plus noise in [-1, 1]: image-like, unlike white noise (the real model's input).
std::vector<float> image_like(const std::vector<std::int64_t>& shape, bool nhwc) {
  const std::int64_t h = shape[nhwc ? 1 : 2], w = shape[nhwc ? 2 : 3], c = shape[nhwc ? 3 : 1];
  std::vector<float> v(static_cast<std::size_t>(h * w * c));
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> noise(-0.1f, 0.1f);
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x)
      for (std::int64_t k = 0; k < c; ++k) {
        const float value = 0.8f * std::sin(0.05f * (x + 13 * k)) * std::cos(0.04f * (y - 7 * k)) + noise(rng);
        const std::int64_t at = nhwc ? (y * w + x) * c + k : (k * h + y) * w + x;
        v[static_cast<std::size_t>(at)] = std::clamp(value, -1.0f, 1.0f);
      }
  return v;
}

struct WholeNetwork {
  std::string name, onnx, input_npy;
};

void check_whole_network(const WholeNetwork& m, cudaStream_t stream) {
  LoadOptions load;
  std::vector<float> input;
  if (!m.input_npy.empty()) {
    const tools::NpyArray npy = tools::read_npy(m.input_npy);
    load.input_shape = npy.shape;
    input = npy.data;
  }
  // As the Segmenter loads it: the final Resize removed, logits at the network's stride.
  Graph g = load_optimized_graph(m.onnx, load, nullptr);
  const Value& in = g.values[g.inputs[0]];
  const bool nhwc = in.shape.size() == 4 && in.shape[3] == 3;
  if (input.empty()) input = image_like(in.shape, nhwc);
  const std::vector<float> want = run_cpu(g, input);
  const auto& out = g.values[g.outputs[0]].shape;
  const std::int64_t classes = nhwc ? out[3] : out[1];
  const std::int64_t class_stride = nhwc ? 1 : out[2] * out[3];
  for (Precision p : {Precision::kFp32, Precision::kFp16}) {
    CudaNetwork net(g, options(p), stream);
    const Comparison d = compare(want, run_gpu(net, input), classes, class_stride);
    const bool fp16 = p == Precision::kFp16;
    std::printf("  %-30s %s: %s; arena %.1f MiB, workspace %.1f MiB, %s\n", m.name.c_str(), fp16 ? "fp16" : "fp32",
                d.describe().c_str(), net.arena_bytes() / 1048576.0, net.workspace_bytes() / 1048576.0,
                net.graph_captured() ? "CUDA graph" : "direct launches");
    EXPECT_EQ(d.non_finite, 0u) << m.name;
    EXPECT_GE(d.agreement, fp16 ? 0.995 : 0.999) << m.name << (fp16 ? " fp16: " : " fp32: ") << d.describe() << "\n"
                                                 << net.describe_convolutions();
  }
}

const char* const kTorchvisionArchs[] = {"deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large",
                                         "deeplabv3_resnet50",           "fcn_resnet50",
                                         "deeplabv3_resnet101",          "deeplabv1_largefov",
                                         "deeplabv2_aspp"};

}  // namespace

class GpuWholeNetwork : public GpuNetwork, public ::testing::WithParamInterface<const char*> {};

TEST_P(GpuWholeNetwork, TorchvisionRandomWeightsAgreeWithTheCpu) {
  const std::string arch = GetParam();
  const std::string onnx = models_dir() + "/" + arch + ".onnx";
  if (!std::filesystem::exists(onnx))
    DEEPLAB_GPU_SKIP_OR_FAIL(onnx << " not found: export it with scripts/export-torchvision.py " << arch
                                  << " --random --reference --size 321x321 --out-dir " << models_dir());
  const std::string npy = models_dir() + "/" + arch + ".input.npy";
  check_whole_network({arch, onnx, std::filesystem::exists(npy) ? npy : ""}, stream());
}

INSTANTIATE_TEST_SUITE_P(Archs, GpuWholeNetwork, ::testing::ValuesIn(kTorchvisionArchs),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

TEST_F(GpuNetwork, SharedRealModelAgreesWithTheCpu) {
  const std::string path = shared_model();
  if (path.empty())
    DEEPLAB_GPU_SKIP_OR_FAIL("deeplab_v3_1_default_1.onnx is neither in " << DEEPLAB_SHARED_DIR
                             << "/models nor in models/cache/ (scripts/fetch-models.sh deeplabv3-mnv2-voc)");
  check_whole_network({"deeplab_v3_1_default_1 (257x257)", path, ""}, stream());
}

// ===================================== the Segmenter =====================================

TEST_F(GpuNetwork, SegmenterOnCudaGivesTheCpuClassMapAtFrameResolution) {
  const std::string path = shared_model();
  if (path.empty()) DEEPLAB_GPU_SKIP_OR_FAIL("the shared real model is not available");
  ModelManifest manifest = resolve_model(path);
  const int w = 1920, h = 1080;
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        pixels[(static_cast<std::size_t>(y) * w + x) * 3 + c] =
            static_cast<std::uint8_t>(127 + 120 * std::sin(0.01 * x + c) * std::cos(0.013 * y - c));
  const FrameView frame = FrameView::packed(PixelFormat::kRGB, pixels.data(), w, h, w * 3);
  SegmenterOptions cpu_options;
  cpu_options.device = Device::kCpu;
  Segmenter cpu(manifest, cpu_options);
  const std::vector<std::uint8_t> want = cpu.segment(frame).class_map;
  for (Precision p : {Precision::kFp32, Precision::kFp16}) {
    SegmenterOptions o;
    o.device = Device::kCuda;
    o.precision = p;
    Segmenter gpu(manifest, o);
    EXPECT_EQ(gpu.device(), Device::kCuda);
    const Segmentation got = gpu.segment(frame);
    ASSERT_EQ(got.width, w);
    ASSERT_EQ(got.height, h);
    std::size_t same = 0;
    for (std::size_t k = 0; k < want.size(); ++k) same += want[k] == got.class_map[k];
    const double agreement = static_cast<double>(same) / want.size();
    const StageTimes& t = gpu.last_times();
    std::printf("  segmenter %s: class agreement %.4f%%; upload %.3f, pre %.3f, network %.3f, upsample+argmax %.3f, "
                "download %.3f, total %.3f ms\n",
                p == Precision::kFp16 ? "fp16" : "fp32", 100 * agreement, t.upload_ms, t.preprocess_ms, t.infer_ms,
                t.postprocess_ms, t.download_ms, t.total_ms);
    EXPECT_GE(agreement, p == Precision::kFp16 ? 0.995 : 0.999);
    EXPECT_GT(t.infer_ms, 0.0);
    // A second frame of the same size reuses everything.
    EXPECT_EQ(gpu.segment(frame).class_map, got.class_map);
  }
}
