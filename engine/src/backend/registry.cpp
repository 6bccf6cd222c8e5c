#include "backend/registry.h"

#include <algorithm>

namespace deeplab {

namespace {

// Said where a device has no entry at all (the CMake configure found no toolkit for it).
constexpr const char* kNotBuilt = "this build has no CUDA support (nvcc/CUDA toolkit not found at configure time)";

}  // namespace

void BackendRegistry::add(const BackendEntry& entry) {
  auto same = std::find_if(entries_.begin(), entries_.end(), [&](const BackendEntry& e) { return e.device == entry.device; });
  if (same != entries_.end())
    *same = entry;
  else
    entries_.push_back(entry);
}

const BackendEntry* BackendRegistry::find(Device device) const {
  for (const BackendEntry& e : entries_)
    if (e.device == device) return &e;
  return nullptr;
}

const BackendRegistry& backend_registry() {
  static const BackendRegistry registry = [] {
    BackendRegistry r;
    register_backends(r);
    return r;
  }();
  return registry;
}

bool cuda_device_available(std::string* why) {
  const BackendEntry* cuda = backend_registry().find(Device::kCuda);
  if (!cuda || !cuda->probe) {
    if (why) *why = kNotBuilt;
    return false;
  }
  if (why) why->clear();
  return cuda->probe(why);
}

bool cuda_backend_built(std::string* why) {
  const BackendEntry* cuda = backend_registry().find(Device::kCuda);
  const char* reason = !cuda ? kNotBuilt : cuda->make_segmenter ? "" : cuda->missing;
  if (why) *why = reason;
  return !*reason;
}

}  // namespace deeplab
