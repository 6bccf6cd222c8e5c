// The Segmenter's CUDA pipeline as segmenter.cpp sees it — no CUDA header, so that the engine
// builds and runs without CUDA. Implemented by cuda/cuda_segmenter_backend.cpp when the build has
// CUDA and cuDNN 9, by cuda/cuda_backend_unavailable.cpp otherwise (which only says why not).
//
// Per frame: the host frame is copied into pinned staging memory and uploaded asynchronously, the
// pre-processing kernel writes the network input, the network runs (CUDA graph replay), the
// upsample+argmax kernel (or, with the dense CRF, the CRF stage on the device) writes the class map
// on the device, and the class map (and softmax probabilities, when asked) come back to the host.
// Uploads, compute and downloads on three streams, so that two frames can be in flight; CUDA
// events order them and time each stage.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "deeplab/crf.h"
#include "deeplab/device.h"
#include "deeplab/manifest.h"
#include "deeplab/segmenter.h"
#include "graph/graph.h"
#include "postprocess/interpolate.h"

namespace deeplab {

struct CudaBackendConfig {
  Precision precision = Precision::kFp32;
  InputSpec input;        // normalisation and colour order (the manifest's)
  bool nhwc_input = false;  // the model's input is logically NHWC (TF exports), else NCHW
  // Logits -> class-map / probability geometry for a target size (the Segmenter's rule: the removed
  // final Resize's mode and coordinate transform, or the manifest's logits_upsampling).
  std::function<ResampleGeometry(int width, int height)> geometry;
  bool cuda_graph = true;  // SegmenterOptions::cuda_graph
  bool profile = false;    // SegmenterOptions::profile
};

class CudaSegmenterBackend {
 public:
  virtual ~CudaSegmenterBackend() = default;

  // Segments a host frame into `result` (class_map at the frame's size, probabilities at the
  // requested size when asked) and fills the CUDA fields of `times`. Allocates only when the frame
  // size (or the probability size) changes.
  virtual void segment(const FrameView& frame, const SegmentRequest& request, Segmentation& result,
                       StageTimes& times) = 0;

  // Two frames in flight (deeplab::Segmenter::submit/collect): submit() copies the frame into a
  // free slot's pinned memory and enqueues its upload, compute and download without waiting (the
  // device CRF's temporal decision and lattice builds do wait for the compute stream); collect()
  // waits for the oldest submitted frame and writes it into `result` and `times` (total_ms: from
  // submit to collect). At most 2 pending; segment() is submit() + collect() with none pending.
  // The caller checks the counts (kInternal here).
  virtual void submit(const FrameView& frame, const SegmentRequest& request) = 0;
  virtual void collect(Segmentation& result, StageTimes& times) = 0;
  virtual int pending() const = 0;

  // The dense CRF on the device after the network (cuda/crf/cuda_crf_stage.h), from the next frame:
  // segment() then writes the CRF's class map, result.crf and times.crf_ms (the GPU time of the
  // whole stage). kOff removes it. Returns false, and runs no CRF, when this build has no CUDA CRF:
  // the caller then runs the CPU's on logits_to_host(). Validates like the Segmenter.
  virtual bool set_crf(const CrfOptions& options) = 0;
  // The next frame starts the device CRF's temporal state from scratch.
  virtual void reset_crf() = 0;

  // Runs the frame through upload, pre-processing and the network only, and brings the
  // low-resolution logits (dense NHWC floats, logits_height x logits_width x classes) to the host:
  // for what still runs on the CPU after a CUDA network (the dense CRF, for now). Fills upload_ms,
  // preprocess_ms, infer_ms and download_ms of `times`. Valid until the next call.
  virtual const float* logits_to_host(const FrameView& frame, StageTimes& times) = 0;

  // The optimised graph the network runs, and the physical strides (elements) of its values.
  virtual const Graph& graph() const = 0;
  virtual std::vector<std::int64_t> strides(int value) const = 0;
  virtual std::size_t arena_bytes() const = 0;
  virtual std::string describe() const = 0;  // "cuda fp16, CUDA graph, 87 convs, 14 algorithms, ..."
};

// Whether this build has the CUDA network backend; if not, `why` says what is missing.
bool cuda_backend_built(std::string* why);

// Builds the pipeline for `graph` (load_optimized_graph's result) on the current CUDA device.
// Throws Error(kDevice) when the build has no backend or the GPU fails, kUnsupported naming the node
// for what the GPU cannot run.
std::unique_ptr<CudaSegmenterBackend> make_cuda_segmenter_backend(Graph graph, const CudaBackendConfig& config);

}  // namespace deeplab
