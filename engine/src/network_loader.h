// Model file -> optimized graph -> compiled CPU network, shared by the Segmenter, the tools and
// the tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cpu/cpu_network.h"
#include "deeplab/manifest.h"
#include "graph/passes.h"

namespace deeplab {

struct LoadOptions {
  std::vector<std::int64_t> input_shape;  // empty: the model's own (must be fully static)
  // The graph output that holds the class scores (the manifest's `output:`); empty: the first. The
  // other outputs (an auxiliary head, say) are dropped with the nodes only they need.
  std::string output;
  bool remove_final_resize = true;
  bool fuse = true;
  int threads = 0;
  bool profile = false;  // CpuNetwork::set_profile
};

struct LoadedNetwork {
  std::unique_ptr<CpuNetwork> network;
  FinalResizeInfo final_resize;
  int imported_nodes = 0;
};

// In the core library.
// The LoadOptions of a Segmenter (or the batching engine) for `manifest`: its output, the final
// Resize kept or not, the input size (0 x 0: the model's own) and `batch` frames per network call.
LoadOptions segmenter_load_options(const ModelManifest& manifest, bool keep_final_resize, int width, int height,
                                   int batch = 1);
// Error(kManifestMismatch) naming both when the model file's sha256 is not the manifest's.
void check_model_sha256(const ModelManifest& manifest);
// Model files imported by load_optimized_graph() in this process: tests prove with it that streams
// sharing one engine load the model once.
int graph_loads();
// The two halves of load_optimized_graph(): the file imported (counted by graph_loads()), and an
// imported graph optimised for the options (the batching engine plans one import for several
// batch sizes).
Graph import_model_graph(const std::string& onnx_path);
Graph optimize_imported_graph(Graph imported, const std::string& onnx_path, const LoadOptions& options,
                              FinalResizeInfo* final_resize);
Graph load_optimized_graph(const std::string& onnx_path, const LoadOptions& options, FinalResizeInfo* final_resize,
                           int* imported_nodes = nullptr);
// In the CPU backend library (cpu/load_cpu_network.cpp).
LoadedNetwork load_cpu_network(const std::string& onnx_path, const LoadOptions& options);

}  // namespace deeplab
