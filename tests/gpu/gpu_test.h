// Fixture of the GPU tests: each test first asks the CUDA runtime for a device and is reported as
// skipped (GTEST_SKIP; ctest shows it as skipped, not passed) when there is none, failed when the
// device run requires it (DEEPLAB_GPU_REQUIRED=1).
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdlib>
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

// DEEPLAB_GPU_REQUIRED=1 (set by tests/gpu/device/run-gpu-tests.sh on the GPU machine): what the
// device run needs (a GPU, exported models, the real model, the frames) must be there, and a test
// whose input is missing fails instead of skipping. Unset (CI, the development machine): it skips.
inline bool gpu_inputs_required() {
  const char* v = std::getenv("DEEPLAB_GPU_REQUIRED");
  return v && *v && *v != '0';
}

// Skips the test (or, with DEEPLAB_GPU_REQUIRED=1, fails it) saying what is missing; returns from
// the calling function like GTEST_SKIP.
#define DEEPLAB_GPU_SKIP_OR_FAIL(message)                                                       \
  do {                                                                                           \
    if (::deeplab::test::gpu_inputs_required())                                                  \
      GTEST_FAIL() << message << " (DEEPLAB_GPU_REQUIRED=1: the device run needs it)";           \
    else                                                                                         \
      GTEST_SKIP() << message;                                                                   \
  } while (0)

class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!cuda_gpu_present(&why)) DEEPLAB_GPU_SKIP_OR_FAIL("no CUDA GPU: " << why);
  }
  // For fixtures that extend SetUp: true when the base skipped or failed the test.
  bool stopped() const { return IsSkipped() || HasFatalFailure(); }
};

}  // namespace deeplab::test
