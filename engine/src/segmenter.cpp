#include "deeplab/segmenter.h"

#include <omp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <new>
#include <string>

#include "cpu/kernel.h"
#include "crf/crf_stage.h"
#include "deeplab/log.h"
#include "cuda/cuda_backend.h"
#include "network_loader.h"
#include "onnx/onnx_import.h"
#include "postprocess/interpolate.h"
#include "preprocess/preprocess.h"

namespace deeplab {

Device device_from_string(const std::string& name) {
  if (name == "cpu") return Device::kCpu;
  if (name == "cuda" || name == "gpu") return Device::kCuda;
  if (name == "auto") return Device::kAuto;
  throw Error(ErrorCode::kInvalidArgument, "unknown device '" + name + "' (cpu, cuda or auto)");
}

Precision precision_from_string(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "fp16") return Precision::kFp16;
  throw Error(ErrorCode::kInvalidArgument, "unknown precision '" + name + "' (fp32 or fp16)");
}

const char* device_name(Device device) {
  switch (device) {
    case Device::kCpu: return "cpu";
    case Device::kCuda: return "cuda";
    case Device::kAuto: return "auto";
  }
  return "?";
}

// Implemented by the CUDA backend when it is built; otherwise reports why there is no GPU.
bool cuda_device_available(std::string* why);

namespace {

using Clock = std::chrono::steady_clock;
ResizeAttrs::Coord coordinate_mode(const std::string& name) {
  if (name == "align_corners") return ResizeAttrs::kAlignCorners;
  if (name == "pytorch_half_pixel") return ResizeAttrs::kPytorchHalfPixel;
  if (name == "asymmetric") return ResizeAttrs::kAsymmetric;
  return ResizeAttrs::kHalfPixel;
}

// The API's boundary: a std::bad_alloc (a huge frame, the CRF's buffers, a model too large) becomes an
// Error that says what ran out, so that callers catching deeplab::Error report it instead of ending
// in std::terminate.
template <class Work>
auto memory_errors_named(const std::string& what, Work&& work) -> decltype(work()) {
  try {
    return work();
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::kOutOfMemory, "out of memory " + what);
  }
}

std::string frame_text(const FrameView& frame, const CrfOptions& crf) {
  std::string text = "segmenting a " + std::to_string(frame.width) + "x" + std::to_string(frame.height) + " frame";
  if (crf.mode != CrfMode::kOff) {
    const CrfWorkingSize size = crf_working_size(frame.width, frame.height, crf);
    text += " with the dense CRF at " + std::to_string(size.width) + "x" + std::to_string(size.height) +
            " (lower crf-scale or crf-max-pixels)";
  }
  return text;
}

void validate_segmenter_options(const SegmenterOptions& o) {
  if (o.threads < 0 || o.threads > kMaxThreads)
    throw Error(ErrorCode::kInvalidArgument, "threads must be in 0.." + std::to_string(kMaxThreads) +
                                                 " (0 = all cores), got " + std::to_string(o.threads));
  if (o.input_width < 0 || o.input_height < 0 || o.input_width > 16384 || o.input_height > 16384)
    throw Error(ErrorCode::kInvalidArgument, "input size must be 0 (the model's) or 1..16384 a side, got " +
                                                 std::to_string(o.input_width) + "x" + std::to_string(o.input_height));
  validate_crf_options(o.crf);
}

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

void say_auto_is_cpu(const std::string& why) {
  static bool said_once = false;
  if (!said_once) {
    log_message(LogLevel::kInfo, "device auto -> cpu (" + why + ")");
    said_once = true;
  }
}

// CUDA when asked for (or auto) and both a usable GPU and the CUDA backend (cuDNN) are there.
Device choose_device(Device requested) {
  if (requested == Device::kCpu) return Device::kCpu;
  std::string no_gpu, not_built;
  const bool gpu = cuda_device_available(&no_gpu);
  const bool built = cuda_backend_built(&not_built);
  if (requested == Device::kCuda) {
    if (!gpu) throw Error(ErrorCode::kDevice, "--device cuda: " + no_gpu);
    if (!built) throw Error(ErrorCode::kDevice, "--device cuda: " + not_built);
    return Device::kCuda;
  }
  if (gpu && built) return Device::kCuda;
  say_auto_is_cpu(gpu ? not_built : no_gpu);
  return Device::kCpu;
}

}  // namespace

