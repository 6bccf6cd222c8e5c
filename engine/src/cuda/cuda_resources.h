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
#include "cuda/unique_handle.h"
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

// Where a buffer's memory comes from: device memory (cudaMalloc) or page-locked host memory
// (cudaMallocHost, the source or destination of copies that overlap with kernels).
struct DeviceMemory {
  static void* allocate(std::size_t bytes) {
    void* p = nullptr;
    DEEPLAB_CUDA_CHECK(cudaMalloc(&p, bytes));
    return p;
  }
  static void free(void* p) noexcept { DEEPLAB_CUDA_CHECK_LOG(cudaFree(p)); }
};
struct PinnedMemory {
  static void* allocate(std::size_t bytes) {
    void* p = nullptr;
    DEEPLAB_CUDA_CHECK(cudaMallocHost(&p, bytes));
    return p;
  }
  static void free(void* p) noexcept { DEEPLAB_CUDA_CHECK_LOG(cudaFreeHost(p)); }
};

// Move-only owner of `count` uninitialised elements of T from `Memory`.
template <typename T, typename Memory>
class CudaBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "CUDA buffers hold trivially copyable elements");

 public:
  CudaBuffer() = default;
  explicit CudaBuffer(std::size_t count) { allocate(count); }
  ~CudaBuffer() { release(); }
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;
  CudaBuffer(CudaBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  CudaBuffer& operator=(CudaBuffer&& other) noexcept {
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
    data_ = static_cast<T*>(Memory::allocate(detail::checked_bytes<T>(count)));
    size_ = count;
  }
  // Allocates (contents lost) only when it holds fewer than `count` elements; never shrinks.
  void reserve(std::size_t count) {
    if (count > size_) allocate(count);
  }
  void release() noexcept {
    if (data_) Memory::free(data_);
    data_ = nullptr;
    size_ = 0;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t bytes() const { return size_ * sizeof(T); }
  bool empty() const { return size_ == 0; }

 protected:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

// Device memory, with asynchronous copies to and from the host.
template <typename T>
class DeviceBuffer : public CudaBuffer<T, DeviceMemory> {
 public:
  using CudaBuffer<T, DeviceMemory>::CudaBuffer;

  // Asynchronous copies on `stream` of `count` elements at element `offset`. From pageable host
  // memory the copy has read `host` when upload() returns; pinned memory must outlive the copy.
  void upload(const T* host, std::size_t count, cudaStream_t stream, std::size_t offset = 0) {
    detail::check_range(offset, count, this->size_, "upload");
    if (count == 0) return;
    DEEPLAB_CUDA_CHECK(cudaMemcpyAsync(this->data_ + offset, host, count * sizeof(T), cudaMemcpyHostToDevice, stream));
  }
  void download(T* host, std::size_t count, cudaStream_t stream, std::size_t offset = 0) const {
    detail::check_range(offset, count, this->size_, "download");
    if (count == 0) return;
    DEEPLAB_CUDA_CHECK(cudaMemcpyAsync(host, this->data_ + offset, count * sizeof(T), cudaMemcpyDeviceToHost, stream));
  }
};

// Page-locked host memory, indexable on the host.
template <typename T>
class PinnedBuffer : public CudaBuffer<T, PinnedMemory> {
 public:
  using CudaBuffer<T, PinnedMemory>::CudaBuffer;

  T& operator[](std::size_t i) { return this->data_[i]; }
  const T& operator[](std::size_t i) const { return this->data_[i]; }
  T* begin() { return this->data_; }
  T* end() { return this->data_ + this->size_; }
};

struct StreamRelease {
  void operator()(cudaStream_t stream) const noexcept { DEEPLAB_CUDA_CHECK_LOG(cudaStreamDestroy(stream)); }
};
struct EventRelease {
  void operator()(cudaEvent_t event) const noexcept { DEEPLAB_CUDA_CHECK_LOG(cudaEventDestroy(event)); }
};

// A non-blocking stream (does not synchronise with the legacy default stream).
class Stream : public UniqueHandle<cudaStream_t, StreamRelease> {
 public:
  Stream();
  void synchronize() const;  // throws kDevice with the first error of the work on it
};

// An event; `timing` for elapsed_ms(), else created with cudaEventDisableTiming (cheaper to sync on).
class Event : public UniqueHandle<cudaEvent_t, EventRelease> {
 public:
  explicit Event(bool timing = false);

  void record(cudaStream_t stream);
  void synchronize() const;
  // Milliseconds between two recorded timing events (after `end` has completed).
  static float elapsed_ms(const Event& start, const Event& end);
};

}  // namespace deeplab::cuda
