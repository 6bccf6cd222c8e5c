#include "cuda/cuda_resources.h"

namespace deeplab::cuda {

void detail::check_range(std::size_t offset, std::size_t count, std::size_t size, const char* what) {
  if (offset > size || count > size - offset)
    throw Error(ErrorCode::kInternal, std::string("CUDA buffer ") + what + " of " + std::to_string(count) +
                                          " elements at " + std::to_string(offset) + " overruns its " +
                                          std::to_string(size));
}

Stream::Stream() { DEEPLAB_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }

Stream::~Stream() {
  if (stream_) DEEPLAB_CUDA_CHECK_LOG(cudaStreamDestroy(stream_));
}

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    if (stream_) DEEPLAB_CUDA_CHECK_LOG(cudaStreamDestroy(stream_));
    stream_ = std::exchange(other.stream_, nullptr);
  }
  return *this;
}

void Stream::synchronize() const { DEEPLAB_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

Event::Event(bool timing) {
  DEEPLAB_CUDA_CHECK(cudaEventCreateWithFlags(&event_, timing ? cudaEventDefault : cudaEventDisableTiming));
}

Event::~Event() {
  if (event_) DEEPLAB_CUDA_CHECK_LOG(cudaEventDestroy(event_));
}

Event& Event::operator=(Event&& other) noexcept {
  if (this != &other) {
    if (event_) DEEPLAB_CUDA_CHECK_LOG(cudaEventDestroy(event_));
    event_ = std::exchange(other.event_, nullptr);
  }
  return *this;
}

void Event::record(cudaStream_t stream) { DEEPLAB_CUDA_CHECK(cudaEventRecord(event_, stream)); }

void Event::synchronize() const { DEEPLAB_CUDA_CHECK(cudaEventSynchronize(event_)); }

float Event::elapsed_ms(const Event& start, const Event& end) {
  float ms = 0;
  DEEPLAB_CUDA_CHECK(cudaEventElapsedTime(&ms, start.event_, end.event_));
  return ms;
}

}  // namespace deeplab::cuda
