// The one place that names every backend this build has (backend/registry.h): compiled into the
// final engine target, deeplab_engine_backends, which links the core and the backend libraries.
// engine/CMakeLists.txt defines DEEPLAB_BACKEND_CUDA (the CUDA toolkit: the device probe and the
// CRF) and DEEPLAB_BACKEND_CUDA_NETWORK (cuDNN 9 as well: the Segmenter's CUDA pipeline) for this
// file only.
#include "backend/registry.h"

namespace deeplab {

void register_backends(BackendRegistry& registry) {
  registry.add(cpu_backend_entry());
#if defined(DEEPLAB_BACKEND_CUDA)
  BackendEntry cuda = cuda_backend_entry();
#if defined(DEEPLAB_BACKEND_CUDA_NETWORK)
  cuda.make_segmenter = make_cuda_segmenter_backend;
  cuda.make_batch = make_cuda_batch_backend;
#else
  cuda.missing = "this build has no cuDNN 9 (the CUDA network backend was not built; configure with -DCUDNN_ROOT=...)";
#endif
  registry.add(cuda);
#endif
}

}  // namespace deeplab
