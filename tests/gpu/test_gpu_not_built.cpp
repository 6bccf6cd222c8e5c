// deeplab_gpu_tests in a build without the CUDA toolkit: one test, reported as skipped, so that
// `ctest -L gpu` says why nothing ran instead of finding no tests.
#include <gtest/gtest.h>

TEST(Gpu, NotBuilt) { GTEST_SKIP() << "no CUDA GPU: this build has no CUDA support (DEEPLAB_HAVE_CUDA off)"; }
