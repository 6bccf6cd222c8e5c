// The CUDA resource wrappers on a GPU (label gpu): copies round-trip, moves transfer ownership,
// events time, and a failing CUDA call becomes a deeplab::Error (kDevice) naming the call.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "cuda/cuda_check.h"
#include "cuda/cuda_resources.h"
#include "gpu_test.h"

using namespace deeplab;
using namespace deeplab::cuda;
using namespace deeplab::test;

TEST_F(GpuTest, BuffersRoundTripAndMove) {
  Stream stream;
  std::vector<int> host(1000);
  std::iota(host.begin(), host.end(), -500);
  DeviceBuffer<int> a(host.size());
  a.upload(host.data(), host.size(), stream.get());
  DeviceBuffer<int> b(std::move(a));
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(b.size(), host.size());
  PinnedBuffer<int> pinned(host.size());
  b.download(pinned.data(), pinned.size(), stream.get());
  Event done;
  done.record(stream.get());
  done.synchronize();
  EXPECT_TRUE(std::equal(host.begin(), host.end(), pinned.begin()));
  // Partial copies at an offset.
  b.download(pinned.data(), 10, stream.get(), 990);
  stream.synchronize();
  EXPECT_EQ(pinned[0], 490);
  b.reserve(10);  // holds more already: keeps its memory
  EXPECT_EQ(b.size(), host.size());
  EXPECT_THROW(b.upload(host.data(), 11, stream.get(), 990), Error);
}

TEST_F(GpuTest, TimingEvents) {
  Stream stream;
  Event start(true), end(true);
  DeviceBuffer<float> x(1 << 20);
  start.record(stream.get());
  DEEPLAB_CUDA_CHECK(cudaMemsetAsync(x.data(), 0, x.bytes(), stream.get()));
  end.record(stream.get());
  end.synchronize();
  EXPECT_GE(Event::elapsed_ms(start, end), 0.0f);
}

TEST_F(GpuTest, FailingCallThrowsDeviceError) {
  try {
    DeviceBuffer<float> huge(std::size_t{1} << 48);  // 1 PiB
    FAIL() << "allocated 1 PiB";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDevice);
    EXPECT_NE(std::string(e.what()).find("cudaMalloc"), std::string::npos) << e.what();
  }
  cudaGetLastError();
}