class Segmenter::Impl {
 public:
  Impl(const ModelManifest& manifest, const SegmenterOptions& options) : manifest_(manifest), options_(options) {
    validate_segmenter_options(options_);
    device_ = choose_device(options.device);
    check_sha256();
    load_network();
    describe_logits();
    set_crf_options(options_.crf);
  }

  const Segmentation& segment(const FrameView& frame, const SegmentRequest& request) {
    if (pending_ > 0)
      throw Error(ErrorCode::kInvalidArgument, "Segmenter::segment: " + std::to_string(pending_) +
                                                   " submitted frames are pending; collect() them first");
    run_frame(frame, request, result_, times_);
    return result_;
  }

  // ---- submit() / collect() ----

  void submit(const FrameView& frame, const SegmentRequest& request) {
    if (pending_ == Segmenter::kMaxInFlight)
      throw Error(ErrorCode::kInvalidArgument, "Segmenter::submit: " + std::to_string(pending_) +
                                                   " frames are already in flight (the most); collect() one first");
    InFlight& f = in_flight_[(head_ + pending_) % kResultSlots];
    f.on_device = cuda_ && !crf_;
    if (f.on_device) {
      cuda_->submit(frame, request);  // copies the frame, enqueues, returns
    } else {
      run_frame(frame, request, f.result, f.times);  // the CPU (or the CPU's CRF): done here
    }
    ++pending_;
  }

  const Segmentation* collect() {
    if (pending_ == 0) return nullptr;
    InFlight& f = in_flight_[head_];
    head_ = (head_ + 1) % kResultSlots;
    --pending_;
    if (f.on_device) {
      cuda_->collect(f.result, f.times);
    }
    times_ = f.times;
    return &f.result;
  }

  int pending() const { return pending_; }

  // Validated before anything changes; the next frame starts the CRF from scratch. On CUDA the CRF
  // runs on the device after the network when the build has the CUDA CRF, else on the CPU.
  void set_crf_options(const CrfOptions& crf) {
    validate_crf_options(crf);
    options_.crf = crf;
    crf_.reset();
    const bool on_device = cuda_ && cuda_->set_crf(crf);
    if (crf.mode != CrfMode::kOff && !on_device) crf_ = std::make_unique<crf::CrfStage>(crf, cpu_threads());
    result_.crf = CrfFrameReport{};
  }

  void reset_stream() {
    if (crf_) crf_->reset();
    if (cuda_) cuda_->reset_crf();
  }

  ModelManifest manifest_;
  SegmenterOptions options_;
  Device device_ = Device::kCpu;
  NetworkInfo info_;
  StageTimes times_;

 private:
  void check_sha256() {
    if (manifest_.sha256.empty()) return;
    const std::string actual = sha256_file(manifest_.file);
    if (actual != manifest_.sha256)
      throw Error(ErrorCode::kManifestMismatch, manifest_.file + ": sha256 " + actual + " does not match the manifest's " +
                                                    manifest_.sha256 + " (" + manifest_.manifest_path + ")");
  }

