// Result buffers handed back by the NumPy arrays that owned them, for the next frames. A Segmenter's
// class map is moved into the array it returns (no copy); the Segmenter then writes the next frame
// into a buffer from this pool, so that a loop which drops each result before the next call
// allocates nothing per frame, like the C++ API. Buffers come back from any thread (an array dies
// wherever its last reference goes), hence the lock.
#pragma once

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace deeplab::python {

template <typename T>
class BufferPool {
 public:
  // A buffer given back earlier (its size is the last owner's), or an empty one.
  std::vector<T> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.empty()) return {};
    std::vector<T> buffer = std::move(free_.back());
    free_.pop_back();
    return buffer;
  }
  void give(std::vector<T>&& buffer) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.size() < kKept) free_.push_back(std::move(buffer));
  }

 private:
  static constexpr std::size_t kKept = 4;  // enough for two frames in flight and one kept result
  std::mutex mutex_;
  std::vector<std::vector<T>> free_;
};

// What an array's capsule owns: the buffer, and the pool it goes back to (none: freed).
template <typename T>
struct PooledBuffer {
  std::vector<T> data;
  std::shared_ptr<BufferPool<T>> pool;
  PooledBuffer(std::vector<T>&& d, std::shared_ptr<BufferPool<T>> p) : data(std::move(d)), pool(std::move(p)) {}
  PooledBuffer(const PooledBuffer&) = delete;  // a copy would give the buffer back while an array uses it
  PooledBuffer& operator=(const PooledBuffer&) = delete;
  ~PooledBuffer() {
    if (pool) pool->give(std::move(data));
  }
};

}  // namespace deeplab::python
