// deeplab::Segmenter — the engine's public entry point.
//
//   deeplab::SegmenterOptions options;            // device auto, fp32, the manifest's input size
//   deeplab::Segmenter segmenter(deeplab::resolve_model("deeplabv3-mnv2-voc-513"), options);
//   const deeplab::Segmentation& result = segmenter.segment(frame);   // frame: deeplab::FrameView
//   // result.class_map: result.width x result.height class ids, the frame's own resolution
//
// A Segmenter plans all of its memory when it is built and when the frame size changes; segmenting
// frames of an unchanged size allocates nothing (with submit()/collect(), each of the in-flight
// slots allocates at its first frame of a size). It is not thread-safe: use one per thread/stream.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "deeplab/crf.h"
#include "deeplab/device.h"
#include "deeplab/error.h"
#include "deeplab/frame.h"
#include "deeplab/manifest.h"

namespace deeplab {

inline constexpr int kMaxThreads = 1024;  // SegmenterOptions::threads, the tools' --threads, the element's

// How a frame meets the network input. kStretch: the frame is resized to the network input size
// whatever its aspect. kKeep: the network input takes the frame's aspect: the input size's long side
// is kept (e.g. 513) and the other side follows the frame, rounded to what the network's output
// stride accepts (513x385 for 4:3, 513x289 for 16:9 at output stride 16). The Segmenter re-plans
// (reloads the network) when the frame's aspect asks for another input size; a model whose graph
// is tied to its own input size (a fixed pooling window, fixed resize sizes or reshape) is refused
// then, naming the node.
enum class Aspect { kStretch, kKeep };
Aspect aspect_from_string(const std::string& name);  // "stretch" or "keep"; throws kInvalidArgument
const char* aspect_name(Aspect aspect);

struct SegmenterOptions {
  Device device = Device::kAuto;
  Precision precision = Precision::kFp32;  // fp16 is a CUDA-only option; the CPU runs fp32
  int input_width = 0;   // 0 = the manifest's (or the model's fixed) input size
  int input_height = 0;
  Aspect aspect = Aspect::kStretch;
  int threads = 0;       // CPU threads; 0 = all cores; at most kMaxThreads
  // Keep the model's own final Resize (full-resolution logits at the network input size) instead of
  // upsampling low-resolution logits straight to the frame size. For parity tests and debugging.
  bool keep_final_resize = false;
  // Dense CRF after the network (off by default). With a CRF the class map is the argmax of the
  // CRF's marginals, upsampled from its working resolution (crf.scale x the frame's) when smaller.
  CrfOptions crf;
  // Diagnostics: per-op times of the network, logged (deeplab/log.h, kInfo) when the Segmenter is
  // destroyed; CUDA graph capture and replay (off: direct launches, for debugging).
  bool profile = false;
  bool cuda_graph = true;
};

struct SegmentRequest {
  // Also produce per-class softmax probabilities at this resolution (0 = don't). For the CRF.
  int probabilities_width = 0;
  int probabilities_height = 0;
};

struct Segmentation {
  int width = 0;   // the frame's width and height
  int height = 0;
  std::vector<std::uint8_t> class_map;  // width*height class ids, row-major
  int num_classes = 0;
  int probabilities_width = 0;
  int probabilities_height = 0;
  std::vector<float> probabilities;  // num_classes planes of probabilities_width*height (CHW)
  CrfFrameReport crf;                // what the CRF did for this frame (iterations 0 when off)
};

// Per-stage times of the last segment() (or collected) frame, in milliseconds: wall time on the CPU; on CUDA the GPU
// time between events of each stage (plus the host copies through pinned memory for upload/download).
struct StageTimes {
  double upload_ms = 0;      // CUDA: frame into pinned staging memory + host-to-device copy (0 on the CPU)
  double preprocess_ms = 0;
  double infer_ms = 0;       // the network only
  double postprocess_ms = 0; // upsampling + argmax (+ softmax), the CRF excluded
  double crf_ms = 0;         // the CRF's inputs at its resolution + mean field + its upsampling
  double download_ms = 0;    // CUDA: class map (and probabilities) device-to-host (0 on the CPU)
  double total_ms = 0;       // frame in -> class map out
};

// What the loaded network looks like after import and graph passes.
struct NetworkInfo {
  int batch = 1;          // frames per network call (deeplab/batching.h runs more)
  int input_width = 0;
  int input_height = 0;
  int logits_width = 0;   // resolution of the logits the network yields (its output stride)
  int logits_height = 0;
  int num_classes = 0;
  int node_count = 0;     // after fusion
  std::size_t arena_bytes = 0;
  bool final_resize_removed = false;
  std::string final_resize_mode;  // e.g. "linear/half_pixel"
};

class Segmenter {
 public:
  Segmenter(const ModelManifest& manifest, const SegmenterOptions& options = {});
  ~Segmenter();
  Segmenter(Segmenter&&) noexcept;
  Segmenter& operator=(Segmenter&&) noexcept;
  Segmenter(const Segmenter&) = delete;
  Segmenter& operator=(const Segmenter&) = delete;

