#include "batch_run.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "class_stats.h"
#include "deeplab/pipeline.h"
#include "inputs.h"
#include "manifest.h"
#include "video_folder.h"

namespace deeplab::batch {
namespace {

namespace fs = std::filesystem;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string clock_text(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  return text;
}

constexpr const char* kStatsOutput = "class-stats";  // the appsink output --class-stats adds
constexpr const char* kStatsFile = "classes.json";

struct Layout {
  std::vector<FileOutput> files;  // redirected into each video's folder
  std::size_t stats_index = 0;    // outputs.K of the added appsink (with --class-stats)
};

// The configuration with a placeholder input: checks it (exit 2 before any video) and finds its
// file outputs, which every video's run redirects into its own folder.
Layout checked_layout(const BatchOptions& o) {
  std::vector<std::string> sets = o.overrides;
  sets.emplace_back("source.path=video.mp4");
  const std::vector<std::string> args = Pipeline::from_file(o.config, sets).launch_args();
  return {file_outputs(args), output_count(args)};
}

// Sets `interrupt.running` while the pipeline runs, so that a signal stops it.
class RunningGuard {
 public:
  RunningGuard(Interrupt& interrupt, Pipeline& p) : interrupt_(interrupt) {
    interrupt_.running.store(&p);
    if (interrupt_.signal.load() != 0) p.stop();  // the signal came before the store
  }
  ~RunningGuard() { interrupt_.running.store(nullptr); }
  RunningGuard(const RunningGuard&) = delete;
  RunningGuard& operator=(const RunningGuard&) = delete;

 private:
  Interrupt& interrupt_;
};

std::string signal_text(int sig) {
  const char* name = sigabbrev_np(sig);
  return "stopped by signal " + std::to_string(sig) + (name ? std::string(" (SIG") + name + ")" : std::string());
}

std::string ended_early_text(const RunStats& s) {
  char text[200];
  std::snprintf(text, sizeof text,
                "input ended early: the video stops at %.1f s of the %.1f s its container declares (%llu frames); "
                "the file may be cut short (--allow-partial accepts it)",
                s.input_end_s, s.input_duration_s, static_cast<unsigned long long>(s.frames));
  return text;
}

class VideoRun {
 public:
  VideoRun(const BatchOptions& o, Interrupt& interrupt, const Layout& layout, const Shard& shard)
      : options_(o), interrupt_(interrupt), layout_(layout), shard_(shard) {}

  // One video, start to manifest record; a failure of this video is recorded, never thrown.
  Record process(const Video& v) const {
    Record r;
    r.input = v.path;
    r.name = v.name;
    r.shard = shard_.text();
    r.config = options_.config;
    r.status = "failed";
    if (!stamp_input(v.path, r.stamp, r.error)) return r;
    const VideoFolder folder(options_.output_dir, v.name);
    try {
      folder.prepare();
      run_into(folder, v, r);
    } catch (const std::exception& e) {
      r.error = e.what();
    }
    if (interrupt_.signal.load() != 0 && r.status != "ok") {
      r.status = "interrupted";
      r.error = signal_text(interrupt_.signal.load()) + (r.error.empty() ? "" : ": " + r.error);
    }
    if (r.status != "ok") folder.discard();
    return r;
  }

 private:
  std::vector<std::string> overrides(const VideoFolder& folder, const Video& v) const {
    std::vector<std::string> sets = options_.overrides;
    sets.push_back("source.path=" + v.path);
    for (const std::string& s : folder.overrides(layout_.files)) sets.push_back(s);
    if (options_.class_stats)  // every frame (drop: false), as it comes: only its class map is read
      sets.push_back("outputs." + std::to_string(layout_.stats_index) + "={type: appsink, name: " + kStatsOutput +
                     ", show: frame, drop: false}");
    return sets;
  }

  void run_into(const VideoFolder& folder, const Video& v, Record& r) const {
    Pipeline pipeline = Pipeline::from_file(options_.config, overrides(folder, v));
    ClassStats class_stats;
    if (options_.class_stats)
      pipeline.on_frame([&class_stats](const OutputFrame& f) {
        if (f.output == kStatsOutput) class_stats.add(f.class_map);
      });
    RunOptions run_options;
    run_options.progress = options_.progress;
    RunStats stats;
    {
      const RunningGuard guard(interrupt_, pipeline);
      stats = pipeline.run(run_options);
    }
    r.frames = stats.frames;
    r.fps = stats.fps;
    r.seconds = stats.seconds;
    if (interrupt_.signal.load() != 0) return;
    if (stats.frames == 0) r.error = "no frame was segmented";
    else if (stats.input_ended_early && !options_.allow_partial) r.error = ended_early_text(stats);
    if (!r.error.empty()) return;
    if (options_.class_stats) folder.write(kStatsFile, class_stats.json());
    folder.commit();
    r.status = "ok";
    r.dir = folder.final_dir();
    r.outputs = final_outputs(folder, stats);
  }

