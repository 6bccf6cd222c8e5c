// The JSONL manifest of a batch: one line per processed video (input, its size and mtime, outputs,
// frames, fps, status, error text), appended by every shard to one file. Each line is written by a
// single write() on an O_APPEND descriptor under an exclusive flock(), then fsync'ed: concurrent
// shards (also on NFS, where O_APPEND alone is not atomic but flock is honoured) never interleave,
// and a killed writer leaves whole lines. Reading takes the last line of each input.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace deeplab::batch {

struct InputStamp {
  std::int64_t size = -1;
  std::int64_t mtime_ns = -1;
  bool operator==(const InputStamp& o) const { return size == o.size && mtime_ns == o.mtime_ns; }
};

// The input's size and modification time; false with `error` set if it cannot be stat'ed.
bool stamp_input(const std::string& path, InputStamp& stamp, std::string& error);

struct OutputRecord {
  std::string name, type;  // the output's name and type in the configuration
  std::string path;        // its final path (a masks output: the pattern, e.g. DIR/masks/%05d.png)
  std::uint64_t frames = 0;
};

struct Record {
  std::string input, name;
  std::string status;  // "ok", "failed" or "interrupted"
  InputStamp stamp;
  std::string dir;  // the video's output folder (ok only)
  std::vector<OutputRecord> outputs;
  std::uint64_t frames = 0;
  double fps = 0, seconds = 0;
  std::string error;  // why it failed or was interrupted
  std::string shard;  // "I/N"
  std::string config;
};

std::string to_json(const Record& r);

class Manifest {
 public:
  explicit Manifest(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  // Reads the existing lines (none if the file does not exist); a line that is not a JSON object is
  // skipped with a warning. Throws deeplab::Error if the file exists but cannot be read.
  void load();
  // Complete: the last line for this input says ok, for the same size and mtime, and its folder
  // and every file output it lists exist.
  bool complete(const std::string& input, const InputStamp& stamp) const;
  // Appends one line (throws deeplab::Error naming the manifest if it cannot be written).
  void append(const Record& r) const;

 private:
  struct Last {
    bool ok = false;
    InputStamp stamp;
    std::string dir;
    std::vector<std::string> files;
  };
  std::string path_;
  std::map<std::string, Last> last_;
};

}  // namespace deeplab::batch
