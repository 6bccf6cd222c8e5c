#include "cuda/cuda_resources.h"

namespace deeplab::cuda {

void detail::check_range(std::size_t offset, std::size_t count, std::size_t size, const char* what) {
  if (offset > size || count > size - offset)
    throw Error(ErrorCode::kInternal, std::string("CUDA buffer ") + what + " of " + std::to_string(count) +
                                          " elements at " + std::to_string(offset) + " overruns its " +
                                          std::to_string(size));
}

Stream::Stream() { DEEPLAB_CUDA_CHECK(cudaStreamCreateWithFlags(&handle_, cudaStreamNonBlocking)); }

void Stream::synchronize() const { DEEPLAB_CUDA_CHECK(cudaStreamSynchronize(handle_)); }

Event::Event(bool timing) {
  DEEPLAB_CUDA_CHECK(cudaEventCreateWithFlags(&handle_, timing ? cudaEventDefault : cudaEventDisableTiming));
}

void Event::record(cudaStream_t stream) { DEEPLAB_CUDA_CHECK(cudaEventRecord(handle_, stream)); }

void Event::synchronize() const { DEEPLAB_CUDA_CHECK(cudaEventSynchronize(handle_)); }

float Event::elapsed_ms(const Event& start, const Event& end) {
  float ms = 0;
  DEEPLAB_CUDA_CHECK(cudaEventElapsedTime(&ms, start.handle_, end.handle_));
  return ms;
}

}  // namespace deeplab::cuda
