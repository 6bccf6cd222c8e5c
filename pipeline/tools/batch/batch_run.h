// The loop of deeplab-batch: validate the configuration, list and shard the videos, and for each
// video of this shard skip it (complete), or run the pipeline into its work folder, commit or
// discard the folder, and append its manifest line.
#pragma once

#include <atomic>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace deeplab {
class Pipeline;
}

namespace deeplab::batch {

struct BatchOptions {
  std::string config, output_dir, manifest, shard;
  std::vector<std::string> inputs, overrides;
  std::size_t shard_count = 0;  // 0: not given
  bool force = false, allow_partial = false, progress = false, quiet = false;
  bool class_stats = false;  // also write classes.json (per-class pixels and frames) per video
};

// Shared with a signal handler: the pipeline running now (to stop()) and the signal that arrived.
struct Interrupt {
  std::atomic<Pipeline*> running{nullptr};
  std::atomic<int> signal{0};
};

constexpr int kExitSomeFailed = 1;
constexpr int kExitUsage = 2;

// Returns the exit status (0, kExitSomeFailed, kExitUsage or 128 + signal). Throws
// deeplab::ConfigError / UsageError (exit 2) before the first video; failures of one video are
// recorded, not thrown; a manifest that cannot be written throws deeplab::Error.
int run_batch(const BatchOptions& options, Interrupt& interrupt, const std::map<std::string, std::string>& env);

}  // namespace deeplab::batch