  void load_network() {
    int width = options_.input_width > 0 ? options_.input_width : manifest_.input.width;
    int height = options_.input_height > 0 ? options_.input_height : manifest_.input.height;
    LoadOptions load;
    load.output = manifest_.output;
    load.threads = options_.threads;
    load.profile = options_.profile;
    load.remove_final_resize = !options_.keep_final_resize;
    if (width > 0 && height > 0) {
      load.input_shape = manifest_.input.layout == TensorLayout::kNHWC ? std::vector<std::int64_t>{1, height, width, 3}
                                                                       : std::vector<std::int64_t>{1, 3, height, width};
    }
    if (device_ == Device::kCuda) load_cuda_network(load);
    if (device_ == Device::kCpu) {
      LoadedNetwork loaded = load_cpu_network(manifest_.file, load);
      net_ = std::move(loaded.network);
      final_resize_ = loaded.final_resize;
    }
    const Value& input = graph().values[graph().inputs[0]];
    if (!manifest_.input.name.empty() && input.name != manifest_.input.name)
      throw Error(ErrorCode::kManifestMismatch, manifest_.file + ": the model's input is '" + input.name +
                                                    "' but the manifest says '" + manifest_.input.name + "'");
    const bool nhwc = manifest_.input.layout == TensorLayout::kNHWC;
    const int channel_axis = nhwc ? 3 : 1;
    if (input.shape.size() != 4 || input.shape[channel_axis] != 3)
      throw Error(ErrorCode::kManifestMismatch, manifest_.file + ": input shape " + shape_string(input.shape) +
                                                    " is not a 3-channel " + (nhwc ? "NHWC" : "NCHW") + " image");
    info_.input_height = static_cast<int>(input.shape[nhwc ? 1 : 2]);
    info_.input_width = static_cast<int>(input.shape[nhwc ? 2 : 3]);
    const auto strides = value_strides(graph().inputs[0]);
    InputTensorLayout layout;
    layout.width = info_.input_width;
    layout.height = info_.input_height;
    layout.channel_stride = strides[channel_axis];
    layout.row_stride = strides[nhwc ? 1 : 2];
    layout.col_stride = strides[nhwc ? 2 : 3];
    if (net_) preprocessor_ = std::make_unique<Preprocessor>(manifest_.input, layout);  // CUDA pre-processes itself
    info_.node_count = static_cast<int>(graph().nodes.size());
    info_.arena_bytes = cuda_ ? cuda_->arena_bytes() : net_->arena_bytes();
    info_.final_resize_removed = final_resize_.removed;
    if (final_resize_.removed) info_.final_resize_mode = final_resize_.attrs.describe();
    if (final_resize_.removed && !manifest_.logits_upsampling.empty())
      info_.final_resize_mode += " (manifest: upsample " + manifest_.logits_upsampling + ")";
  }

  // The output is NCHW logits (physically NHWC when channels-last) or NHWC logits.
  void describe_logits() {
    const int out = graph().outputs[0];
    const Value& v = graph().values[out];
    if (v.shape.size() != 4 || v.shape[0] != 1)
      throw Error(ErrorCode::kUnsupported, manifest_.file + ": output '" + v.name + "' has shape " +
                                               shape_string(v.shape) + "; 4-D class scores are expected");
    const bool nhwc_logical = manifest_.input.layout == TensorLayout::kNHWC;
    const int c_axis = nhwc_logical ? 3 : 1, h_axis = nhwc_logical ? 1 : 2, w_axis = nhwc_logical ? 2 : 3;
    info_.num_classes = static_cast<int>(v.shape[c_axis]);
    info_.logits_height = static_cast<int>(v.shape[h_axis]);
    info_.logits_width = static_cast<int>(v.shape[w_axis]);
    if (info_.num_classes < 1 || info_.num_classes > 256)
      throw Error(ErrorCode::kUnsupported, manifest_.file + ": " + std::to_string(info_.num_classes) +
                                               " classes; 1..256 are supported");
    if (!manifest_.classes.empty() && static_cast<int>(manifest_.classes.size()) != info_.num_classes)
      throw Error(ErrorCode::kManifestMismatch, manifest_.file + ": the model yields " + std::to_string(info_.num_classes) +
                                                    " classes, the manifest lists " + std::to_string(manifest_.classes.size()));
    const auto strides = value_strides(out);
    logits_are_nhwc_ = strides[c_axis] == 1 && strides[w_axis] == v.shape[c_axis];
    if (!logits_are_nhwc_) {
      nhwc_copy_.resize(static_cast<std::size_t>(v.element_count()));
      nhwc_strides_ = {0, 0, 0, 0};
      nhwc_strides_[c_axis] = 1;
      nhwc_strides_[w_axis] = info_.num_classes;
      nhwc_strides_[h_axis] = static_cast<std::int64_t>(info_.num_classes) * info_.logits_width;
      nhwc_strides_[0] = nhwc_strides_[h_axis] * info_.logits_height;
    }
    result_.num_classes = info_.num_classes;
    for (InFlight& f : in_flight_) f.result.num_classes = info_.num_classes;
  }

  const float* logits_nhwc() {
    const int out = net_->output_value();
    if (logits_are_nhwc_) return net_->data(out);
    copy_strided(nhwc_copy_.data(), nhwc_strides_, net_->data(out), net_->strides(out), net_->graph().values[out].shape);
    return nhwc_copy_.data();
  }

