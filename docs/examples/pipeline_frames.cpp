// Embedding a YAML pipeline (docs/pipelines.md): frames and class maps in your own process.
//
//   deeplab-example-pipeline-frames VIDEO [--set KEY=VALUE]...
//   e.g. deeplab-example-pipeline-frames ../shared/media/bottle-detection.mp4 --set source.max-frames=20
//        deeplab-example-pipeline-frames ../shared/media/person.jpg      (a still is a one-frame file)
// From a build tree, GStreamer finds the plugin with GST_PLUGIN_PATH=build/gst-plugin.
//
// For every frame it prints the share of the frame each class covers and where the person pixels
// are centred, reading the frame (RGB, as the appsink output asks) and the class map in place: no
// pixel is copied. Build: target deeplab-example-pipeline-frames (links deeplab::pipeline).
#include <cstdio>
#include <string>
#include <vector>

#include "deeplab/pipeline.h"

namespace {

// A file source, default segmentation, one appsink output with the frames converted to RGB. For a
// camera: source: {type: camera, device: /dev/video0}; the callback stays the same.
const char* const kConfig = R"(
source:
  type: file
  path: video.mp4            # replaced by the command-line argument below
segmentation:
  threads: 2
outputs:
  - type: appsink
    name: robot
    format: RGB
    drop: false              # every frame reaches the callback (a live robot would keep drop: true)
)";

void print_frame(const deeplab::OutputFrame& frame) {
  const deeplab::ClassMapView& map = frame.class_map;
  if (!map) {
    std::printf("frame %llu: no class map\n", static_cast<unsigned long long>(frame.index));
    return;
  }
  std::vector<long> pixels(map.num_classes, 0);
  long person_x = 0, person_y = 0;
  const int person = 15;  // "person" in the VOC class list of the default model
  for (int y = 0; y < map.height; ++y)
    for (int x = 0; x < map.width; ++x) {
      const int id = map.at(x, y);
      ++pixels[id];
      if (id == person) person_x += x, person_y += y;
    }
  std::printf("frame %llu %dx%d %.*s:", static_cast<unsigned long long>(frame.index), frame.width, frame.height,
              static_cast<int>(frame.format.size()), frame.format.data());
  const double total = static_cast<double>(map.width) * map.height;
  for (int c = 0; c < map.num_classes; ++c)
    if (pixels[c] > 0) std::printf(" %s %.1f%%", map.names[c], 100.0 * pixels[c] / total);
  if (pixels[person] > 0) {
    // The frame itself, e.g. the colour at the centre of the person pixels (RGB, one plane).
    const long cx = person_x / pixels[person], cy = person_y / pixels[person];
    const std::uint8_t* rgb = frame.planes[0] + cy * frame.strides[0] + cx * 3;
    std::printf(" | person centre (%ld, %ld) rgb(%d, %d, %d)", cx, cy, rgb[0], rgb[1], rgb[2]);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s VIDEO [--set KEY=VALUE]...\n", argv[0]);
    return 2;
  }
  std::vector<std::string> overrides = {std::string("source.path=") + argv[1]};
  for (int k = 2; k + 1 < argc; k += 2)
    if (std::string(argv[k]) == "--set") overrides.emplace_back(argv[k + 1]);
  try {
    deeplab::Pipeline pipeline = deeplab::Pipeline::from_string(kConfig, overrides, "pipeline_frames.cpp");
    pipeline.on_frame(print_frame);  // called in the appsink's streaming thread
    const deeplab::RunStats stats = pipeline.run();
    std::printf("%llu frames, %.1f fps, deeplabseg latency mean %.1f ms\n",
                static_cast<unsigned long long>(stats.frames), stats.fps, stats.latency_mean_ms);
  } catch (const deeplab::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const deeplab::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
