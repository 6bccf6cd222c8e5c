#include "backend/segmenter_backend.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "backend/registry.h"
#include "deeplab/error.h"
#include "network_loader.h"

namespace deeplab {

namespace {

ResizeAttrs::Coord coordinate_mode(const std::string& name) {
  if (name == "align_corners") return ResizeAttrs::kAlignCorners;
  if (name == "pytorch_half_pixel") return ResizeAttrs::kPytorchHalfPixel;
  if (name == "asymmetric") return ResizeAttrs::kAsymmetric;
  return ResizeAttrs::kHalfPixel;
}

void describe_input(const Graph& graph, const ModelManifest& manifest, NetworkInfo& info) {
  const Value& input = graph.values[graph.inputs[0]];
  if (!manifest.input.name.empty() && input.name != manifest.input.name)
    throw Error(ErrorCode::kManifestMismatch, manifest.file + ": the model's input is '" + input.name +
                                                  "' but the manifest says '" + manifest.input.name + "'");
  const bool nhwc = manifest.input.layout == TensorLayout::kNHWC;
  const int channel_axis = nhwc ? 3 : 1;
  if (input.shape.size() != 4 || input.shape[channel_axis] != 3)
    throw Error(ErrorCode::kManifestMismatch, manifest.file + ": input shape " + shape_string(input.shape) +
                                                  " is not a 3-channel " + (nhwc ? "NHWC" : "NCHW") + " image");
  info.batch = static_cast<int>(input.shape[0]);
  info.input_height = static_cast<int>(input.shape[nhwc ? 1 : 2]);
  info.input_width = static_cast<int>(input.shape[nhwc ? 2 : 3]);
}

// The output is NCHW logits (physically NHWC when channels-last) or NHWC logits.
void describe_logits(const Graph& graph, const ModelManifest& manifest, NetworkInfo& info) {
  const Value& v = graph.values[graph.outputs[0]];
  if (v.shape.size() != 4 || v.shape[0] != info.batch)
    throw Error(ErrorCode::kUnsupported, manifest.file + ": output '" + v.name + "' has shape " +
                                             shape_string(v.shape) + "; 4-D class scores are expected");
  const LogitsAxes a = logits_axes(manifest.input.layout == TensorLayout::kNHWC);
  info.num_classes = static_cast<int>(v.shape[a.c]);
  info.logits_height = static_cast<int>(v.shape[a.h]);
  info.logits_width = static_cast<int>(v.shape[a.w]);
  if (info.num_classes < 1 || info.num_classes > 256)
    throw Error(ErrorCode::kUnsupported, manifest.file + ": " + std::to_string(info.num_classes) +
                                             " classes; 1..256 are supported");
  if (!manifest.classes.empty() && static_cast<int>(manifest.classes.size()) != info.num_classes)
    throw Error(ErrorCode::kManifestMismatch, manifest.file + ": the model yields " + std::to_string(info.num_classes) +
                                                  " classes, the manifest lists " + std::to_string(manifest.classes.size()));
}

}  // namespace

NetworkInfo describe_network(const Graph& graph, const ModelManifest& manifest, const FinalResizeInfo& final_resize) {
  NetworkInfo info;
  describe_input(graph, manifest, info);
  describe_logits(graph, manifest, info);
  info.node_count = static_cast<int>(graph.nodes.size());
  info.final_resize_removed = final_resize.removed;
  if (final_resize.removed) info.final_resize_mode = final_resize.attrs.describe();
  if (final_resize.removed && !manifest.logits_upsampling.empty())
    info.final_resize_mode += " (manifest: upsample " + manifest.logits_upsampling + ")";
  return info;
}

PreparedModel prepare_model(const ModelManifest& manifest, const SegmenterOptions& options, int width, int height,
                            int batch) {
  return prepare_models(manifest, options, width, height, {batch}).front();
}

std::vector<PreparedModel> prepare_models(const ModelManifest& manifest, const SegmenterOptions& options, int width,
                                          int height, const std::vector<int>& batches) {
  const Graph imported = import_model_graph(manifest.file);
  std::vector<PreparedModel> models;
  for (int batch : batches) {
    FinalResizeInfo final_resize;
    const LoadOptions load = segmenter_load_options(manifest, options.keep_final_resize, width, height, batch);
    Graph graph = optimize_imported_graph(imported, manifest.file, load, &final_resize);
    const NetworkInfo info = describe_network(graph, manifest, final_resize);
    BackendSetup setup{manifest, options, info, LogitsGeometry(info, final_resize, manifest.logits_upsampling)};
    models.push_back(PreparedModel{std::move(graph), std::move(setup)});
  }
  return models;
}

InputSize keep_aspect_input_size(InputSize base, int stride, int frame_width, int frame_height) {
  const int long_side = std::max(base.width, base.height);
  const int plus_one = (long_side - 1) % stride == 0 ? 1 : 0;
  const double other = static_cast<double>(long_side) * std::min(frame_width, frame_height) /
                       std::max(frame_width, frame_height);
  const int steps = std::max(1, static_cast<int>(std::lround((other - plus_one) / stride)));
  const int short_side = std::min(long_side, steps * stride + plus_one);
  return frame_width >= frame_height ? InputSize{long_side, short_side} : InputSize{short_side, long_side};
}

int network_output_stride(const NetworkInfo& info) {
  const int in = info.input_width, out = info.logits_width;
  if (in <= 1 || out <= 1) return 1;
  if ((in - 1) % (out - 1) == 0) return (in - 1) / (out - 1);
  return std::max(1, static_cast<int>(std::lround(static_cast<double>(in) / out)));
}

InputTensorLayout input_layout(const NetworkInfo& info, const std::vector<std::int64_t>& input_strides, bool nhwc) {
  InputTensorLayout layout;
  layout.width = info.input_width;
  layout.height = info.input_height;
  layout.channel_stride = input_strides[nhwc ? 3 : 1];
  layout.row_stride = input_strides[nhwc ? 1 : 2];
  layout.col_stride = input_strides[nhwc ? 2 : 3];
  return layout;
}

LogitsAxes logits_axes(bool nhwc) { return nhwc ? LogitsAxes{3, 1, 2} : LogitsAxes{1, 2, 3}; }

LogitsGeometry::LogitsGeometry(const NetworkInfo& info, const FinalResizeInfo& final_resize,
                               std::string logits_upsampling)
    : info_(info), final_resize_(final_resize), logits_upsampling_(std::move(logits_upsampling)) {}

ResampleGeometry LogitsGeometry::to(int width, int height) const {
  ResizeAttrs attrs;
  float scale_h, scale_w;
  if (final_resize_.removed && !logits_upsampling_.empty()) {
    attrs.mode = ResizeAttrs::kLinear;
    attrs.coord = coordinate_mode(logits_upsampling_);
    scale_h = static_cast<float>(height) / info_.logits_height;
    scale_w = static_cast<float>(width) / info_.logits_width;
  } else if (final_resize_.removed) {
    attrs = final_resize_.attrs;
    scale_h = height == info_.input_height ? attrs.scale_h : attrs.scale_h * static_cast<float>(height) / info_.input_height;
    scale_w = width == info_.input_width ? attrs.scale_w : attrs.scale_w * static_cast<float>(width) / info_.input_width;
  } else {
    attrs.mode = ResizeAttrs::kLinear;
    attrs.coord = ResizeAttrs::kHalfPixel;
    scale_h = static_cast<float>(height) / info_.logits_height;
    scale_w = static_cast<float>(width) / info_.logits_width;
  }
  return make_resample_geometry(info_.logits_height, info_.logits_width, info_.num_classes, height, width, scale_h,
                                scale_w, attrs);
}

std::unique_ptr<SegmenterBackend> make_segmenter_backend(Device device, Graph graph, const BackendSetup& setup) {
  if (device == Device::kAuto)
    throw Error(ErrorCode::kInternal, "make_segmenter_backend: device auto must be resolved first");
  const BackendEntry* entry = backend_registry().find(device);
  if (entry && entry->make_segmenter) return entry->make_segmenter(std::move(graph), setup);
  std::string why;
  if (device == Device::kCuda) cuda_backend_built(&why);
  throw Error(ErrorCode::kDevice, std::string("--device ") + device_name(device) + ": " +
                                      (why.empty() ? "this build has no backend for it" : why));
}

}  // namespace deeplab

namespace deeplab {

std::unique_ptr<BatchBackend> make_batch_backend(Device device, std::vector<PreparedModel> models) {
  const BackendEntry* entry = backend_registry().find(device);
  if (entry && entry->make_batch) return entry->make_batch(std::move(models));
  throw Error(ErrorCode::kUnsupported, std::string("the batching engine (model-instance-id, batch-size) runs on the "
                                                   "CPU backend only: device ") +
                                           device_name(device) + " runs one frame per network call (issue 15)");
}

}  // namespace deeplab
