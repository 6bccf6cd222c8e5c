// The Segmenter's CUDA pipeline (cuda/cuda_backend.h): pinned staging -> async upload ->
// CudaPreprocess -> CudaNetwork -> CudaPostprocess -> class map (and probabilities) back to the
// host, all on one stream, CUDA events around each stage.
#include <chrono>
#include <cstring>

#include "cuda/cuda_backend.h"
#include "crf/crf_stage.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_network.h"
#include "cuda/cuda_postprocess.h"
#include "cuda/cuda_preprocess.h"
#include "cuda/cuda_resources.h"
#include "cuda/frame_planes.h"
#include "cuda/net_kernels.cuh"
#include "deeplab/error.h"
#if defined(DEEPLAB_HAVE_CUDA_CRF)
#include "cuda/crf/cuda_crf_stage.h"
#endif

namespace deeplab {
namespace {

#if !defined(DEEPLAB_HAVE_CUDA_CRF)
// Stands for cuda::CudaCrfStage in a build without it; set_crf() never makes one.
struct NoCrfStage {
  const CrfFrameReport& run(const FrameView&, const float*, std::uint8_t*, cudaStream_t) { return report; }
  bool prepared_for(int, int) const { return true; }
  void prepare(int, int, int, const ResampleGeometry&, cudaStream_t) {}
  void reset() {}
  const CrfOptions& options() const { return options_; }
  CrfFrameReport report;
  CrfOptions options_;
};
#endif

using Clock = std::chrono::steady_clock;
using namespace cuda;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

CudaNetworkOptions network_options(const CudaBackendConfig& config) {
  CudaNetworkOptions options;
  options.precision = config.precision;
  return options;
}

// Where the pre-processing writes: the network input's own strides (NCHW logical, channels-last
// physical for torchvision exports; NHWC for TF ones).
InputTensorLayout input_layout(const CudaNetwork& net, bool nhwc) {
  const Value& input = net.graph().values[net.input_value()];
  const int channel_axis = nhwc ? 3 : 1;
  if (input.shape.size() != 4 || input.shape[channel_axis] != 3)
    throw Error(ErrorCode::kManifestMismatch, net.graph().source + ": input shape " + shape_string(input.shape) +
                                                  " is not a 3-channel " + (nhwc ? "NHWC" : "NCHW") + " image");
  const auto strides = net.strides(net.input_value());
  InputTensorLayout layout;
  layout.height = static_cast<int>(input.shape[nhwc ? 1 : 2]);
  layout.width = static_cast<int>(input.shape[nhwc ? 2 : 3]);
  layout.channel_stride = strides[channel_axis];
  layout.row_stride = strides[nhwc ? 1 : 2];
  layout.col_stride = strides[nhwc ? 2 : 3];
  return layout;
}

class Backend : public CudaSegmenterBackend {
 public:
  Backend(Graph graph, const CudaBackendConfig& config)
      : config_(config),
        net_(std::move(graph), network_options(config), stream_.get()),
        pre_(config.input, input_layout(net_, config.nhwc_input)) {
    for (int k = 0; k < kEvents; ++k) events_.emplace_back(true);
    plan_logits();
  }
  // The buffers below the network are freed before its own destructor waits for the stream.
  ~Backend() override { DEEPLAB_CUDA_CHECK_LOG(cudaStreamSynchronize(stream_.get())); }

