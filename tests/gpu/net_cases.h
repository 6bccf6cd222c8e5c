// Small ONNX networks that exercise every op the CPU backend runs — and so the CUDA network must —
// on awkward shapes (odd sizes, 3/5/7/13 channels, asymmetric padding, ceil-mode pooling,
// broadcasting in every layout, resize modes, aliasing transposes, in-place and kept residuals),
// shared by the host emulation tests (deeplab_cuda_host_tests) and the GPU tests
// (deeplab_gpu_tests). Weights and inputs come from fixed seeds; weights are scaled by
// 1/sqrt(fan-in) so that activations stay O(1) (fp16 runs them too).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace deeplab::test {

struct NetCase {
  std::string name;
  std::string onnx_path;                 // written under the test work directory
  std::vector<std::int64_t> input_shape;
  bool has_conv = false;                 // without convs the CPU and the emulation agree exactly
};

// Writes every case's model (once per process) and returns the list.
const std::vector<NetCase>& net_cases();

// The case's graph after import, folding and the passes (the final Resize kept).
Graph load_case_graph(const NetCase& c);

// A deterministic input for the case: uniform [-2, 2) from `seed`, logical (row-major) order.
std::vector<float> case_input(const NetCase& c, unsigned seed = 5);

// Ops outside the CPU backend's coverage (each a one-node model): both backends must refuse them
// at load with Error(kUnsupported) naming the node and the op.
struct UnsupportedCase {
  std::string op, node_name, onnx_path;
};
const std::vector<UnsupportedCase>& unsupported_cases();

}  // namespace deeplab::test
