// main() of the pipeline tests: the test environment, set before gst_init() so that GStreamer's plugin
// scanner and every process a test starts (deeplab-run, gst-launch-1.0, the example) inherit it.
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
  g_setenv("GST_REGISTRY", DEEPLAB_PIPELINE_TEST_REGISTRY, TRUE);
  g_setenv("DEEPLAB_MODEL_CACHE", DEEPLAB_SHARED_DIR "/models", TRUE);  // the default model's .onnx
  g_setenv("OMP_WAIT_POLICY", "PASSIVE", TRUE);
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new GstEnvironment);
  return RUN_ALL_TESTS();
}
