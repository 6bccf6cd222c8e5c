// deeplab-gpu-frames DIR [WxH]: writes the CRF/pipeline test sequence (real_frames.h) as binary PPMs
// into DIR, for a GPU machine without OpenCV (carry DIR, point DEEPLAB_GPU_FRAMES_DIR at it).
#include <cstdio>
#include <filesystem>
#include <string>

#include "deeplab/error.h"
#include "real_frames.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: deeplab-gpu-frames DIR [WxH] (default 640x360)\n");
    return 2;
  }
  int width = 640, height = 360;
  if (argc > 2 && std::sscanf(argv[2], "%dx%d", &width, &height) != 2) {
    std::fprintf(stderr, "deeplab-gpu-frames: size '%s' is not WxH\n", argv[2]);
    return 2;
  }
  try {
    std::filesystem::create_directories(argv[1]);
    std::string why;
    const auto frames = deeplab::test::crf_test_sequence(DEEPLAB_SHARED_DIR, "", width, height, 6, &why);
    if (frames.empty()) throw deeplab::Error(deeplab::ErrorCode::kNotFound, why);
    for (std::size_t k = 0; k < frames.size(); ++k) {
      char name[32];
      std::snprintf(name, sizeof name, "/%02zu-", k);
      deeplab::test::write_ppm(frames[k], std::string(argv[1]) + name + frames[k].name + ".ppm");
    }
    std::printf("%zu frames of %dx%d in %s\n", frames.size(), width, height, argv[1]);
    return 0;
  } catch (const deeplab::Error& e) {
    std::fprintf(stderr, "deeplab-gpu-frames: %s\n", e.what());
    return 1;
  }
}
