// Per-class statistics of one video, from the class maps deeplabseg attaches (an appsink output the
// batch adds): for each class, its pixels over all frames and the frames it appears in. Written as
// classes.json beside the video's other outputs (deeplab-batch --class-stats).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace deeplab {
struct ClassMapView;
}

namespace deeplab::batch {

class ClassStats {
 public:
  // One frame's class map; the counters are sized at the first frame, so later frames allocate
  // nothing. Called from the appsink's streaming thread (one thread: the run's only stats output).
  void add(const ClassMapView& map);
  std::uint64_t frames() const { return frames_; }
  // {"frames": N, "width": W, "height": H, "classes": [{"id", "name", "pixels", "share", "frames"}...]}
  // with the classes that appeared, by id; "share": of all pixels of all frames.
  std::string json() const;

 private:
  std::uint64_t frames_ = 0;
  int width_ = 0, height_ = 0;
  std::vector<std::string> names_;
  std::vector<std::uint64_t> pixels_;          // per class, all frames
  std::vector<std::uint64_t> frames_present_;  // per class
  std::vector<std::uint64_t> frame_pixels_;    // per class, the current frame
};

}  // namespace deeplab::batch