  void segment(const FrameView& frame, const SegmentRequest& request, Segmentation& result,
               StageTimes& times) override {
    const auto wall = Clock::now();
    validate_frame(frame);
    prepare_frame(frame, result);
    const bool probabilities = request.probabilities_width > 0 && request.probabilities_height > 0;
    if (probabilities) prepare_probabilities(request.probabilities_width, request.probabilities_height, result);
    const cudaStream_t stream = stream_.get();
    double staging_ms = 0;
    const float* logits = enqueue_network(frame, staging_ms);
    if (crf_) {
      result.crf = crf_->run(device_frame_.view(), logits, classes_.data(), stream);
    } else {
      post_.run(logits, classes_.data(), stream);
    }
    events_[4].record(stream);
    if (probabilities) prob_post_.run_softmax(logits, probs_.data(), stream);
    events_[5].record(stream);
    classes_.download(host_classes_.data(), host_classes_.size(), stream);
    if (probabilities) probs_.download(host_probs_.data(), host_probs_.size(), stream);
    events_[6].record(stream);
    events_[6].synchronize();

    const auto unstaging = Clock::now();
    std::memcpy(result.class_map.data(), host_classes_.data(), host_classes_.size());
    if (probabilities) {
      std::memcpy(result.probabilities.data(), host_probs_.data(), host_probs_.size() * sizeof(float));
    } else {
      result.probabilities_width = result.probabilities_height = 0;
    }
    times.upload_ms = staging_ms + Event::elapsed_ms(events_[0], events_[1]);
    times.preprocess_ms = Event::elapsed_ms(events_[1], events_[2]);
    times.infer_ms = Event::elapsed_ms(events_[2], events_[3]);
    // With the CRF, postprocess_ms is the probabilities' softmax only (as on the CPU).
    times.crf_ms = crf_ ? Event::elapsed_ms(events_[3], events_[4]) : 0.0;
    times.postprocess_ms = Event::elapsed_ms(crf_ ? events_[4] : events_[3], events_[5]);
    times.download_ms = Event::elapsed_ms(events_[5], events_[6]) + ms_since(unstaging);
    times.total_ms = ms_since(wall);
    if (crf_) result.crf.ms = times.crf_ms;
  }

  bool set_crf(const CrfOptions& options) override {
#if defined(DEEPLAB_HAVE_CUDA_CRF)
    validate_crf_options(options);
    stream_.synchronize();  // no frame's work may still use the stage being replaced
    crf_.reset();
    if (options.mode != CrfMode::kOff) crf_ = std::make_unique<CudaCrfStage>(options);
    return true;
#else
    crf_.reset();
    return options.mode == CrfMode::kOff;
#endif
  }

  void reset_crf() override {
    if (crf_) crf_->reset();
  }

  const float* logits_to_host(const FrameView& frame, StageTimes& times) override {
    const auto wall = Clock::now();
    validate_frame(frame);
    const cudaStream_t stream = stream_.get();
    double staging_ms = 0;
    const float* logits = enqueue_network(frame, staging_ms);
    host_logits_.reserve(logits_count_);
    DEEPLAB_CUDA_CHECK(cudaMemcpyAsync(host_logits_.data(), logits, logits_count_ * sizeof(float),
                                       cudaMemcpyDeviceToHost, stream));
    events_[4].record(stream);
    events_[4].synchronize();
    times.upload_ms = staging_ms + Event::elapsed_ms(events_[0], events_[1]);
    times.preprocess_ms = Event::elapsed_ms(events_[1], events_[2]);
    times.infer_ms = Event::elapsed_ms(events_[2], events_[3]);
    times.download_ms = Event::elapsed_ms(events_[3], events_[4]);
    times.total_ms = ms_since(wall);
    return host_logits_.data();
  }

  const Graph& graph() const override { return net_.graph(); }
  std::vector<std::int64_t> strides(int value) const override { return net_.strides(value); }
  std::size_t arena_bytes() const override { return net_.arena_bytes(); }
  std::string describe() const override {
    const ConvAlgorithmCache& a = net_.algorithms();
    return std::string("cuda ") + tensor_type_name(net_.type()) + ", " +
           (net_.graph_captured() ? "CUDA graph" : "direct launches") + ", " + std::to_string(a.hits() + a.misses()) +
           " convs / " + std::to_string(a.size()) + " algorithm searches, arena " +
           std::to_string(net_.arena_bytes() >> 20) + " MiB, workspace " + std::to_string(net_.workspace_bytes() >> 20) +
           " MiB, parameters " + std::to_string(net_.parameter_bytes() >> 20) + " MiB";
  }

