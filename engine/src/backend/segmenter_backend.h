// The seam under deeplab::Segmenter: what runs its frames. One interface for every backend — the
// CPU (cpu/cpu_segmenter_backend.cpp), CUDA (cuda/cuda_segmenter_backend.cpp), and whatever
// comes next (batched, int8) — looked up in one registry (backend/registry.h), and the pieces they
// share: the network's description with its checks (describe_network), where the pre-processing
// writes (input_layout) and the geometry from the logits to any frame size (LogitsGeometry).
//
//   Segmenter (segmenter.cpp): options, device choice, model file -> optimised graph, the in-flight
//     ring of results; orchestration only
//   SegmenterBackend: frame -> pre-processing -> network -> class map (+ CRF, probabilities)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "deeplab/manifest.h"
#include "deeplab/segmenter.h"
#include "graph/graph.h"
#include "graph/passes.h"
#include "postprocess/interpolate.h"
#include "preprocess/preprocess.h"

namespace deeplab {

// The network's input and logits sizes and class count, from the optimised graph's shapes; throws
// kManifestMismatch / kUnsupported naming the file for an input that is not a 3-channel image of
// the manifest's layout and name, logits that are not 4-D, or a class count the manifest disagrees
// with. node_count and arena_bytes are left for the backend.
NetworkInfo describe_network(const Graph& graph, const ModelManifest& manifest, const FinalResizeInfo& final_resize);

// Where the pre-processing writes: the network input's own strides (NCHW logical, channels-last
// physical for torchvision exports; NHWC for TF ones).
InputTensorLayout input_layout(const NetworkInfo& info, const std::vector<std::int64_t>& input_strides, bool nhwc);

// The axes of the logits' class, height and width dimensions in the graph's logical shape.
struct LogitsAxes {
  int c, h, w;
};
LogitsAxes logits_axes(bool nhwc);

// Logits -> class-map / probability geometry for a target size: the removed final Resize's own
// mode and coordinate transform (its scale stretched by target / network input), or the manifest's
// logits_upsampling, or bilinear half-pixel when the model kept its Resize.
class LogitsGeometry {
 public:
  LogitsGeometry() = default;
  LogitsGeometry(const NetworkInfo& info, const FinalResizeInfo& final_resize, std::string logits_upsampling);
  ResampleGeometry to(int width, int height) const;

 private:
  NetworkInfo info_;
  FinalResizeInfo final_resize_;
  std::string logits_upsampling_;
};

// Aspect::kKeep's network input size for a frame (the Segmenter's and the batching engine's rule):
// the long side of the configured base size kept, the other one from the frame's aspect rounded to
// a multiple of the output stride (plus one where the base size has that form, as align_corners
// DeepLab models do: 513 = 32*16+1).
struct InputSize {
  int width = 0, height = 0;
  bool operator==(const InputSize& o) const { return width == o.width && height == o.height; }
  bool operator<(const InputSize& o) const { return width != o.width ? width < o.width : height < o.height; }
};
InputSize keep_aspect_input_size(InputSize base, int stride, int frame_width, int frame_height);
// The network's output stride, from its input and logits sizes (513 -> 33: 16).
int network_output_stride(const NetworkInfo& info);

// What a backend is built from besides the graph.
struct BackendSetup {
  ModelManifest manifest;
  SegmenterOptions options;
  NetworkInfo info;
  LogitsGeometry geometry;
};

// The model file imported and optimised for `batch` frames of width x height (0 x 0: the model's
// own size), described and checked against the manifest: what a backend is built from. Every call
// loads the file (network_loader.h counts the loads).
struct PreparedModel {
  Graph graph;
  BackendSetup setup;
};
PreparedModel prepare_model(const ModelManifest& manifest, const SegmenterOptions& options, int width, int height,
                            int batch = 1);
// One import of the file, optimised for each of `batches` (the batching engine's network sizes).
std::vector<PreparedModel> prepare_models(const ModelManifest& manifest, const SegmenterOptions& options, int width,
                                          int height, const std::vector<int>& batches);

class SegmenterBackend {
 public:
  virtual ~SegmenterBackend() = default;

  // Takes the frame (it may be reused once this returns) and starts it. Its class map (and
  // probabilities when asked, at their requested size), CRF report and stage times are in `result`
  // and `times` once collect() has returned for it: a synchronous backend fills them here, one
  // with frames in flight in collect(). At most Segmenter::kMaxInFlight are pending (the
  // Segmenter's ring keeps count).
  virtual void submit(const FrameView& frame, const SegmentRequest& request, Segmentation& result,
                      StageTimes& times) = 0;
  // Finishes the oldest submitted frame into `result` / `times` (the same objects submit() got).
  virtual void collect(Segmentation& result, StageTimes& times) = 0;

  // The dense CRF after the network from the next frame on (kOff removes it); validated first.
  virtual void set_crf(const CrfOptions& options) = 0;
  // The next frame starts the CRF's temporal state from scratch.
  virtual void reset_crf() = 0;

  // The optimised graph the network runs, the physical strides (elements) of its values, the
  // activation memory, and one line about how it runs ("cpu, 2 threads", "cuda fp16, CUDA graph...").
  virtual const Graph& graph() const = 0;
  virtual std::vector<std::int64_t> strides(int value) const = 0;
  virtual std::size_t arena_bytes() const = 0;
  virtual std::string describe() const = 0;
};

// The backend of `device` (kCpu or kCuda; kAuto is resolved by the Segmenter first) from the
// registry (backend/registry.h); Error(kDevice) saying why when this build has none.
std::unique_ptr<SegmenterBackend> make_segmenter_backend(Device device, Graph graph, const BackendSetup& setup);

}  // namespace deeplab
