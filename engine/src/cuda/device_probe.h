// Whether a usable CUDA device exists: the CUDA backend's probe in the registry (backend/registry.h).
#pragma once

#include <string>

namespace deeplab::cuda {

// False on a machine without a GPU (or driver), `why` saying so, instead of failing later.
bool probe_device(std::string* why);

}  // namespace deeplab::cuda
