// The batching engine's CPU backend (backend/batch_backend.h). oneDNN's primitives are planned for
// one batch size, so a partial batch would cost a full one: the backend keeps a network for each
// power of two below the batch size and one for the batch size itself, all on one shared arena
// (only one runs at a time), and runs the smallest that holds the frames. The streams pre-process
// into a staging tensor of batch-size items (the networks' inputs move when they run), and each
// keeps a copy of its slot's logits, so that it upsamples and runs its CRF while the next batch runs.
// Aspect::kKeep gives the engine a set of networks per input shape (plan_shape()): they share the
// first set's arena as well, since the engine runs one network call at a time.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "backend/batch_backend.h"
#include "backend/registry.h"
#include "cpu/cpu_frame_stages.h"
#include "cpu/cpu_network.h"
#include "deeplab/error.h"

namespace deeplab {
namespace {

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using AlignedFloats = std::unique_ptr<float[], AlignedFree>;

// An arena shared by the networks of every input shape of one engine.
using SharedArena = std::shared_ptr<float>;

AlignedFloats aligned_floats(std::size_t bytes) {
  const std::size_t a = CpuNetwork::kArenaAlign;
  auto* p = static_cast<float*>(std::aligned_alloc(a, std::max(a, (bytes + a - 1) / a * a)));
  if (!p) throw Error(ErrorCode::kOutOfMemory, "cannot allocate " + std::to_string(bytes) + " bytes for a batch");
  return AlignedFloats(p);
}

class CpuBatchBackend : public BatchBackend {
 public:
  // With `arena` (arena_bytes long) where it is large enough for these networks, else an own one.
  explicit CpuBatchBackend(std::vector<PreparedModel> models, SharedArena arena = nullptr, std::size_t arena_bytes = 0);

  std::unique_ptr<BatchStream> open_stream() override;
  void run(int frames) override;
  int batch_size() const override { return setup_.info.batch; }
  std::size_t arena_bytes() const override { return arena_bytes_; }
  std::string describe() const override;
  std::unique_ptr<BatchBackend> plan_shape(std::vector<PreparedModel>& models) override {
    return std::make_unique<CpuBatchBackend>(std::move(models), arena_, arena_bytes_);
  }

  // For the streams: slot `slot` of the staging input, and the logits of the last run.
  float* input_item(int slot) { return staging_.get() + slot * item_floats_; }
  void copy_logits(int slot, float* dst) const { current_->reader.copy(*current_->net, slot, dst); }
  std::size_t logits_floats() const { return sized_.back().reader.item_floats(); }
  const BackendSetup& setup() const { return setup_; }
  const InputTensorLayout& input_layout() const { return input_; }
  int threads() const { return sized_.back().net->threads(); }

 private:
  struct Sized {
    int batch;
    std::unique_ptr<CpuNetwork> net;
    LogitsReader reader;
  };
  void check_input_items();

  BackendSetup setup_;
  SharedArena arena_;
  std::size_t arena_bytes_ = 0;
  std::vector<Sized> sized_;  // ascending batch sizes
  const Sized* current_ = nullptr;
  AlignedFloats staging_;
  std::int64_t item_floats_ = 0;
  InputTensorLayout input_;
};

class CpuBatchStream : public BatchStream {
 public:
  explicit CpuBatchStream(CpuBatchBackend& backend)
      : backend_(backend),
        stages_(backend.setup(), backend.input_layout(), backend.threads()),
        logits_(backend.logits_floats()) {}

  void preprocess(const FrameView& frame, int slot, StageTimes& times) override {
    stages_.preprocess(frame, backend_.input_item(slot), times);
  }
  void take_logits(int slot) override { backend_.copy_logits(slot, logits_.data()); }
  void finish(const FrameView& frame, const SegmentRequest& request, Segmentation& out, StageTimes& times) override {
    stages_.finish(frame, logits_.data(), request, out, times);
  }
  void set_crf(const CrfOptions& options) override { stages_.set_crf(options); }
  void reset_crf() override { stages_.reset_crf(); }

 private:
  CpuBatchBackend& backend_;
  CpuFrameStages stages_;
  std::vector<float> logits_;  // this stream's slot of the last batch, dense NHWC
};

CpuBatchBackend::CpuBatchBackend(std::vector<PreparedModel> models, SharedArena arena, std::size_t arena_bytes)
    : setup_(models.back().setup) {
  std::size_t needed = 0;
  for (const PreparedModel& m : models) needed = std::max(needed, CpuNetwork::arena_bytes_needed(m.graph));
  if (arena && arena_bytes >= needed) {
    arena_ = std::move(arena), arena_bytes_ = arena_bytes;
  } else {
    arena_ = SharedArena(aligned_floats(needed).release(), AlignedFree()), arena_bytes_ = needed;
  }
  const bool nhwc = setup_.manifest.input.layout == TensorLayout::kNHWC;
  for (PreparedModel& m : models) {
    auto net = std::make_unique<CpuNetwork>(std::move(m.graph), setup_.options.threads, arena_.get(), arena_bytes_);
    net->set_profile(setup_.options.profile);
    LogitsReader reader(*net, nhwc);
    sized_.push_back(Sized{m.setup.info.batch, std::move(net), std::move(reader)});
  }
  const CpuNetwork& full = *sized_.back().net;
  input_ = deeplab::input_layout(setup_.info, full.strides(full.input_value()), nhwc);
  check_input_items();
  staging_ = aligned_floats(static_cast<std::size_t>(item_floats_) * batch_size() * sizeof(float));
  std::memset(staging_.get(), 0, static_cast<std::size_t>(item_floats_) * batch_size() * sizeof(float));
}

// The staging tensor is copied into a network's input item by item as one block: every network's
// input must hold its items densely, one after another, in the same layout.
void CpuBatchBackend::check_input_items() {
  const CpuNetwork& full = *sized_.back().net;
  const auto full_strides = full.strides(full.input_value());
  item_floats_ = full.graph().values[full.input_value()].element_count() / batch_size();
  for (const Sized& s : sized_) {
    auto strides = s.net->strides(s.net->input_value());
    if (strides[0] != item_floats_ || !std::equal(strides.begin() + 1, strides.end(), full_strides.begin() + 1))
      throw Error(ErrorCode::kUnsupported, setup_.manifest.file + ": the network input's layout at batch " +
                                               std::to_string(s.batch) + " does not hold its frames one after another");
  }
}

std::unique_ptr<BatchStream> CpuBatchBackend::open_stream() { return std::make_unique<CpuBatchStream>(*this); }

void CpuBatchBackend::run(int frames) {
  const Sized* chosen = &sized_.back();
  for (const Sized& s : sized_)
    if (s.batch >= frames) {
      chosen = &s;
      break;
    }
  CpuNetwork& net = *chosen->net;
  std::memcpy(net.data(net.input_value()), staging_.get(), sizeof(float) * item_floats_ * frames);
  net.run();
  current_ = chosen;
}

std::string CpuBatchBackend::describe() const {
  std::string sizes;
  for (const Sized& s : sized_) sizes += (sizes.empty() ? "" : ", ") + std::to_string(s.batch);
  return "cpu, batch " + std::to_string(batch_size()) + " (networks for " + sizes + " frames, one arena of " +
         std::to_string(arena_bytes_ >> 20) + " MiB), " + std::to_string(threads()) + " threads";
}

}  // namespace

std::unique_ptr<BatchBackend> make_cpu_batch_backend(std::vector<PreparedModel> models) {
  return std::make_unique<CpuBatchBackend>(std::move(models));
}

}  // namespace deeplab
