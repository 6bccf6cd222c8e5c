// The CUDA backend's entry points in a build without CUDA or without cuDNN 9: they say why there is
// no GPU pipeline (DEEPLAB_CUDA_UNAVAILABLE_REASON, set by engine/src/cuda/CMakeLists.txt), and
// reference no CUDA symbol.
#include "backend/segmenter_backend.h"
#include "deeplab/error.h"

namespace deeplab {

bool cuda_backend_built(std::string* why) {
  if (why) *why = DEEPLAB_CUDA_UNAVAILABLE_REASON;
  return false;
}

std::unique_ptr<SegmenterBackend> make_cuda_segmenter_backend(Graph, const BackendSetup&) {
  throw Error(ErrorCode::kDevice, std::string("--device cuda: ") + DEEPLAB_CUDA_UNAVAILABLE_REASON);
}

}  // namespace deeplab