 private:
  // Stages the frame in pinned memory and enqueues upload, pre-processing and the network, with
  // events 0..3 around them; returns the NHWC logits on the device (nothing has synchronised yet).
  const float* enqueue_network(const FrameView& frame, double& staging_ms) {
    const cudaStream_t stream = stream_.get();
    const auto staging = Clock::now();
    const FrameView pinned = stage(frame);
    staging_ms = ms_since(staging);
    events_[0].record(stream);
    device_frame_.upload(pinned, stream);
    events_[1].record(stream);
    pre_.run(device_frame_.view(), net_.input(), stream);
    events_[2].record(stream);
    net_.run();
    events_[3].record(stream);
    return logits_nhwc(stream);
  }

  // 0 upload | 1 pre-processing | 2 network | 3 class map (argmax or CRF) | 4 softmax | 5 download | 6
  static constexpr int kEvents = 7;

  // The post-processing reads dense NHWC float logits; other layouts are copied into that first.
  void plan_logits() {
    const int out = net_.output_value();
    const Value& v = net_.graph().values[out];
    const bool nhwc = config_.nhwc_input;
    const int c_axis = nhwc ? 3 : 1, h_axis = nhwc ? 1 : 2, w_axis = nhwc ? 2 : 3;
    if (v.shape.size() != 4 || v.shape[0] != 1)
      throw Error(ErrorCode::kUnsupported, net_.graph().source + ": output '" + v.name + "' has shape " +
                                               shape_string(v.shape) + "; 4-D class scores are expected");
    channels_ = static_cast<int>(v.shape[c_axis]);
    logits_count_ = static_cast<std::size_t>(v.element_count());
    if (channels_ < 1 || channels_ > 256)
      throw Error(ErrorCode::kUnsupported, net_.graph().source + ": " + std::to_string(channels_) +
                                               " classes; 1..256 are supported");
    const auto strides = net_.strides(out);
    std::vector<std::int64_t> dense(4);
    dense[c_axis] = 1;
    dense[w_axis] = channels_;
    dense[h_axis] = dense[w_axis] * v.shape[w_axis];
    dense[0] = dense[h_axis] * v.shape[h_axis];
    if (strides == dense) return;
    logits_copy_ = make_copy_params(v.shape, strides, dense);
    logits_.allocate(static_cast<std::size_t>(v.element_count()));
  }

  void check_geometry(const ResampleGeometry& geo) const {
    const Value& v = net_.graph().values[net_.output_value()];
    const bool nhwc = config_.nhwc_input;
    if (geo.channels != channels_ || geo.in_h != v.shape[nhwc ? 1 : 2] || geo.in_w != v.shape[nhwc ? 2 : 3])
      throw Error(ErrorCode::kInternal, "CUDA post-processing geometry for " + std::to_string(geo.in_h) + "x" +
                                            std::to_string(geo.in_w) + "x" + std::to_string(geo.channels) +
                                            " logits, the network yields " + shape_string(v.shape));
  }

  const float* logits_nhwc(cudaStream_t stream) {
    if (logits_.empty()) return net_.output();
    launch_copy(logits_copy_, TensorType::kFloat, net_.output(), TensorType::kFloat, logits_.data(), stream);
    return logits_.data();
  }

  // Tables and buffers for this frame size (kept until the size changes), and `result` sized for it
  // (the Segmenter's CPU stages may have sized it for another).
  void prepare_frame(const FrameView& frame, Segmentation& result) {
    const std::size_t pixels = static_cast<std::size_t>(frame.width) * frame.height;
    if (frame.width != frame_width_ || frame.height != frame_height_) {
      frame_width_ = frame_height_ = -1;  // until the new tables are in place
      const ResampleGeometry geo = config_.geometry(frame.width, frame.height);
      check_geometry(geo);
      post_.prepare(geo, stream_.get());
      classes_.allocate(pixels);
      host_classes_.allocate(pixels);
      frame_width_ = frame.width;
      frame_height_ = frame.height;
    }
    if (crf_ && !crf_->prepared_for(frame.width, frame.height)) {
      int w = 0, h = 0;
      crf::CrfStage::working_size(frame.width, frame.height, crf_->options().scale, w, h);
      const ResampleGeometry to_working = config_.geometry(w, h);
      check_geometry(to_working);
      crf_->prepare(frame.width, frame.height, channels_, to_working, stream_.get());
    }
    if (result.width != frame.width || result.height != frame.height || result.class_map.size() != pixels) {
      result.width = frame.width;
      result.height = frame.height;
      result.class_map.assign(pixels, 0);
    }
  }

