// Move-only owner of a C library's handle — CUDA streams and events (cuda/cuda_resources.h), the
// cuDNN handle and descriptors (cuda/cudnn_handles.h): one copy of the move and release rules.
// `Release` is a function object, void operator()(Handle) noexcept, called once for a non-null
// handle; it logs a failure, never throws. Plain C++: no CUDA header.
#pragma once

#include <utility>

namespace deeplab::cuda {

template <typename Handle, typename Release>
class UniqueHandle {
 public:
  UniqueHandle() = default;
  ~UniqueHandle() { release(); }
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;
  UniqueHandle(UniqueHandle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  UniqueHandle& operator=(UniqueHandle&& other) noexcept {
    if (this != &other) {
      release();
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }

  Handle get() const { return handle_; }

 protected:
  void release() noexcept {
    if (handle_) Release{}(handle_);
    handle_ = nullptr;
  }
  Handle handle_ = nullptr;  // set by the derived class's constructor
};

}  // namespace deeplab::cuda