  // Geometry from logits to a target size: the removed final Resize's own mode and coordinate
  // transform, its scale stretched by target/input (exactly its scale when they are equal).
  ResampleGeometry geometry_to(int width, int height) const {
    ResizeAttrs attrs;
    float scale_h, scale_w;
    if (final_resize_.removed && !manifest_.logits_upsampling.empty()) {
      attrs.mode = ResizeAttrs::kLinear;
      attrs.coord = coordinate_mode(manifest_.logits_upsampling);
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
    return make_resample_geometry(info_.logits_height, info_.logits_width, info_.num_classes, height, width,
                                  scale_h, scale_w, attrs);
  }

  // The class-map geometry for this frame size (kept until the size changes) and `out` sized for it.
  void prepare_output(int width, int height, Segmentation& out) {
    if (width != class_width_ || height != class_height_) {
      class_width_ = class_height_ = -1;  // until the geometry is in place
      class_geometry_ = geometry_to(width, height);
      scratch_.resize(std::max(scratch_.size(), resample_scratch_floats(class_geometry_, cpu_threads())));
      class_width_ = width;
      class_height_ = height;
    }
    const std::size_t pixels = static_cast<std::size_t>(width) * height;
    if (out.width != width || out.height != height || out.class_map.size() != pixels) {
      out.width = width;
      out.height = height;
      out.class_map.assign(pixels, 0);
    }
    out.num_classes = info_.num_classes;
  }

  void prepare_probabilities(int width, int height, Segmentation& out) {
    if (width != prob_width_ || height != prob_height_) {
      prob_width_ = prob_height_ = -1;
      prob_geometry_ = geometry_to(width, height);
      scratch_.resize(std::max(scratch_.size(), resample_scratch_floats(prob_geometry_, cpu_threads())));
      prob_width_ = width;
      prob_height_ = height;
    }
    const std::size_t floats = static_cast<std::size_t>(width) * height * info_.num_classes;
    if (out.probabilities.size() != floats) out.probabilities.assign(floats, 0.0f);
    out.probabilities_width = width;
    out.probabilities_height = height;
  }

  // The class map from the CRF (crf/crf_stage.h); the logits go to its working size with the same
  // geometry as to the frame.
  void run_crf(const FrameView& frame, const float* logits, Segmentation& out, StageTimes& times) {
    const auto crf_start = Clock::now();
    if (!crf_->prepared_for(frame.width, frame.height)) {
      const CrfWorkingSize size = crf_working_size(frame.width, frame.height, options_.crf);
      crf_->prepare(frame.width, frame.height, info_.num_classes, geometry_to(size.width, size.height));
    }
    out.crf = crf_->run(frame, logits, out.class_map.data());
    times.crf_ms = ms_since(crf_start);
  }

  // One frame into `out` and `times`: on the GPU (the CRF included when it runs there), on the GPU
  // with the CPU's CRF, or on the CPU.
  void run_frame(const FrameView& frame, const SegmentRequest& request, Segmentation& out, StageTimes& times) {
    if (cuda_ && !crf_) {
      cuda_->segment(frame, request, out, times);
      return;
    }
    const auto start = Clock::now();
    const float* logits = nullptr;
    if (cuda_) {
      logits = cuda_->logits_to_host(frame, times);
    } else {
      preprocessor_->run(frame, net_->data(net_->input_value()));
      times.preprocess_ms = ms_since(start);
      const auto infer_start = Clock::now();
      net_->run();
      times.infer_ms = ms_since(infer_start);
      logits = logits_nhwc();
    }
    const auto post_start = Clock::now();
    prepare_output(frame.width, frame.height, out);
    if (crf_) {
      run_crf(frame, logits, out, times);
    } else {
      upsample_argmax(class_geometry_, logits, out.class_map.data(), scratch_.data());
      out.crf = CrfFrameReport{};
      times.crf_ms = 0;
    }
    const auto probabilities_start = Clock::now();
    if (request.probabilities_width > 0 && request.probabilities_height > 0) {
      prepare_probabilities(request.probabilities_width, request.probabilities_height, out);
      upsample_softmax(prob_geometry_, logits, out.probabilities.data(), scratch_.data());
    } else {
      out.probabilities_width = out.probabilities_height = 0;
    }
    times.postprocess_ms = crf_ ? ms_since(probabilities_start) : ms_since(post_start);
    times.total_ms = ms_since(start);
  }

  // ---- CUDA (cuda/cuda_backend.h): the pipeline runs there; this class only dispatches ----

  // The optimised graph goes to the CUDA pipeline instead of a CpuNetwork. With device auto, a
  // CUDA backend that fails to load falls back to the CPU, saying why once.
  void load_cuda_network(const LoadOptions& load) {
    try {
      CudaBackendConfig config;
      config.precision = options_.precision;
      config.input = manifest_.input;
      config.nhwc_input = manifest_.input.layout == TensorLayout::kNHWC;
      config.cuda_graph = options_.cuda_graph;
      config.profile = options_.profile;
      config.geometry = [this](int width, int height) { return geometry_to(width, height); };
      cuda_ = make_cuda_segmenter_backend(load_optimized_graph(manifest_.file, load, &final_resize_), config);
    } catch (const Error& e) {
      if (options_.device != Device::kAuto) throw;
      say_auto_is_cpu(std::string("the CUDA backend failed to load: ") + e.what());
      device_ = Device::kCpu;
    }
  }

  const Graph& graph() const { return cuda_ ? cuda_->graph() : net_->graph(); }
  std::vector<std::int64_t> value_strides(int value) const { return cuda_ ? cuda_->strides(value) : net_->strides(value); }
  // Threads of what runs on the CPU (post-processing, CRF): the CPU network's, else OpenMP's.
  int cpu_threads() const { return net_ ? net_->threads() : omp_get_max_threads(); }

  std::unique_ptr<CudaSegmenterBackend> cuda_;
  std::unique_ptr<CpuNetwork> net_;
  std::unique_ptr<Preprocessor> preprocessor_;
  std::unique_ptr<crf::CrfStage> crf_;
  FinalResizeInfo final_resize_;
  bool logits_are_nhwc_ = true;
  std::vector<float> nhwc_copy_;
  std::vector<std::int64_t> nhwc_strides_;
  ResampleGeometry class_geometry_, prob_geometry_;
  int class_width_ = -1, class_height_ = -1, prob_width_ = -1, prob_height_ = -1;
  std::vector<float> scratch_;
  Segmentation result_;  // segment()'s

  // submit()/collect(): a ring of results, one more than can be in flight so that the one collect()
  // handed out stays valid while two more are submitted.
  struct InFlight {
    Segmentation result;
    StageTimes times;
    bool on_device = false;  // the CUDA backend holds it until collect()
  };
  static constexpr int kResultSlots = Segmenter::kMaxInFlight + 1;
  InFlight in_flight_[kResultSlots];
  int head_ = 0, pending_ = 0;
};

Segmenter::Segmenter(const ModelManifest& manifest, const SegmenterOptions& options)
    : impl_(memory_errors_named("loading model '" + manifest.name + "' (" + manifest.file + ")",
                                [&] { return std::make_unique<Impl>(manifest, options); })) {}
Segmenter::~Segmenter() = default;
Segmenter::Segmenter(Segmenter&&) noexcept = default;
Segmenter& Segmenter::operator=(Segmenter&&) noexcept = default;

const Segmentation& Segmenter::segment(const FrameView& frame, const SegmentRequest& request) {
  try {
    return impl_->segment(frame, request);
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::kOutOfMemory, "out of memory " + frame_text(frame, impl_->options_.crf));
  }
}
void Segmenter::submit(const FrameView& frame, const SegmentRequest& request) {
  try {
    impl_->submit(frame, request);
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::kOutOfMemory, "out of memory " + frame_text(frame, impl_->options_.crf));
  }
}
const Segmentation* Segmenter::collect() { return impl_->collect(); }
int Segmenter::pending() const { return impl_->pending(); }
const ModelManifest& Segmenter::manifest() const { return impl_->manifest_; }
const NetworkInfo& Segmenter::network() const { return impl_->info_; }
Device Segmenter::device() const { return impl_->device_; }
const StageTimes& Segmenter::last_times() const { return impl_->times_; }
void Segmenter::reset_stream() { impl_->reset_stream(); }
void Segmenter::set_crf_options(const CrfOptions& crf) { impl_->set_crf_options(crf); }

}  // namespace deeplab
