// deeplab-batch: one pipeline configuration over many videos (docs/cluster.md), one shard of them
// per worker: a Slurm array task, a Kubernetes Indexed Job pod, or a `--shard I/N` by hand.
//
//   deeplab-batch CONFIG.yaml --inputs LIST|GLOB --output-dir DIR [--manifest FILE]
//                 [--shard I/N] [--shard-count N] [--force] [--set KEY=VALUE]... [--allow-partial]
//                 [--class-stats] [--progress] [--quiet]
//
// Each video's outputs land in DIR/NAME/ (written in DIR/.partial/NAME/, renamed when complete); a
// line per video goes to the JSONL manifest (DIR/manifest.jsonl); a video whose manifest line says
// ok, for the same input size and mtime, with its outputs in place, is skipped (--force redoes it).
// Exit status: 0 every video of the shard ok (or already complete); 1 one or more failed; 2 a
// configuration or usage error; 128+N stopped by signal N (SIGINT 130, SIGTERM 143: Slurm's cancel).
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "batch/batch_run.h"
#include "batch/inputs.h"
#include "deeplab/pipeline.h"

extern char** environ;

namespace {

using namespace deeplab::batch;

const char* const kUsage =
    "usage: deeplab-batch CONFIG.yaml --inputs LIST|GLOB --output-dir DIR [--manifest FILE]\n"
    "                     [--shard I/N] [--shard-count N] [--force] [--set KEY=VALUE]... [--allow-partial]\n"
    "                     [--class-stats] [--progress] [--quiet]\n"
    "\n"
    "  --inputs X       a list file (one path per line; relative paths from the list's folder), a .jsonl\n"
    "                   file (objects with an \"input\" key, e.g. a manifest) or a glob ('videos/*.mp4');\n"
    "                   repeatable\n"
    "  --output-dir DIR each video's outputs go to DIR/NAME/ (NAME: the file name without extension)\n"
    "  --manifest FILE  the JSONL manifest, one line per video (default DIR/manifest.jsonl)\n"
    "  --shard I/N      process videos k with k % N == I; default: SLURM_ARRAY_TASK_ID (of the array's\n"
    "                   size) or JOB_COMPLETION_INDEX (with --shard-count), else every video\n"
    "  --shard-count N  the number of shards (Kubernetes: the Job's completions)\n"
    "  --force          redo videos the manifest records as complete\n"
    "  --set KEY=VALUE  override a key of the configuration, as in deeplab-run\n"
    "  --allow-partial  a video file cut short (ends before its declared duration) counts as ok\n"
    "  --class-stats    also write DIR/NAME/classes.json: per class, its pixels and the frames it is in\n"
    "  --progress       deeplab-run's progress lines within each video\n"
    "  --quiet          no per-video lines (errors are still printed)\n"
    "\n"
    "Exit status: 0 all ok or already complete, 1 some video failed, 2 usage or configuration error,\n"
    "128+N stopped by signal N (the video being processed is discarded and recorded as interrupted).\n";

using Args = BatchOptions;

// Options that take a value, and where it goes.
std::string* value_slot(Args& a, const std::string& option) {
  if (option == "--output-dir") return &a.output_dir;
  if (option == "--manifest") return &a.manifest;
  if (option == "--shard") return &a.shard;
  return nullptr;
}

void parse_flag(Args& a, const std::string& option) {
  if (option == "--force") a.force = true;
  else if (option == "--allow-partial") a.allow_partial = true;
  else if (option == "--progress") a.progress = true;
  else if (option == "--class-stats") a.class_stats = true;
  else if (option == "--quiet" || option == "-q") a.quiet = true;
  else throw UsageError("unknown option '" + option + "'");
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int k = 1; k < argc; ++k) {
    const std::string option = argv[k];
    if (option == "--help" || option == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    const bool takes_value = value_slot(a, option) || option == "--inputs" || option == "--set" || option == "--shard-count";
    if (takes_value && k + 1 >= argc) throw UsageError(option + " needs a value");
    if (std::string* slot = value_slot(a, option)) *slot = argv[++k];
    else if (option == "--inputs") a.inputs.emplace_back(argv[++k]);
    else if (option == "--set") a.overrides.emplace_back(argv[++k]);
    else if (option == "--shard-count") a.shard_count = resolve_shard(std::string("0/") + argv[++k], 0, {}).count;
    else if (!option.empty() && option[0] == '-') parse_flag(a, option);
    else if (a.config.empty()) a.config = option;
    else throw UsageError("one configuration file only ('" + a.config + "' and '" + option + "')");
  }
  if (a.config.empty() || a.inputs.empty() || a.output_dir.empty())
    throw UsageError("CONFIG.yaml, --inputs and --output-dir are required");
  if (a.manifest.empty()) a.manifest = (std::filesystem::path(a.output_dir) / "manifest.jsonl").string();
  return a;
}

// From a build tree (build/pipeline/deeplab-batch) GStreamer is pointed at the plugin built beside
// it, as deeplab-run does; an installed deeplab-batch uses the installed plugin.
void prefer_build_tree_plugin() {
  std::error_code ec;
  const std::filesystem::path plugin_dir = std::filesystem::canonical("/proc/self/exe", ec).parent_path().parent_path() / "gst-plugin";
  if (ec || !std::filesystem::is_regular_file(plugin_dir / "libgstdeeplab.so", ec)) return;
  const char* existing = std::getenv("GST_PLUGIN_PATH");
  const std::string value = (existing && *existing) ? plugin_dir.string() + ":" + existing : plugin_dir.string();
  setenv("GST_PLUGIN_PATH", value.c_str(), 1);
}

Interrupt g_interrupt;
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<deeplab::Pipeline*>::is_always_lock_free);

void on_signal(int sig) {
  // async-signal-safe: atomic stores and Pipeline::stop() (an atomic increment)
  g_interrupt.signal.store(sig);
  if (deeplab::Pipeline* p = g_interrupt.running.load()) p->stop();
}

void install_signal_handlers() {
  struct sigaction action = {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  for (const int sig : {SIGINT, SIGTERM}) sigaction(sig, &action, nullptr);  // SIGTERM: scancel, pod deletion
}

std::map<std::string, std::string> environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq) env[std::string(*e, static_cast<std::size_t>(eq - *e))] = eq + 1;
  }
  return env;
}

// What ends the program before or between videos: a usage or configuration error (exit 2; a
// configuration error's message starts with its FILE:LINE:COLUMN, printed as deeplab-run prints it),
// or a manifest that cannot be written (exit 1).
int report_error(const std::exception& e) {
  const bool config = dynamic_cast<const deeplab::ConfigError*>(&e) != nullptr;
  std::fprintf(stderr, "%s%s\n", config ? "" : "deeplab-batch: ", e.what());
  return config || dynamic_cast<const UsageError*>(&e) ? kExitUsage : kExitSomeFailed;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  try {
    args = parse_args(argc, argv);
  } catch (const UsageError& e) {
    std::fputs(kUsage, stderr);
    return report_error(e);
  }
  install_signal_handlers();  // before the plugin registry loads: a cancel then stops before the first video
  prefer_build_tree_plugin();
  gst_init(nullptr, nullptr);
  try {
    return run_batch(args, g_interrupt, environment());
  } catch (const std::exception& e) {
    return report_error(e);
  }
}
