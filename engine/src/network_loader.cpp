#include "network_loader.h"

#include <atomic>

#include "deeplab/error.h"
#include "graph/attrs.h"
#include "graph/fold.h"
#include "graph/ops.h"
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

// Marks the resizes and reshapes whose sizes, scales or target shape the file holds as constants
// (not computed from a tensor's shape, or only partly: Concat(Shape(x)[0:2], [33, 33]), as a
// converter writes a broadcast to a fixed feature-map size): what ties a graph to the input size it
// was exported at.
constexpr const char* kFixedInput = "deeplab.fixed_size_input";

bool is_file_constant(const Graph& g, int value) { return g.values[value].is_constant && g.producer(value) < 0; }

bool holds_file_constant(const Graph& g, int value) {
  if (is_file_constant(g, value)) return true;
  const int p = g.producer(value);
  if (p < 0 || op_def(g.nodes[p]).kernel != OpKernel::kConcat) return false;
  for (int in : g.nodes[p].inputs)
    if (in >= 0 && is_file_constant(g, in)) return true;
  return false;
}

void mark_fixed_size_inputs(Graph& g) {
  for (Node& n : g.nodes) {
    const OpDef& def = op_def(n);
    int k = -1;
    if (def.kernel == OpKernel::kResize) k = def.upsample ? 1 : n.inputs.size() > 3 && n.inputs[3] >= 0 ? 3 : 2;
    if (n.op == "Reshape") k = 1;
    if (k < 0 || k >= static_cast<int>(n.inputs.size()) || n.inputs[k] < 0) continue;
    if (holds_file_constant(g, n.inputs[k])) n.attrs[kFixedInput].i = k;
  }
}

// The model's last Resize (perhaps before a layout Transpose), which remove_final_resize drops.
bool is_final_resize(const Graph& g, const Node& n) {
  const int out = n.outputs[0];
  if (g.is_graph_output(out)) return true;
  for (const Node& user : g.nodes)
    if (!user.dead && op_def(user).kernel == OpKernel::kTranspose && user.inputs[0] == out)
      return g.use_count(out) == 1 && g.is_graph_output(user.outputs[0]);
  return false;
}

// Why node `n` (shapes at the model's own input size) ties the graph to that size; empty if not.
std::string size_tie(const Graph& g, const Node& n, bool final_resize_removed) {
  if (n.inputs.empty() || n.inputs[0] < 0) return "";
  const auto& x = g.values[n.inputs[0]].shape;
  const OpDef& def = op_def(n);
  const bool spatial = x.size() == 4 && x[2] * x[3] > 1;
  const auto fixed = n.attrs.find(kFixedInput);
  if (def.kernel == OpKernel::kPool && spatial) {
    const auto kernel = attr_ints(g, n, "kernel_shape", {});
    if (kernel == std::vector<std::int64_t>{x[2], x[3]})
      return "pools a window fixed to the whole " + std::to_string(x[2]) + "x" + std::to_string(x[3]) + " feature map";
  }
  if (fixed == n.attrs.end()) return "";
  if (def.kernel == OpKernel::kResize) {
    if (final_resize_removed && is_final_resize(g, n)) return "";
    const auto& y = g.values[n.outputs[0]].shape;
    if (fixed->second.i == 3 || !spatial)
      return "resizes to the fixed size " + std::to_string(y[2]) + "x" + std::to_string(y[3]);
    return "";  // constant scales of a feature map follow its size
  }
  int big_dims = 0;
  for (std::size_t a = 1; a < x.size(); ++a) big_dims += x[a] > 1;
  return big_dims >= 2 ? "reshapes to the fixed shape " + shape_string(g.values[n.outputs[0]].shape) : "";
}