  std::vector<OutputRecord> final_outputs(const VideoFolder& folder, const RunStats& stats) const {
    std::vector<OutputRecord> records;
    for (std::size_t k = 0; k < stats.outputs.size(); ++k) {
      const OutputStats& s = stats.outputs[k];
      OutputRecord o{s.name, s.type, s.target, s.frames};
      for (const FileOutput& f : layout_.files)
        if (f.index == k) o.path = (fs::path(folder.final_dir()) / f.relative).string();
      if (options_.class_stats && k == layout_.stats_index) o.path = (fs::path(folder.final_dir()) / kStatsFile).string();
      records.push_back(o);
    }
    return records;
  }

  const BatchOptions& options_;
  Interrupt& interrupt_;
  const Layout& layout_;
  const Shard& shard_;
};

struct Tally {
  std::size_t ok = 0, failed = 0, skipped = 0, interrupted = 0;
  std::size_t done = 0, total = 0;  // of this shard's videos
  double processing_s = 0;          // time spent on processed (not skipped) videos
  std::size_t processed = 0;

  std::string overall() const {
    std::string text = "overall " + std::to_string(done) + "/" + std::to_string(total);
    const std::size_t left = total - done;
    if (processed > 0 && left > 0) text += ", ETA " + clock_text(processing_s / processed * left);
    return text;
  }
};

void report(const BatchOptions& o, const Record& r, const Tally& t) {
  if (r.status == "ok") {
    if (!o.quiet)
      std::fprintf(stderr, "deeplab-batch: [%zu/%zu] %s: ok, %llu frames in %.1f s (%.1f fps) -> %s; %s\n", t.done, t.total,
                   r.name.c_str(), static_cast<unsigned long long>(r.frames), r.seconds, r.fps, r.dir.c_str(),
                   t.overall().c_str());
    return;
  }
  // failures are printed even with --quiet
  std::fprintf(stderr, "deeplab-batch: [%zu/%zu] %s (%s): %s: %s; %s\n", t.done, t.total, r.name.c_str(), r.input.c_str(),
               r.status == "failed" ? "FAILED" : "INTERRUPTED", r.error.c_str(), t.overall().c_str());
}

void count(const Record& r, Tally& t) {
  if (r.status == "ok") ++t.ok;
  else if (r.status == "interrupted") ++t.interrupted;
  else ++t.failed;
}

int exit_status(const Tally& t, int signal) {
  if (signal != 0) return 128 + signal;
  return t.failed > 0 ? kExitSomeFailed : 0;
}

}  // namespace

int run_batch(const BatchOptions& o, Interrupt& interrupt, const std::map<std::string, std::string>& env) {
  const Layout layout = checked_layout(o);
  const std::vector<Video> videos = load_videos(o.inputs);
  const Shard shard = resolve_shard(o.shard, o.shard_count, env);
  std::error_code ec;
  fs::create_directories(o.output_dir, ec);
  if (ec) throw Error(ErrorCode::kIo, "cannot create the output folder '" + o.output_dir + "': " + ec.message());
  Manifest manifest(o.manifest);
  manifest.load();
  Tally t;
  for (std::size_t k = 0; k < videos.size(); ++k) t.total += shard.takes(k) ? 1 : 0;
  if (!o.quiet)
    std::fprintf(stderr, "deeplab-batch: shard %s: %zu of %zu videos; outputs in %s, manifest %s\n", shard.text().c_str(),
                 t.total, videos.size(), o.output_dir.c_str(), o.manifest.c_str());
  const VideoRun run(o, interrupt, layout, shard);
  const double start = now_s();
  for (std::size_t k = 0; k < videos.size() && interrupt.signal.load() == 0; ++k) {
    if (!shard.takes(k)) continue;
    ++t.done;
    InputStamp stamp;
    std::string why;
    if (!o.force && stamp_input(videos[k].path, stamp, why) && manifest.complete(videos[k].path, stamp)) {
      ++t.skipped;
      if (!o.quiet) std::fprintf(stderr, "deeplab-batch: [%zu/%zu] %s: already complete, skipped\n", t.done, t.total, videos[k].name.c_str());
      continue;
    }
    const double video_start = now_s();
    const Record r = run.process(videos[k]);
    t.processing_s += now_s() - video_start;
    ++t.processed;
    manifest.append(r);
    count(r, t);
    report(o, r, t);
  }
  const int signal = interrupt.signal.load();
  std::fprintf(stderr, "deeplab-batch: shard %s %s: %zu ok, %zu failed, %zu already complete, %zu interrupted, in %s\n",
               shard.text().c_str(), signal ? signal_text(signal).c_str() : "done", t.ok, t.failed, t.skipped,
               t.interrupted, clock_text(now_s() - start).c_str());
  return exit_status(t, signal);
}

}  // namespace deeplab::batch
