// Fuzz target for the model loading path: bytes -> import (ONNX or TFLite) -> constant folding / shape inference ->
// graph passes -> (when small enough) a compiled CPU network run once.
//
// Every failure a model file can cause must be a deeplab::Error. Anything else — a crash, a
// sanitizer report, an abort, any other exception escaping — is a finding. Built as a libFuzzer
// target with clang (DEEPLAB_BUILD_FUZZERS=ON, scripts/fuzz.sh) and, always, into
// fuzz_onnx_replay, which feeds it the seed corpus and the regression inputs as a ctest.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "cpu/cpu_network.h"
#include "deeplab/error.h"
#include "graph/fold.h"
#include "graph/passes.h"
#include "onnx/onnx_import.h"
#include "tflite/tflite_import.h"

namespace {

constexpr std::int64_t kMaxActivationBytes = std::int64_t{64} << 20;

// Bytes of every activation a CpuNetwork would hold (no sharing), capped just over the limit.
std::int64_t activation_bytes(const deeplab::Graph& g) {
  std::vector<char> seen(g.values.size(), 0);
  std::int64_t total = 0;
  auto add = [&](int v) {
    if (v < 0 || seen[v] || g.values[v].is_constant) return;
    seen[v] = 1;
    std::int64_t n = 4;
    for (auto d : g.values[v].shape) {
      if (d > 0 && n > kMaxActivationBytes / d) n = kMaxActivationBytes + 1;
      else n *= d;
    }
    total = std::min(total + n, kMaxActivationBytes + 1);
  };
  add(g.inputs.at(0));
  for (const auto& n : g.nodes) {
    for (int v : n.inputs) add(v);
    for (int v : n.outputs) add(v);
  }
  return total;
}

// Invariants of a graph that passed shape inference: the harness's own consistency checks.
void check_shapes(const deeplab::Graph& g) {
  for (const auto& n : g.nodes)
    for (int v : n.outputs) {
      if (v < 0 || !g.values[v].shape_known) continue;
      for (auto d : g.values[v].shape)
        if (d < 0) {
          std::fprintf(stderr, "finding: %s: value '%s' has the negative shape %s after shape inference\n",
                       g.describe(n).c_str(), g.values[v].name.c_str(), deeplab::shape_string(g.values[v].shape).c_str());
          std::abort();
        }
    }
}

// DEEPLAB_FUZZ_VERBOSE=1: say how far each input got (for checking what a corpus exercises).
bool verbose() {
  static const bool on = [] {
    const char* v = std::getenv("DEEPLAB_FUZZ_VERBOSE");
    return v && *v && *v != '0';
  }();
  return on;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    // Both importers: bytes carrying TFLite's identifier go to the TFLite reader (as the loader does).
    deeplab::Graph g = deeplab::has_tflite_identifier(data, size)
                           ? deeplab::import_tflite_bytes(data, size, "fuzz.tflite")
                           : deeplab::import_onnx_bytes(data, size, "fuzz.onnx");
    // The model's own input shape when static; otherwise dynamic dims from 1x3x16x16.
    const std::vector<std::int64_t> fallback = {1, 3, 16, 16};
    std::vector<std::int64_t> shape = g.values[g.inputs.at(0)].shape;
    bool dynamic = false;
    for (auto d : shape) dynamic = dynamic || d < 0;
    if (dynamic) {
      if (shape.size() == fallback.size()) {
        for (std::size_t k = 0; k < shape.size(); ++k)
          if (shape[k] < 0) shape[k] = fallback[k];
      } else {
        shape = fallback;
      }
    }
    deeplab::fold_constants_and_infer_shapes(g, shape);
    check_shapes(g);
    deeplab::OptimizeOptions options;
    options.fuse = (size & 1) == 0;               // both settings, chosen by the input
    options.remove_final_resize = (size & 2) == 0;
    deeplab::optimize_graph(g, options);
    if (activation_bytes(g) > kMaxActivationBytes) {
      if (verbose()) std::fprintf(stderr, "fuzz: optimized (%zu nodes), too large to run\n", g.nodes.size());
      return 0;
    }
    deeplab::CpuNetwork net(std::move(g), 1);
    const auto& in = net.graph().values[net.input_value()];
    std::vector<float> input(static_cast<std::size_t>(in.element_count()));
    for (std::size_t k = 0; k < input.size(); ++k) input[k] = static_cast<float>(k % 17) * 0.125f - 1.0f;
    net.set_input_logical(input.data());
    net.run();
    std::vector<float> out;
    net.output_logical(net.output_value(), out);
    if (verbose()) std::fprintf(stderr, "fuzz: ran %zu nodes, output %s\n", net.graph().nodes.size(),
                                deeplab::shape_string(net.graph().values[net.output_value()].shape).c_str());
  } catch (const deeplab::Error& e) {
    // The expected way for a bad model to fail.
    if (verbose()) std::fprintf(stderr, "fuzz: %s: %s\n", deeplab::error_code_name(e.code()), e.what());
  }
  return 0;
}