// `shape` differs from the fixed input shape of the model file: runs the graph at `shape` where
// nothing in it depends on the file's size (global pooling, resize sizes computed from a tensor's
// shape), by freeing the input's spatial dimensions; refuses naming the node that does.
void free_fixed_input_size(Graph& g, const std::vector<std::int64_t>& shape, bool final_resize_removed) {
  Value& input = g.values[g.inputs[0]];
  if (input.shape.size() != 4 || shape.size() != 4 || (input.shape[0] >= 0 && input.shape[0] != shape[0]))
    return;  // fold reports it
  // Only the spatial dimensions may change: the image's channels are NHWC's last axis (1 or 3 of
  // them there), else NCHW's second.
  const std::size_t channels = input.shape[3] == 1 || input.shape[3] == 3 ? 3 : 1;
  if (input.shape[channels] != shape[channels]) return;
  bool differs = false;
  for (std::size_t k = 0; k < shape.size(); ++k) differs |= input.shape[k] >= 0 && input.shape[k] != shape[k];
  if (!differs) return;
  std::vector<std::int64_t> own = input.shape;  // the file's size; its dynamic dimensions as asked
  for (std::size_t k = 0; k < own.size(); ++k) own[k] = own[k] < 0 ? shape[k] : own[k];
  Graph probe = g;
  mark_fixed_size_inputs(probe);
  fold_constants_and_infer_shapes(probe, own);
  for (const Node& n : probe.nodes) {
    const std::string why = n.dead ? "" : size_tie(probe, n, final_resize_removed);
    if (!why.empty())
      throw Error(ErrorCode::kManifestMismatch, g.source + ": cannot run at the input size " + shape_string(shape) +
                                               " (the model's own is " + shape_string(input.shape) + "): " +
                                               probe.describe(n) + " " + why);
  }
  for (std::size_t k = 1; k < shape.size(); ++k)
    if (input.shape[k] != shape[k]) input.shape[k] = -1;
}

// A batch other than the file's fixed one (1, as exporters write it): the batch dimension is freed
// and the shapes follow it; a node that holds the file's batch as a constant (a Reshape to [1, ...])
// is then refused by the shape inference, naming it.
void free_batch(Graph& g, const std::vector<std::int64_t>& shape) {
  Value& input = g.values[g.inputs[0]];
  if (!shape.empty() && input.shape.size() == shape.size() && input.shape[0] >= 0 && input.shape[0] != shape[0])
    input.shape[0] = -1;
}

std::atomic<int> g_graph_loads{0};

}  // namespace

int graph_loads() { return g_graph_loads.load(); }

LoadOptions segmenter_load_options(const ModelManifest& manifest, bool keep_final_resize, int width, int height,
                                   int batch) {
  LoadOptions load;
  load.output = manifest.output;
  load.remove_final_resize = !keep_final_resize;
  if (width > 0 && height > 0) {
    load.input_shape = manifest.input.layout == TensorLayout::kNHWC ? std::vector<std::int64_t>{batch, height, width, 3}
                                                                    : std::vector<std::int64_t>{batch, 3, height, width};
  }
  return load;
}

void check_model_sha256(const ModelManifest& manifest) {
  if (manifest.sha256.empty()) return;
  const std::string actual = sha256_file(manifest.file);
  if (actual != manifest.sha256)
    throw Error(ErrorCode::kManifestMismatch, manifest.file + ": sha256 " + actual + " does not match the manifest's " +
                                                  manifest.sha256 + " (" + manifest.manifest_path + ")");
}

Graph import_model_graph(const std::string& onnx_path) {
  // The file's format by its extension or TFLite's identifier; both importers fill the same IR.
  Graph g = is_tflite_file(onnx_path) ? import_tflite_file(onnx_path) : import_onnx_file(onnx_path);
  g_graph_loads.fetch_add(1);
  return g;
}

Graph load_optimized_graph(const std::string& onnx_path, const LoadOptions& options, FinalResizeInfo* final_resize,
                           int* imported_nodes) {
  Graph g = import_model_graph(onnx_path);
  if (imported_nodes) *imported_nodes = static_cast<int>(g.nodes.size());
  return optimize_imported_graph(std::move(g), onnx_path, options, final_resize);
}

Graph optimize_imported_graph(Graph g, const std::string& onnx_path, const LoadOptions& options,
                              FinalResizeInfo* final_resize) {
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
  free_batch(g, shape);
  free_fixed_input_size(g, shape, options.remove_final_resize);
  fold_constants_and_infer_shapes(g, shape);
  OptimizeOptions opt;
  opt.remove_final_resize = options.remove_final_resize;
  opt.fuse = options.fuse;
  FinalResizeInfo info = optimize_graph(g, opt);
  if (final_resize) *final_resize = info;
  return g;
}

}  // namespace deeplab
