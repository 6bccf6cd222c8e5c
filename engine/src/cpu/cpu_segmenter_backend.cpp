// The Segmenter's CPU pipeline (backend/segmenter_backend.h): Preprocessor -> CpuNetwork (oneDNN)
// -> upsample+argmax of the logits to the frame (or the dense CRF stage) and, when asked, the
// softmax at the requested size. Synchronous: submit() does the whole frame, collect() has nothing
// left to do. Allocates only when the frame (or probability) size changes.
#include <utility>

#include "backend/registry.h"
#include "backend/segmenter_backend.h"
#include "cpu/cpu_frame_stages.h"
#include "cpu/cpu_network.h"
#include "deeplab/error.h"

namespace deeplab {
namespace {

// The input's one batch item as the pre-processing writes it.
InputTensorLayout cpu_input_layout(const BackendSetup& setup, const CpuNetwork& net) {
  const bool nhwc = setup.manifest.input.layout == TensorLayout::kNHWC;
  return input_layout(setup.info, net.strides(net.input_value()), nhwc);
}

class CpuSegmenterBackend : public SegmenterBackend {
 public:
  CpuSegmenterBackend(Graph graph, const BackendSetup& setup)
      : setup_(setup),
        net_(std::move(graph), setup.options.threads),
        stages_(setup_, cpu_input_layout(setup_, net_), net_.threads()),
        logits_(net_, setup.manifest.input.layout == TensorLayout::kNHWC) {
    net_.set_profile(setup.options.profile);
  }

  void submit(const FrameView& frame, const SegmentRequest& request, Segmentation& out, StageTimes& times) override {
    const auto start = CpuClock::now();
    stages_.preprocess(frame, net_.data(net_.input_value()), times);
    const auto infer_start = CpuClock::now();
    net_.run();
    times.infer_ms = ms_since(infer_start);
    stages_.finish(frame, logits_.view(net_, 0), request, out, times);
    times.total_ms = ms_since(start);
  }

  void collect(Segmentation&, StageTimes&) override {}  // submit() did it all

  void set_crf(const CrfOptions& options) override { stages_.set_crf(options); }
  void reset_crf() override { stages_.reset_crf(); }

  const Graph& graph() const override { return net_.graph(); }
  std::vector<std::int64_t> strides(int value) const override { return net_.strides(value); }
  std::size_t arena_bytes() const override { return net_.arena_bytes(); }
  std::string describe() const override { return "cpu, " + std::to_string(net_.threads()) + " threads"; }

 private:
  BackendSetup setup_;
  CpuNetwork net_;
  CpuFrameStages stages_;
  LogitsReader logits_;
};

std::unique_ptr<SegmenterBackend> make_cpu_segmenter_backend(Graph graph, const BackendSetup& setup) {
  return std::make_unique<CpuSegmenterBackend>(std::move(graph), setup);
}

}  // namespace

// Always usable: no probe.
BackendEntry cpu_backend_entry() {
  BackendEntry entry;
  entry.device = Device::kCpu;
  entry.name = "cpu";
  entry.make_segmenter = make_cpu_segmenter_backend;
  entry.make_batch = make_cpu_batch_backend;
  entry.make_crf = crf::make_cpu_crf_backend;
  return entry;
}

}  // namespace deeplab
