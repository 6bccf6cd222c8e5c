// Whether a usable CUDA device exists. Built against the CUDA runtime when the toolkit is found;
// on a machine without a GPU (or driver) it says why instead of failing later.
#include <string>

#ifdef DEEPLAB_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace deeplab {

bool cuda_device_available(std::string* why) {
#ifdef DEEPLAB_HAVE_CUDA
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
#else
  if (why) *why = "this build has no CUDA support (nvcc/CUDA toolkit not found at configure time)";
  return false;
#endif
}

}  // namespace deeplab
