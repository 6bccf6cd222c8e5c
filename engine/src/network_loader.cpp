#include "network_loader.h"

#include "deeplab/error.h"
#include "graph/fold.h"
#include "onnx/onnx_import.h"
#include "tflite/tflite_import.h"

namespace deeplab {

namespace {

// Keeps the one output the caller segments; an unknown name is refused with the outputs there are.
void select_output(Graph& g, const std::string& name, const std::string& onnx_path) {
  int chosen = g.outputs.empty() ? -1 : g.outputs[0];
  if (!name.empty()) {
    chosen = -1;
    std::string names;
    for (int v : g.outputs) {
      if (g.values[v].name == name) chosen = v;
      names += (names.empty() ? "'" : ", '") + g.values[v].name + "'";
    }
    if (chosen < 0)
      throw Error(ErrorCode::kManifestMismatch, onnx_path + ": the manifest's output '" + name +
                                                    "' is not an output of the model; its outputs are " + names);
  }
  if (chosen < 0) throw Error(ErrorCode::kModelCorrupt, onnx_path + ": the model has no output");
  if (g.outputs.size() == 1) return;
  g.outputs = {chosen};
  g.remove_unused();
}

}  // namespace

Graph load_optimized_graph(const std::string& onnx_path, const LoadOptions& options, FinalResizeInfo* final_resize,
                           int* imported_nodes) {
  // The file's format by its extension or TFLite's identifier; both importers fill the same IR.
  Graph g = is_tflite_file(onnx_path) ? import_tflite_file(onnx_path) : import_onnx_file(onnx_path);
  if (imported_nodes) *imported_nodes = static_cast<int>(g.nodes.size());
  select_output(g, options.output, onnx_path);
  std::vector<std::int64_t> shape = options.input_shape;
  if (shape.empty()) {
    shape = g.values[g.inputs[0]].shape;
    for (auto d : shape)
      if (d < 0)
        throw Error(ErrorCode::kInvalidArgument, onnx_path + ": the input '" + g.values[g.inputs[0]].name +
                                                     "' has dynamic dimensions " + shape_string(shape) +
                                                     "; give an input size");
  }
  fold_constants_and_infer_shapes(g, shape);
  OptimizeOptions opt;
  opt.remove_final_resize = options.remove_final_resize;
  opt.fuse = options.fuse;
  FinalResizeInfo info = optimize_graph(g, opt);
  if (final_resize) *final_resize = info;
  return g;
}

}  // namespace deeplab