  // Segments one frame. The returned reference stays valid until the next call. Throws
  // Error(kInvalidArgument) while frames submitted with submit() are pending.
  const Segmentation& segment(const FrameView& frame, const SegmentRequest& request = {});

  // ---- Pipelined segmentation: up to kMaxInFlight frames in flight ----
  //
  //   segmenter.submit(frame0);                       // returns without waiting for the result
  //   for (each next frame) {
  //     segmenter.submit(next);                       // the GPU works on two frames
  //     const Segmentation* r = segmenter.collect();  // the oldest one, waited for
  //   }
  //   while (const Segmentation* r = segmenter.collect()) ...;   // the last ones
  //
  // submit() copies the frame's pixels before it returns: the caller may reuse or free its buffer
  // at once. collect() returns the results in submission order, each with last_times() set to that
  // frame's times (total_ms: from its submit() to its collect()). On CUDA, while the GPU computes
  // one frame the next one's upload and the previous one's download run on copy streams; with the
  // dense CRF the frames still go through the CRF in submission order (its temporal state). On the
  // CPU, submit() segments the frame before it returns and collect() hands the results out in the
  // same order: the same results and figures as segment().
  static constexpr int kMaxInFlight = 2;
  // Throws Error(kInvalidArgument) when kMaxInFlight frames are already pending (collect() first);
  // a frame segment() would refuse is refused the same way. A refused frame is not submitted and
  // the pipeline stays usable.
  void submit(const FrameView& frame, const SegmentRequest& request = {});
  // The oldest pending frame's result, waiting for it; nullptr when nothing is pending. The result
  // stays valid until the next collect() or segment() call (submit() does not touch it). If the
  // frame's work failed on the device, the error is thrown and the frame is no longer pending.
  const Segmentation* collect();
  // Frames submitted and not yet collected.
  int pending() const;

  // Hands the buffers of the result segment() or collect() returned last to the caller without a
  // copy: swaps its class map (and, when `probabilities` is not null, its probabilities) with the
  // caller's vectors, which the engine then reuses for later frames whatever their size (each
  // frame's buffers are sized as it is written). For bindings that keep results beyond the next
  // call, such as the Python module. Throws Error(kInvalidArgument) for any other result.
  void exchange_result_buffers(const Segmentation& result, std::vector<std::uint8_t>& class_map,
                               std::vector<float>* probabilities = nullptr);

  const ModelManifest& manifest() const;
  const NetworkInfo& network() const;
  Device device() const;  // the device actually used (never kAuto)
  const StageTimes& last_times() const;
  // The next frame starts the temporal CRF from scratch (seek, flush, a new stream).
  void reset_stream();
  // Replaces SegmenterOptions::crf without reloading the network (a GStreamer property changed
  // while playing). Validates like the constructor; the next frame starts the CRF from scratch.
  void set_crf_options(const CrfOptions& crf);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace deeplab
