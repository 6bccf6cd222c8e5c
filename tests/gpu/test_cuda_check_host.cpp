// Host-only tests of the CUDA error handling and resource wrappers (label unit; built with CUDA,
// needs no GPU): the check macro's message and error code, the log-only variant, and that empty
// wrappers never call into CUDA.
#include <gtest/gtest.h>

#include <string>
#include <type_traits>

#include "cuda/cuda_check.h"
#include "cuda/cuda_resources.h"
#include "deeplab/error.h"

using namespace deeplab;
using namespace deeplab::cuda;

namespace {

cudaError_t fails_with(cudaError_t status) { return status; }

}  // namespace

TEST(CudaCheck, ThrowsDeviceErrorNamingFileLineAndCall) {
  const int line = __LINE__ + 2;
  try {
    DEEPLAB_CUDA_CHECK(fails_with(cudaErrorInvalidValue));
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDevice);
    const std::string what = e.what();
    const std::string tail = "test_cuda_check_host.cpp:" + std::to_string(line) +
                             ": fails_with(cudaErrorInvalidValue): " + cudaGetErrorString(cudaErrorInvalidValue);
    ASSERT_GE(what.size(), tail.size()) << what;
    EXPECT_EQ(what.substr(what.size() - tail.size()), tail);
  }
  EXPECT_NO_THROW(DEEPLAB_CUDA_CHECK(fails_with(cudaSuccess)));
}

TEST(CudaCheck, SourcePathsUnderSrcAreShortened) {
  const std::string m = cuda_error_message(cudaErrorInvalidValue, "/work/x/engine/src/cuda/cuda_resources.h", 12, "f()");
  EXPECT_EQ(m, std::string("cuda/cuda_resources.h:12: f(): ") + cudaGetErrorString(cudaErrorInvalidValue));
}

TEST(CudaCheck, LogVariantNeverThrows) {
  testing::internal::CaptureStderr();
  EXPECT_NO_THROW(DEEPLAB_CUDA_CHECK_LOG(fails_with(cudaErrorInvalidValue)));
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("fails_with(cudaErrorInvalidValue)"), std::string::npos) << err;
}

TEST(CudaResources, AreMoveOnly) {
  static_assert(!std::is_copy_constructible_v<DeviceBuffer<float>> && !std::is_copy_assignable_v<DeviceBuffer<float>>);
  static_assert(std::is_nothrow_move_constructible_v<DeviceBuffer<float>> &&
                std::is_nothrow_move_assignable_v<DeviceBuffer<float>>);
  static_assert(!std::is_copy_constructible_v<PinnedBuffer<int>> && std::is_nothrow_move_constructible_v<PinnedBuffer<int>>);
  static_assert(!std::is_copy_constructible_v<Stream> && std::is_nothrow_move_constructible_v<Stream>);
  static_assert(!std::is_copy_constructible_v<Event> && std::is_nothrow_move_constructible_v<Event>);
  static_assert(std::is_nothrow_destructible_v<DeviceBuffer<float>> && std::is_nothrow_destructible_v<Stream>);
}

// Empty buffers hold nothing and free nothing: usable (and destructible) on a machine without a GPU.
TEST(CudaResources, EmptyBuffersNeedNoDevice) {
  DeviceBuffer<float> a;
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.data(), nullptr);
  a.allocate(0);
  a.reserve(0);
  EXPECT_TRUE(a.empty());
  DeviceBuffer<float> b(std::move(a));
  EXPECT_TRUE(b.empty());
  a = std::move(b);
  EXPECT_TRUE(a.empty());
  PinnedBuffer<int> p(0);
  EXPECT_TRUE(p.empty());
  // Copies past the end are refused before reaching CUDA.
  float host[4] = {};
  try {
    a.upload(host, 4, nullptr);
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal) << e.what();
  }
}
