// main() of the element tests: the test environment. GStreamer gets the plugin in the build tree
// (prepended to GST_PLUGIN_PATH) and a registry file in the build tree (never ~/.cache); the engine
// gets the shared model folder as its model cache. Set before gst_init(), so the plugin scanner that
// GStreamer spawns inherits it too.
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
  g_setenv("GST_REGISTRY", DEEPLAB_GST_TEST_REGISTRY, TRUE);
  g_setenv("DEEPLAB_MODEL_CACHE", DEEPLAB_SHARED_DIR "/models", TRUE);  // the tests' manifest needs that file
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new GstEnvironment);  // not run for --gtest_list_tests
  return RUN_ALL_TESTS();
}
