// Fixture of the GPU tests: each test first asks the CUDA runtime for a device and is reported as
// skipped (GTEST_SKIP; ctest shows it as skipped, not passed) when there is none.
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <string>

namespace deeplab::test {

// True when a CUDA GPU is usable; otherwise `why` says what the runtime reported.
inline bool cuda_gpu_present(std::string* why) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    *why = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(status);
    cudaGetLastError();  // clear it
    return false;
  }
  if (count == 0) {
    *why = "cudaGetDeviceCount found 0 devices";
    return false;
  }
  return true;
}

class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!cuda_gpu_present(&why)) GTEST_SKIP() << "no CUDA GPU: " << why;
  }
};

}  // namespace deeplab::test
