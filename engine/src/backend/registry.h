// The backends this build has, keyed by device: the core (graph, importers, pre/post-processing,
// the CPU CRF, the Segmenter's orchestration) looks them up here and links none of them.
//
//   deeplab_core  <-  deeplab_backend_cpu, deeplab_cuda*  <-  deeplab_engine_backends
//   (registry)        (the backends' factories)               (register_backends(): the one place
//                                                              that names every backend built)
//
// The registry is filled on first use by register_backends(), which the final engine target
// (engine/src/register_backends.cpp) defines; a build without CUDA simply registers no CUDA entry,
// so that device=cuda fails with the same Error(kDevice) as a machine without a GPU.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/batch_backend.h"
#include "backend/segmenter_backend.h"
#include "crf/crf_backend.h"
#include "deeplab/segmenter.h"

namespace deeplab {

// One backend as the Segmenter and DenseCrf see it.
struct BackendEntry {
  Device device = Device::kCpu;
  const char* name = "";  // device_name(device): "cpu", "cuda"
  // Whether this machine can run the backend (a GPU and its driver); `why` says why not. Null: always.
  bool (*probe)(std::string* why) = nullptr;
  // The Segmenter's pipeline; null where this build has the device's CRF but not its network (cuDNN
  // missing): `missing` then says why.
  std::unique_ptr<SegmenterBackend> (*make_segmenter)(Graph graph, const BackendSetup& setup) = nullptr;
  const char* missing = "";
  // The batching engine's network (backend/batch_backend.h); null: this backend runs batch 1 only.
  std::unique_ptr<BatchBackend> (*make_batch)(std::vector<PreparedModel> models) = nullptr;
  // DenseCrf on this device (deeplab/crf.h); null: none.
  std::unique_ptr<crf::CrfBackend> (*make_crf)(int threads) = nullptr;
};

class BackendRegistry {
 public:
  // A second entry for the same device replaces the first.
  void add(const BackendEntry& entry);
  // Null when this build has no backend for `device`.
  const BackendEntry* find(Device device) const;

 private:
  std::vector<BackendEntry> entries_;
};

// This build's registry, filled once (thread-safe) by register_backends().
const BackendRegistry& backend_registry();

// Adds every backend this build has; defined once, by the final engine target (register_backends.cpp).
void register_backends(BackendRegistry& registry);

// The backends' entries, each defined in its own library; only register_backends() calls them.
BackendEntry cpu_backend_entry();
std::unique_ptr<BatchBackend> make_cpu_batch_backend(std::vector<PreparedModel> models);  // deeplab_backend_cpu
BackendEntry cuda_backend_entry();  // the CUDA CRF and the device probe (deeplab_cuda_crf)
std::unique_ptr<SegmenterBackend> make_cuda_segmenter_backend(Graph graph, const BackendSetup& setup);  // deeplab_cuda_net
std::unique_ptr<BatchBackend> make_cuda_batch_backend(std::vector<PreparedModel> models);  // deeplab_cuda_net

// The registry's CUDA entry: whether a usable CUDA GPU is there (its probe), and whether this build
// has the CUDA Segmenter backend; `why` says why not.
bool cuda_device_available(std::string* why);
bool cuda_backend_built(std::string* why);

}  // namespace deeplab
