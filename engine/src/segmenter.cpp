#include "deeplab/segmenter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <new>
#include <string>

#include "backend/registry.h"
#include "backend/segmenter_backend.h"
#include "common/enum_names.h"
#include "deeplab/log.h"
#include "network_loader.h"

namespace deeplab {

namespace {

constexpr EnumName<Device> kDeviceNames[] = {
    {Device::kCpu, "cpu"}, {Device::kCuda, "cuda"}, {Device::kCuda, "gpu"}, {Device::kAuto, "auto"}};
constexpr EnumName<Precision> kPrecisionNames[] = {{Precision::kFp32, "fp32"}, {Precision::kFp16, "fp16"}};
constexpr EnumName<Aspect> kAspectNames[] = {{Aspect::kStretch, "stretch"}, {Aspect::kKeep, "keep"}};

}  // namespace

Device device_from_string(const std::string& name) {
  Device device;
  if (enum_from_name(kDeviceNames, name, &device)) return device;
  throw Error(ErrorCode::kInvalidArgument, "unknown device '" + name + "' (cpu, cuda or auto)");
}

Precision precision_from_string(const std::string& name) {
  Precision precision;
  if (enum_from_name(kPrecisionNames, name, &precision)) return precision;
  throw Error(ErrorCode::kInvalidArgument, "unknown precision '" + name + "' (fp32 or fp16)");
}

Aspect aspect_from_string(const std::string& name) {
  Aspect aspect;
  if (enum_from_name(kAspectNames, name, &aspect)) return aspect;
  throw Error(ErrorCode::kInvalidArgument, "unknown aspect '" + name + "' (stretch or keep)");
}

const char* aspect_name(Aspect aspect) { return enum_name(kAspectNames, aspect); }

const char* device_name(Device device) { return enum_name(kDeviceNames, device); }

namespace {

// The API's boundary: a std::bad_alloc (a huge frame, the CRF's buffers, a model too large) becomes an
// Error that says what ran out, so that callers catching deeplab::Error report it instead of ending
// in std::terminate.
// `what()` is called only when memory ran out: segment()/submit() run on every frame, which must not
// allocate.
template <class What, class Work>
decltype(auto) memory_errors_named(What&& what, Work&& work) {
  try {
    return work();
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::kOutOfMemory, "out of memory " + what());
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

// Orchestration only: options, the device, model file -> optimised graph, the backend that runs the
// frames (backend/segmenter_backend.h) and the ring of results of submit()/collect().
class Segmenter::Impl {
 public:
  Impl(const ModelManifest& manifest, const SegmenterOptions& options) : manifest_(manifest), options_(options) {
    validate_segmenter_options(options_);
    device_ = choose_device(options.device);
    check_model_sha256(manifest_);
    input_width_ = options_.input_width > 0 ? options_.input_width : manifest_.input.width;
    input_height_ = options_.input_height > 0 ? options_.input_height : manifest_.input.height;
    load_backend();
    base_width_ = info_.input_width, base_height_ = info_.input_height;
    stride_ = network_output_stride(info_);
    set_crf_options(options_.crf);
  }

  const Segmentation& segment(const FrameView& frame, const SegmentRequest& request) {
    if (pending_ > 0)
      throw Error(ErrorCode::kInvalidArgument, "Segmenter::segment: " + std::to_string(pending_) +
                                                   " submitted frames are pending; collect() them first");
    validate_frame(frame);
    follow_frame_aspect(frame);
    handed_out_ = nullptr;
    backend_->submit(frame, request, result_, times_);
    backend_->collect(result_, times_);
    handed_out_ = &result_;
    return result_;
  }

  void submit(const FrameView& frame, const SegmentRequest& request) {
    if (pending_ == Segmenter::kMaxInFlight)
      throw Error(ErrorCode::kInvalidArgument, "Segmenter::submit: " + std::to_string(pending_) +
                                                   " frames are already in flight (the most); collect() one first");
    validate_frame(frame);
    follow_frame_aspect(frame);
    InFlight& f = in_flight_[(head_ + pending_) % kResultSlots];
    backend_->submit(frame, request, f.result, f.times);
    ++pending_;
  }

  const Segmentation* collect() {
    if (pending_ == 0) return nullptr;
    InFlight& f = in_flight_[head_];
    head_ = (head_ + 1) % kResultSlots;
    --pending_;
    handed_out_ = nullptr;
    backend_->collect(f.result, f.times);
    times_ = f.times;
    handed_out_ = &f.result;
    return &f.result;
  }

  // Only the result handed out last: a pending slot may still be written (CUDA copy streams).
  void exchange_result_buffers(const Segmentation& result, std::vector<std::uint8_t>& class_map,
                               std::vector<float>* probabilities) {
    if (&result != handed_out_)
      throw Error(ErrorCode::kInvalidArgument,
                  "Segmenter::exchange_result_buffers: not the result segment() or collect() returned last");
    Segmentation& owned = *handed_out_;
    owned.class_map.swap(class_map);
    if (probabilities) owned.probabilities.swap(*probabilities);
  }

  int pending() const { return pending_; }

  // Validated before anything changes; the next frame starts the CRF from scratch.
  // The model's own parameters (its manifest's crf: block) apply unless the options say otherwise.
  void set_crf_options(const CrfOptions& requested) {
    const CrfOptions crf = resolve_crf_options(requested, manifest_.crf);
    validate_crf_options(crf);
    backend_->set_crf(crf);
    options_.crf = crf;
    result_.crf = CrfFrameReport{};
  }

  void reset_stream() { backend_->reset_crf(); }

  ModelManifest manifest_;
  SegmenterOptions options_;
  Device device_ = Device::kCpu;
  NetworkInfo info_;
  StageTimes times_;

 private:
  // Aspect::kKeep: the input size for this frame's aspect; a new one reloads the network (the
  // graph is planned for one input size). Frames in flight were planned for the old one.
  void follow_frame_aspect(const FrameView& frame) {
    if (options_.aspect != Aspect::kKeep || info_.input_width == 0) return;
    const InputSize size = keep_aspect_input_size({base_width_, base_height_}, stride_, frame.width, frame.height);
    const int width = size.width, height = size.height;
    if (width == info_.input_width && height == info_.input_height) return;
    if (pending_ > 0)
      throw Error(ErrorCode::kInvalidArgument, "Segmenter: a " + std::to_string(frame.width) + "x" +
                                                   std::to_string(frame.height) +
                                                   " frame needs another network input size (aspect keep) while " +
                                                   std::to_string(pending_) + " frames are pending; collect() them first");
    input_width_ = width, input_height_ = height;
    load_backend();
    backend_->set_crf(options_.crf);
  }

  // The optimised graph, checked against the manifest, to the backend of the chosen device. With
  // device auto, a CUDA backend that fails to load falls back to the CPU, saying why once.
  void load_backend() {
    PreparedModel model = prepare_model(manifest_, options_, input_width_, input_height_);
    Graph& graph = model.graph;
    const BackendSetup& setup = model.setup;
    info_ = setup.info;
    // A copy for the fallback only where there can be one (the graph holds the weights).
    const bool may_fall_back = device_ == Device::kCuda && options_.device == Device::kAuto;
    try {
      backend_ = make_segmenter_backend(device_, may_fall_back ? Graph(graph) : std::move(graph), setup);
    } catch (const Error& e) {
      if (!may_fall_back) throw;
      say_auto_is_cpu(std::string("the CUDA backend failed to load: ") + e.what());
      device_ = Device::kCpu;
      backend_ = make_segmenter_backend(device_, std::move(graph), setup);
    }
    info_.node_count = static_cast<int>(backend_->graph().nodes.size());
    info_.arena_bytes = backend_->arena_bytes();
    result_.num_classes = info_.num_classes;
    for (InFlight& f : in_flight_) f.result.num_classes = info_.num_classes;
  }

  std::unique_ptr<SegmenterBackend> backend_;
  Segmentation result_;  // segment()'s
  Segmentation* handed_out_ = nullptr;  // the result segment() or collect() returned last
  int input_width_ = 0, input_height_ = 0;  // the network input size asked for (0: the model's)
  int base_width_ = 0, base_height_ = 0;    // the input size it was built with
  int stride_ = 1;                          // the network's output stride (Aspect::kKeep)

  // submit()/collect(): a ring of results, one more than can be in flight so that the one collect()
  // handed out stays valid while two more are submitted.
  struct InFlight {
    Segmentation result;
    StageTimes times;
  };
  static constexpr int kResultSlots = Segmenter::kMaxInFlight + 1;
  InFlight in_flight_[kResultSlots];
  int head_ = 0, pending_ = 0;
};

Segmenter::Segmenter(const ModelManifest& manifest, const SegmenterOptions& options)
    : impl_(memory_errors_named([&] { return "loading model '" + manifest.name + "' (" + manifest.file + ")"; },
                                [&] { return std::make_unique<Impl>(manifest, options); })) {}
Segmenter::~Segmenter() = default;
Segmenter::Segmenter(Segmenter&&) noexcept = default;
Segmenter& Segmenter::operator=(Segmenter&&) noexcept = default;

const Segmentation& Segmenter::segment(const FrameView& frame, const SegmentRequest& request) {
  return memory_errors_named([&] { return frame_text(frame, impl_->options_.crf); },
                             [&]() -> const Segmentation& { return impl_->segment(frame, request); });
}
void Segmenter::submit(const FrameView& frame, const SegmentRequest& request) {
  memory_errors_named([&] { return frame_text(frame, impl_->options_.crf); }, [&] { impl_->submit(frame, request); });
}
const Segmentation* Segmenter::collect() { return impl_->collect(); }
int Segmenter::pending() const { return impl_->pending(); }
void Segmenter::exchange_result_buffers(const Segmentation& result, std::vector<std::uint8_t>& class_map,
                                        std::vector<float>* probabilities) {
  impl_->exchange_result_buffers(result, class_map, probabilities);
}
const ModelManifest& Segmenter::manifest() const { return impl_->manifest_; }
const NetworkInfo& Segmenter::network() const { return impl_->info_; }
Device Segmenter::device() const { return impl_->device_; }
const StageTimes& Segmenter::last_times() const { return impl_->times_; }
void Segmenter::reset_stream() { impl_->reset_stream(); }
void Segmenter::set_crf_options(const CrfOptions& crf) { impl_->set_crf_options(crf); }

}  // namespace deeplab
