// What the file outputs hold once a run is over: the state of an output path before the run (so that
// an old file the run never opened is not removed as empty), and the frames a finished MP4 or MKV
// plays, counted by demuxing it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace deeplab::pipeline {

struct FileStamp {
  bool exists = false;
  std::filesystem::file_time_type time{};
  std::uintmax_t size = 0;
};
FileStamp file_stamp(const std::string& path);

// The video frames a finished file plays, as players see them: its samples inside the demuxer's
// segment (an MP4's edit list can leave out a sample the muxer got). `container`: "mp4" or "mkv".
// -1 if the file cannot be read to its end.
std::int64_t count_written_frames(const std::string& path, const std::string& container);

}  // namespace deeplab::pipeline
