// Frame sources for deeplab-bench: a synthetic stream with small changes from frame to frame (a
// slowly panning camera), or the first frames of a video file held in memory. Both hand out frames
// without allocating, so the timings see only the engine.
#pragma once

#include <memory>
#include <string>

#include "deeplab/frame.h"

namespace deeplab::tools {

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // The next frame; valid until the following call.
  virtual FrameView next() = 0;
  virtual int width() const = 0;
  virtual int height() const = 0;
};

// --help text: what the synthetic stream and --frames-from feed.
extern const char* const kFrameSourceHelp;

std::unique_ptr<FrameSource> make_synthetic_stream(int width, int height);

// Decodes the first `count` frames of `path` (played back and forth when the video has fewer, so
// that no artificial scene cut appears), scaled to width x height (0 x 0: the video's own size).
// Throws Error(kIo) naming the file when it cannot be read.
std::unique_ptr<FrameSource> load_video_frames(const std::string& path, int count, int width, int height);

}  // namespace deeplab::tools
