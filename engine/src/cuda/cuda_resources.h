// Move-only owners of CUDA resources: device and pinned host memory, streams, events. Creation
// failures throw deeplab::Error (kDevice, via DEEPLAB_CUDA_CHECK); destructors log a failure and
// never throw. Allocate at negotiation / first frame: nothing here allocates behind a caller's back
// (reserve() allocates only when asked for more than it holds).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "cuda/cuda_check.h"
#include "deeplab/error.h"

namespace deeplab::cuda {

namespace detail {
template <typename T>
std::size_t checked_bytes(std::size_t count) {
  if (count > std::numeric_limits<std::size_t>::max() / sizeof(T))
    throw Error(ErrorCode::kInvalidArgument, "CUDA buffer of " + std::to_string(count) + " elements overflows");
  return count * sizeof(T);
}
void check_range(std::size_t offset, std::size_t count, std::size_t size, const char* what);
}  // namespace detail

// `count` elements of T in device memory (cudaMalloc), uninitialised.
template <typename T>
class DeviceBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "device buffers hold trivially copyable elements");

 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t count) { allocate(count); }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }

  // Frees what it holds, then allocates `count` elements (none for 0).
  void allocate(std::size_t count) {
    release();
    if (count == 0) return;
    void* p = nullptr;
    DEEPLAB_CUDA_CHECK(cudaMalloc(&p, detail::checked_bytes<T>(count)));
    data_ = static_cast<T*>(p);
    size_ = count;
  }
  // Allocates (contents lost) only when it holds fewer than `count` elements; never shrinks.
  void reserve(std::size_t count) {
    if (count > size_) allocate(count);
  }
  void release() noexcept {
    if (data_) DEEPLAB_CUDA_CHECK_LOG(cudaFree(data_));
    data_ = nullptr;
    size_ = 0;
  }

  // Asynchronous copies on `stream` of `count` elements at element `offset`. From pageable host
  // memory the copy has read `host` when upload() returns; pinned memory must outlive the copy.
  void upload(const T* host, std::size_t count, cudaStream_t stream, std::size_t offset = 0) {
    detail::check_range(offset, count, size_, "upload");
    if (count == 0) return;
    DEEPLAB_CUDA_CHECK(cudaMemcpyAsync(data_ + offset, host, count * sizeof(T), cudaMemcpyHostToDevice, stream));
  }
  void download(T* host, std::size_t count, cudaStream_t stream, std::size_t offset = 0) const {
    detail::check_range(offset, count, size_, "download");
    if (count == 0) return;
    DEEPLAB_CUDA_CHECK(cudaMemcpyAsync(host, data_ + offset, count * sizeof(T), cudaMemcpyDeviceToHost, stream));
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t bytes() const { return size_ * sizeof(T); }
  bool empty() const { return size_ == 0; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

// `count` elements of T in page-locked host memory (cudaMallocHost): the source or destination of
// copies that overlap with kernels.
template <typename T>
class PinnedBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "pinned buffers hold trivially copyable elements");

 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(std::size_t count) { allocate(count); }
  ~PinnedBuffer() { release(); }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  PinnedBuffer(PinnedBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  PinnedBuffer& operator=(PinnedBuffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }

  void allocate(std::size_t count) {
    release();
    if (count == 0) return;
    void* p = nullptr;
    DEEPLAB_CUDA_CHECK(cudaMallocHost(&p, detail::checked_bytes<T>(count)));
    data_ = static_cast<T*>(p);
    size_ = count;
  }
  void reserve(std::size_t count) {
    if (count > size_) allocate(count);
  }
  void release() noexcept {
    if (data_) DEEPLAB_CUDA_CHECK_LOG(cudaFreeHost(data_));
    data_ = nullptr;
    size_ = 0;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

// A non-blocking stream (does not synchronise with the legacy default stream).
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  Stream(Stream&& other) noexcept : stream_(std::exchange(other.stream_, nullptr)) {}
  Stream& operator=(Stream&& other) noexcept;

  cudaStream_t get() const { return stream_; }
  void synchronize() const;  // throws kDevice with the first error of the work on it

 private:
  cudaStream_t stream_ = nullptr;
};

// An event; `timing` for elapsed_ms(), else created with cudaEventDisableTiming (cheaper to sync on).
class Event {
 public:
  explicit Event(bool timing = false);
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  Event(Event&& other) noexcept : event_(std::exchange(other.event_, nullptr)) {}
  Event& operator=(Event&& other) noexcept;

  cudaEvent_t get() const { return event_; }
  void record(cudaStream_t stream);
  void synchronize() const;
  // Milliseconds between two recorded timing events (after `end` has completed).
  static float elapsed_ms(const Event& start, const Event& end);

 private:
  cudaEvent_t event_ = nullptr;
};

}  // namespace deeplab::cuda
