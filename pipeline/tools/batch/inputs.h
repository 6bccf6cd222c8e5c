// The videos of a batch: read from a text list, a JSONL manifest or a glob, each given the name of
// the folder its outputs land in, and the share of them one shard (one Slurm array task, one
// Kubernetes index) processes.
#pragma once

#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace deeplab::batch {

// A bad command line or input list: exit status 2, like a bad configuration.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Video {
  std::string path;  // as listed; a relative path in a list file is taken relative to the list's folder
  std::string name;  // its output folder's name: the file name without extension, made unique
};

// `spec` is a list file (one path per line, '#' comments and blank lines skipped), a JSONL file
// (.jsonl: objects with an "input" key, e.g. an earlier manifest), or a glob pattern (sorted).
// Several specs are concatenated; a path listed twice is kept once. Throws UsageError.
std::vector<Video> load_videos(const std::vector<std::string>& specs);

// Which videos one worker of N processes: video k goes to shard k % N (round robin, so that N
// shards of a list sorted by size or date get similar work). `index` 0..count-1.
struct Shard {
  std::size_t index = 0;
  std::size_t count = 1;
  bool takes(std::size_t k) const { return k % count == index; }
  std::string text() const { return std::to_string(index) + "/" + std::to_string(count); }
};

// The shard from `--shard I/N` if given, else from the environment of a Slurm array task
// (SLURM_ARRAY_TASK_ID of `shard_count`; without it, ID - SLURM_ARRAY_TASK_MIN of MAX - MIN + 1) or a
// Kubernetes Indexed Job pod (JOB_COMPLETION_INDEX of `shard_count`); else 0/1 (every video).
// `shard_count` 0: not given. Throws UsageError naming the variable or option at fault.
Shard resolve_shard(const std::string& shard_arg, std::size_t shard_count, const std::map<std::string, std::string>& env);

}  // namespace deeplab::batch
