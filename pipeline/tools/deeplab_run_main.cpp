// deeplab-run: runs a YAML pipeline (docs/pipelines.md).
//
//   deeplab-run CONFIG.yaml [--set KEY=VALUE]... [--print-launch] [--dry-run] [--quiet] [--allow-partial]
//   deeplab-run --describe segmentation|overlay|encoder
//
// Exit status: 0 success; 1 a runtime failure (missing input, absent camera, model that does not load,
// an element error, an input that ended before its declared duration without --allow-partial, a stop
// before the first frame); 2 a configuration or usage error ("FILE:LINE:COLUMN: key: what").
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "deeplab/pipeline.h"

namespace {

constexpr int kRuntimeError = 1;
constexpr int kConfigError = 2;

const char* const kUsage =
    "usage: deeplab-run CONFIG.yaml [--set KEY=VALUE]... [--print-launch] [--dry-run] [--quiet] [--allow-partial]\n"
    "       deeplab-run --describe segmentation|overlay|encoder\n"
    "\n"
    "  --set KEY=VALUE  override a key of the configuration; list items by index (outputs.0.path=o.mp4);\n"
    "                   VALUE is read as YAML (3, true, [person, car], {type: display})\n"
    "  --print-launch   print the equivalent gst-launch-1.0 command and exit\n"
    "  --dry-run        validate the configuration and build the pipeline without running it\n"
    "  --quiet          no progress lines and no summary\n"
    "  --allow-partial  an input file whose video ends before the duration its container declares (a\n"
    "                   file cut short) is not an error (exit status 0; the summary still says so)\n"
    "  --describe S     print the Markdown table of the keys of section S (from the elements' properties)\n"
    "\n"
    "Exit status: 0 success, 1 runtime error (also: input cut short, stopped before the first frame),\n"
    "2 configuration or usage error.\n";

struct Args {
  std::string config;
  std::vector<std::string> overrides;
  std::string describe;
  bool print_launch = false;
  bool dry_run = false;
  bool quiet = false;
  bool allow_partial = false;
};

// Returns false (after printing why) on a usage error.
bool parse_args(int argc, char** argv, Args& args) {
  for (int k = 1; k < argc; ++k) {
    const std::string a = argv[k];
    auto value = [&](const char* option) -> const char* {
      if (k + 1 >= argc) {
        std::fprintf(stderr, "deeplab-run: %s needs a value\n", option);
        return nullptr;
      }
      return argv[++k];
    };
    if (a == "--set") {
      const char* v = value("--set");
      if (!v) return false;
      args.overrides.emplace_back(v);
    } else if (a.rfind("--set=", 0) == 0) {
      args.overrides.push_back(a.substr(6));
    } else if (a == "--describe") {
      const char* v = value("--describe");
      if (!v) return false;
      args.describe = v;
    } else if (a == "--print-launch") {
      args.print_launch = true;
    } else if (a == "--dry-run") {
      args.dry_run = true;
    } else if (a == "--allow-partial") {
      args.allow_partial = true;
    } else if (a == "--quiet" || a == "-q") {
      args.quiet = true;
    } else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "deeplab-run: unknown option '%s'\n%s", a.c_str(), kUsage);
      return false;
    } else if (args.config.empty()) {
      args.config = a;
    } else {
      std::fprintf(stderr, "deeplab-run: one configuration file only ('%s' and '%s')\n", args.config.c_str(), a.c_str());
      return false;
    }
  }
  if (args.config.empty() && args.describe.empty()) {
    std::fputs(kUsage, stderr);
    return false;
  }
  return true;
}

// Run from a build tree (build/pipeline/deeplab-run), GStreamer is told about the plugin built beside
// it (build/gst-plugin); an installed deeplab-run relies on the installed plugin.
void use_build_tree_plugin() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return;
  const auto plugin_dir = exe.parent_path().parent_path() / "gst-plugin";
  if (!std::filesystem::exists(plugin_dir / "libgstdeeplab.so", ec)) return;
  const char* old_path = std::getenv("GST_PLUGIN_PATH");
  std::string path = plugin_dir.string();
  if (old_path && *old_path) path += std::string(":") + old_path;
  setenv("GST_PLUGIN_PATH", path.c_str(), 1);
}

std::atomic<deeplab::Pipeline*> g_running{nullptr};
std::atomic<int> g_early_stops{0};  // Ctrl-C before the pipeline was made: passed on to it
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<deeplab::Pipeline*>::is_always_lock_free);

