// main() of the GStreamer test binaries (element tests, pipeline tests): the test environment, set
// before gst_init() so that GStreamer's plugin scanner and every process a test starts (deeplab-run,
// gst-launch-1.0, the example program) inherit it. GStreamer gets the plugin in the build tree
// (prepended to GST_PLUGIN_PATH) and a registry file in the build tree (never ~/.cache); the engine
// gets the shared model folder as its model cache (the tests' manifests and the default model need
// it); OpenMP threads sleep at barriers instead of spinning (busy machine, parallel ctest).
// The binary defines DEEPLAB_GST_PLUGIN_DIR, DEEPLAB_TEST_REGISTRY and DEEPLAB_SHARED_DIR
// (tests/support/gst/gst_tests.cmake).
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <string>

namespace {

class GstEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { gst_init(nullptr, nullptr); }
};

}  // namespace

int main(int argc, char** argv) {
  const char* old_path = g_getenv("GST_PLUGIN_PATH");
  std::string path = DEEPLAB_GST_PLUGIN_DIR;
  if (old_path && *old_path && path != old_path) path += std::string(":") + old_path;
  g_setenv("GST_PLUGIN_PATH", path.c_str(), TRUE);
  g_setenv("GST_REGISTRY", DEEPLAB_TEST_REGISTRY, TRUE);
  g_setenv("DEEPLAB_MODEL_CACHE", DEEPLAB_SHARED_DIR "/models", TRUE);
  g_setenv("OMP_WAIT_POLICY", "PASSIVE", TRUE);
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new GstEnvironment);  // not run for --gtest_list_tests
  return RUN_ALL_TESTS();
}