  void prepare_probabilities(int width, int height, Segmentation& result) {
    const std::size_t floats = static_cast<std::size_t>(width) * height * channels_;
    if (width != prob_width_ || height != prob_height_) {
      prob_width_ = prob_height_ = -1;
      const ResampleGeometry geo = config_.geometry(width, height);
      check_geometry(geo);
      prob_post_.prepare(geo, stream_.get());
      probs_.allocate(floats);
      host_probs_.allocate(floats);
      prob_width_ = width;
      prob_height_ = height;
    }
    if (result.probabilities.size() != floats) result.probabilities.assign(floats, 0.0f);
    result.probabilities_width = width;
    result.probabilities_height = height;
  }

  // The frame's planes, rows packed, in pinned memory: the upload then overlaps nothing on the host
  // and runs at full bus speed. The buffer grows only for a larger frame.
  FrameView stage(const FrameView& frame) {
    const int planes = plane_count(frame.format);
    std::size_t total = 0;
    for (int p = 0; p < planes; ++p) {
      const PlaneSize s = plane_size(frame.format, frame.width, frame.height, p);
      total += static_cast<std::size_t>(s.row_bytes) * s.rows;
    }
    staging_.reserve(total);
    FrameView v = frame;
    std::uint8_t* dst = staging_.data();
    for (int p = 0; p < planes; ++p) {
      const PlaneSize s = plane_size(frame.format, frame.width, frame.height, p);
      for (int row = 0; row < s.rows; ++row)
        std::memcpy(dst + static_cast<std::size_t>(row) * s.row_bytes,
                    frame.planes[p] + static_cast<std::size_t>(row) * frame.strides[p], s.row_bytes);
      v.planes[p] = dst;
      v.strides[p] = s.row_bytes;
      dst += static_cast<std::size_t>(s.row_bytes) * s.rows;
    }
    return v;
  }

  CudaBackendConfig config_;
  Stream stream_;
  CudaNetwork net_;
  CudaPreprocess pre_;
  CudaPostprocess post_, prob_post_;
  DeviceFrame device_frame_;
  PinnedBuffer<std::uint8_t> staging_;
  DeviceBuffer<float> logits_;
  CopyParams logits_copy_;
  int channels_ = 0;
  std::size_t logits_count_ = 0;
  PinnedBuffer<float> host_logits_;
  DeviceBuffer<std::uint8_t> classes_;
  PinnedBuffer<std::uint8_t> host_classes_;
  DeviceBuffer<float> probs_;
  PinnedBuffer<float> host_probs_;
  int frame_width_ = -1, frame_height_ = -1, prob_width_ = -1, prob_height_ = -1;
  std::vector<Event> events_;
#if defined(DEEPLAB_HAVE_CUDA_CRF)
  std::unique_ptr<CudaCrfStage> crf_;
#else
  std::unique_ptr<NoCrfStage> crf_;  // never made: no CUDA CRF in this build
#endif
};

}  // namespace

bool cuda_backend_built(std::string* why) {
  if (why) why->clear();
  return true;
}

std::unique_ptr<CudaSegmenterBackend> make_cuda_segmenter_backend(Graph graph, const CudaBackendConfig& config) {
  if (!config.geometry) throw Error(ErrorCode::kInternal, "CUDA backend without a logits geometry");
  return std::make_unique<Backend>(std::move(graph), config);
}

}  // namespace deeplab
