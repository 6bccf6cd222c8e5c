#include "cuda/device_probe.h"

#include <cuda_runtime_api.h>

namespace deeplab::cuda {

bool probe_device(std::string* why) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    if (why) *why = std::string("no usable CUDA GPU (") + cudaGetErrorString(status) + ")";
    return false;
  }
  if (count == 0) {
    if (why) *why = "no CUDA GPU found";
    return false;
  }
  return true;
}

}  // namespace deeplab::cuda