void on_signal(int) {
  // async-signal-safe: atomic loads and increments
  if (deeplab::Pipeline* p = g_running.load()) p->stop();
  else g_early_stops.fetch_add(1);
}

void install_signal_handlers() {
  struct sigaction action = {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

std::string clock_text(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
  return text;
}

// "input ended early: the video stops at 0:22 of the 0:55 the container declares (555 of about 1394 frames)"
std::string input_ended_early(const deeplab::RunStats& s) {
  char text[256];
  std::snprintf(text, sizeof text, "input ended early: the video stops at %s of the %s its container declares (%llu",
                clock_text(s.input_end_s).c_str(), clock_text(s.input_duration_s).c_str(),
                static_cast<unsigned long long>(s.frames));
  std::string line = text;
  if (s.input_frames_expected > 0) line += " of about " + std::to_string(s.input_frames_expected);
  return line + " frames); the file may be cut short";
}

void print_summary(const deeplab::RunStats& s) {
  std::fprintf(stderr, "%s: %llu frames in %.1f s (%.1f fps)\n", s.stopped ? "stopped" : "done",
               static_cast<unsigned long long>(s.frames), s.seconds, s.fps);
  std::fprintf(stderr, "latency per frame (deeplabseg): mean %.1f ms, p95 %.1f ms, max %.1f ms\n", s.latency_mean_ms,
               s.latency_p95_ms, s.latency_max_ms);
  std::fprintf(stderr, "dropped frames: %llu\n", static_cast<unsigned long long>(s.dropped));
  if (s.sources.size() > 1)  // a `sources:` list: each source's share
    for (const auto& source : s.sources)
      std::fprintf(stderr, "%s %s: %llu frames\n", source.key.c_str(), source.description.c_str(),
                   static_cast<unsigned long long>(source.frames));
  for (const auto& o : s.outputs) {
    std::fprintf(stderr, "%s %s '%s' (%s): %llu frames%s\n", o.key.c_str(), o.type.c_str(), o.name.c_str(), o.target.c_str(),
                 static_cast<unsigned long long>(o.frames), o.removed ? " (the empty file was removed)" : "");
  }
  if (s.input_ended_early) std::fprintf(stderr, "%s\n", input_ended_early(s).c_str());
}

int run(const Args& args) {
  if (!args.describe.empty()) {
    std::fputs(deeplab::describe_section(args.describe).c_str(), stdout);
    return 0;
  }
  deeplab::Pipeline pipeline = deeplab::Pipeline::from_file(args.config, args.overrides);
  if (args.print_launch) std::printf("%s\n", pipeline.launch_line().c_str());
  if (args.dry_run) {
    pipeline.check();
    if (!args.quiet) std::fprintf(stderr, "%s: valid\n", args.config.c_str());
  }
  if (args.print_launch || args.dry_run) return 0;
  struct Running {
    explicit Running(deeplab::Pipeline* p) { g_running = p; }
    ~Running() { g_running = nullptr; }
  } running(&pipeline);
  if (g_early_stops.exchange(0) > 0) pipeline.stop();
  deeplab::RunOptions options;
  options.progress = !args.quiet;
  const deeplab::RunStats stats = pipeline.run(options);
  if (!args.quiet) print_summary(stats);
  if (stats.stopped && stats.frames == 0) {
    std::string removed;
    for (const auto& o : stats.outputs)
      if (o.removed) removed += (removed.empty() ? "" : ", ") + ("'" + o.target + "'");
    std::fprintf(stderr, "deeplab-run: stopped during start-up, before the first frame: nothing was written%s\n",
                 removed.empty() ? "" : ("; removed the empty " + removed).c_str());
    return kRuntimeError;
  }
  if (stats.input_ended_early && !args.allow_partial) {
    std::fprintf(stderr, "deeplab-run: %s (the outputs hold what was read; --allow-partial accepts this)\n",
                 input_ended_early(stats).c_str());
    return kRuntimeError;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse_args(argc, argv, args)) return kConfigError;
  // Before anything slow (plugin registry, configuration): a Ctrl-C while loading is passed on to the run.
  if (args.describe.empty() && !args.print_launch && !args.dry_run) install_signal_handlers();
  use_build_tree_plugin();
  gst_init(nullptr, nullptr);
  try {
    return run(args);
  } catch (const deeplab::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return kConfigError;
  } catch (const deeplab::Error& e) {
    std::fprintf(stderr, "deeplab-run: %s\n", e.what());
    return kRuntimeError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "deeplab-run: %s\n", e.what());
    return kRuntimeError;
  }
}
