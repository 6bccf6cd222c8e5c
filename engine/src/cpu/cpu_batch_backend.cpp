// The batching engine's CPU backend (backend/batch_backend.h): one CpuNetwork planned for
// setup.info.batch frames; each stream pre-processes into its slot (item b of the input tensor) and
// keeps a copy of its slot's logits, so that it upsamples and runs its CRF while the next batch runs.
#include <utility>
#include <vector>

#include "backend/batch_backend.h"
#include "backend/registry.h"
#include "cpu/cpu_frame_stages.h"
#include "cpu/cpu_network.h"

namespace deeplab {
namespace {

class CpuBatchBackend;

class CpuBatchStream : public BatchStream {
 public:
  CpuBatchStream(const BackendSetup& setup, CpuNetwork& net, const LogitsReader& reader, const InputTensorLayout& input)
      : net_(net), reader_(reader), stages_(setup, input, net.threads()), logits_(reader.item_floats()) {
    input_item_ = net.strides(net.input_value())[0];
  }

  void preprocess(const FrameView& frame, int slot, StageTimes& times) override {
    stages_.preprocess(frame, net_.data(net_.input_value()) + slot * input_item_, times);
  }
  void take_logits(int slot) override { reader_.copy(net_, slot, logits_.data()); }
  void finish(const FrameView& frame, const SegmentRequest& request, Segmentation& out, StageTimes& times) override {
    stages_.finish(frame, logits_.data(), request, out, times);
  }
  void set_crf(const CrfOptions& options) override { stages_.set_crf(options); }
  void reset_crf() override { stages_.reset_crf(); }

 private:
  CpuNetwork& net_;
  const LogitsReader& reader_;
  CpuFrameStages stages_;
  std::vector<float> logits_;  // this stream's slot of the last batch, dense NHWC
  std::int64_t input_item_ = 0;
};

class CpuBatchBackend : public BatchBackend {
 public:
  CpuBatchBackend(Graph graph, const BackendSetup& setup)
      : setup_(setup),
        net_(std::move(graph), setup.options.threads),
        reader_(net_, setup.manifest.input.layout == TensorLayout::kNHWC) {
    const bool nhwc = setup.manifest.input.layout == TensorLayout::kNHWC;
    input_ = input_layout(setup.info, net_.strides(net_.input_value()), nhwc);
    net_.set_profile(setup.options.profile);
  }

  std::unique_ptr<BatchStream> open_stream() override {
    return std::make_unique<CpuBatchStream>(setup_, net_, reader_, input_);
  }
  void run() override { net_.run(); }
  int batch_size() const override { return setup_.info.batch; }
  std::size_t arena_bytes() const override { return net_.arena_bytes(); }
  std::string describe() const override {
    return "cpu, batch " + std::to_string(setup_.info.batch) + ", " + std::to_string(net_.threads()) + " threads";
  }

 private:
  BackendSetup setup_;
  CpuNetwork net_;
  LogitsReader reader_;
  InputTensorLayout input_;
};

}  // namespace

std::unique_ptr<BatchBackend> make_cpu_batch_backend(Graph graph, const BackendSetup& setup) {
  return std::make_unique<CpuBatchBackend>(std::move(graph), setup);
}

}  // namespace deeplab
