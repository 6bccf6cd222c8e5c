// network_loader.h's CPU half: in the CPU backend library, so that the core (load_optimized_graph)
// links no backend.
#include "network_loader.h"

namespace deeplab {

LoadedNetwork load_cpu_network(const std::string& onnx_path, const LoadOptions& options) {
  LoadedNetwork loaded;
  Graph g = load_optimized_graph(onnx_path, options, &loaded.final_resize, &loaded.imported_nodes);
  loaded.network = std::make_unique<CpuNetwork>(std::move(g), options.threads);
  loaded.network->set_profile(options.profile);
  return loaded;
}

}  // namespace deeplab
