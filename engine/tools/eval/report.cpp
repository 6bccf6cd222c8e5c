#include "eval/report.h"

#include <cmath>
#include <cstdint>

namespace deeplab::eval {
namespace {

// A minimal JSON object writer: keys in insertion order, NaN written as null (an IoU of a class
// that appears nowhere is undefined, not 0).
class Json {
 public:
  Json& key(const char* k) {
    comma();
    text_ += '"' + escape(k) + "\": ";
    fresh_ = true;  // the value follows without a comma
    return *this;
  }
  Json& str(const std::string& v) { return raw('"' + escape(v) + '"'); }
  Json& num(double v, int digits = 6) {
    if (!std::isfinite(v)) return raw("null");
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return raw(buf);
  }
  Json& integer(std::uint64_t v) { return raw(std::to_string(v)); }
  Json& boolean(bool v) { return raw(v ? "true" : "false"); }
  Json& open(char bracket) {
    comma();
    text_ += bracket;
    fresh_ = true;
    return *this;
  }
  Json& close(char bracket) {
    text_ += bracket;
    fresh_ = false;
    return *this;
  }
  const std::string& text() const { return text_; }

 private:
  Json& raw(const std::string& v) {
    comma();
    text_ += v;
    fresh_ = false;
    return *this;
  }
  void comma() {
    if (!fresh_) text_ += ", ";
    fresh_ = false;
  }
  static std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
        continue;
      }
      out += c;
    }
    return out;
  }

  std::string text_;
  bool fresh_ = true;
};

void write_setup(Json& j, const RunInfo& info) {
  j.key("tool").str("deeplab-eval");
  j.key("model").str(info.model);
  j.key("device").str(info.device);
  j.key("threads").integer(static_cast<std::uint64_t>(info.threads));
  j.key("input").str(std::to_string(info.input_width) + "x" + std::to_string(info.input_height));
  j.key("class_map").str(info.class_map_path);
  j.key("crf").str(crf_mode_name(info.crf.mode));
  const CrfParams& p = info.crf.params;
  j.key("crf_options").open('{');
  j.key("iterations").integer(static_cast<std::uint64_t>(p.iterations));
  j.key("temporal_iterations").integer(static_cast<std::uint64_t>(info.crf.temporal_iterations));
  j.key("keyframe_interval").integer(static_cast<std::uint64_t>(info.crf.keyframe_interval));
  j.key("scale").num(info.crf.scale, 4);
  j.key("bilateral_weight").num(p.bilateral_weight, 4);
  j.key("bilateral_xy_std").num(p.bilateral_xy_std, 4);
  j.key("bilateral_rgb_std").num(p.bilateral_rgb_std, 4);
  j.key("gaussian_weight").num(p.gaussian_weight, 4);
  j.key("gaussian_xy_std").num(p.gaussian_xy_std, 4);
  j.key("unary_temperature").num(p.unary_temperature, 4);
  j.key("params_file").str(info.crf.params_file);
  j.key("scene_cut_threshold").num(info.crf.scene_cut_threshold, 4);
  j.close('}');
}

void write_crf_tally(Json& j, const CrfTally& t) {
  j.key("crf_ms_mean").num(t.ms_mean(), 3);
  j.key("crf_iterations_mean").num(t.iterations_mean(), 3);
  j.key("crf_warm_started_frames").integer(static_cast<std::uint64_t>(t.warm_started));
  j.key("crf_scene_cuts").integer(static_cast<std::uint64_t>(t.scene_cuts));
  j.key("crf_keyframes").integer(static_cast<std::uint64_t>(t.keyframes));
}

// The "per_class" array: each class's name, then what fields(c) writes.
template <typename Fields>
void write_per_class(Json& j, const ClassMap& map, int num_classes, Fields fields) {
  j.key("per_class").open('[');
  for (int c = 0; c < num_classes; ++c) {
    j.open('{');
    j.key("name").str(map.classes[c]);
    fields(c);
    j.close('}');
  }
  j.close(']');
}

// What every run's JSON ends with: the mean time per frame and the CRF's tally.
std::string close_run(Json& j, double total_ms_sum, int frames, const CrfTally& crf) {
  j.key("ms_per_frame_mean").num(frames ? total_ms_sum / frames : 0, 3);
  write_crf_tally(j, crf);
  j.close('}');
  return j.text();
}

double percent(double v) { return 100.0 * v; }

void print_crf_line(std::FILE* out, const RunInfo& info, const CrfTally& t) {
  if (info.crf.mode == CrfMode::kOff) {
    std::fprintf(out, "crf off\n");
    return;
  }
  std::fprintf(out, "crf %s: %.1f ms/frame, %.2f iterations/frame, %d warm-started, %d scene cuts, %d keyframes\n",
               crf_mode_name(info.crf.mode), t.ms_mean(), t.iterations_mean(), t.warm_started, t.scene_cuts, t.keyframes);
}

}  // namespace

std::string image_run_json(const RunInfo& info, const ClassMap& map, const ImageRun& run) {
  Json j;
  j.open('{');
  write_setup(j, info);
  j.key("images_dir").str(info.images_dir);
  j.key("labels_dir").str(info.labels_dir);
  j.key("sequence").boolean(info.sequence);
  j.key("images").integer(static_cast<std::uint64_t>(run.images));
  j.key("pixels").integer(run.matrix.total());
  j.key("ignored_pixels").integer(run.ignored_pixels);
  j.key("miou").num(run.matrix.mean_iou());
  j.key("pixel_acc").num(run.matrix.pixel_accuracy());
  write_per_class(j, map, run.matrix.num_classes(), [&](int c) {
    j.key("iou").num(run.matrix.iou(c));
    j.key("pixels").integer(run.matrix.truth_pixels(c));
    j.key("predicted_pixels").integer(run.matrix.predicted_pixels(c));
  });
  return close_run(j, run.total_ms_sum, run.images, run.crf);
}

std::string video_run_json(const RunInfo& info, const ClassMap& map, const VideoRun& run) {
  Json j;
  j.open('{');
  write_setup(j, info);
  j.key("video").str(info.video);
  j.key("max_frames").integer(static_cast<std::uint64_t>(info.max_frames));
  j.key("frames").integer(static_cast<std::uint64_t>(run.frames));
  j.key("pairs").integer(static_cast<std::uint64_t>(run.stability.pairs()));
  j.key("width").integer(static_cast<std::uint64_t>(run.width));
  j.key("height").integer(static_cast<std::uint64_t>(run.height));
  j.key("flicker").num(run.stability.flicker());
  j.key("tc").num(run.stability.tc());
  // The share of pixels whose label at t matches the warped label at t+1: unlike the mIoU above, not
  // swayed by a rare class that appears in a few pixels of a few frames.
  j.key("tc_pixel_agreement").num(run.stability.matrix().pixel_accuracy());
  const ConfusionMatrix& m = run.stability.matrix();
  write_per_class(j, map, m.num_classes(), [&](int c) {
    j.key("iou").num(m.iou(c));  // the class's IoU between t and the warped t+1
    j.key("pixels").integer(run.predicted_pixels[c]);
  });
  return close_run(j, run.total_ms_sum, run.frames, run.crf);
}

void print_image_run(std::FILE* out, const RunInfo& info, const ClassMap& map, const ImageRun& run) {
  std::fprintf(out, "%d images from %s (%s), model %s, %s%s\n", run.images, info.images_dir.c_str(),
               info.class_map_path.c_str(), info.model.c_str(), info.device.c_str(),
               info.sequence ? ", as one sequence" : "");
  std::fprintf(out, "  %-16s %8s %14s %14s\n", "class", "IoU %", "truth px", "predicted px");
  for (int c = 0; c < run.matrix.num_classes(); ++c)
    std::fprintf(out, "  %-16s %8.2f %14llu %14llu\n", map.classes[c].c_str(), percent(run.matrix.iou(c)),
                 static_cast<unsigned long long>(run.matrix.truth_pixels(c)),
                 static_cast<unsigned long long>(run.matrix.predicted_pixels(c)));
  std::fprintf(out, "mIoU %.2f %%, pixel accuracy %.2f %% over %llu pixels (%llu ignored)\n",
               percent(run.matrix.mean_iou()), percent(run.matrix.pixel_accuracy()),
               static_cast<unsigned long long>(run.matrix.total()), static_cast<unsigned long long>(run.ignored_pixels));
  std::fprintf(out, "%.1f ms/frame (%s)\n", run.images ? run.total_ms_sum / run.images : 0,
               info.oracle ? "the CRF on the oracle unary" : "network + post-processing + CRF");
  print_crf_line(out, info, run.crf);
}

void print_video_run(std::FILE* out, const RunInfo& info, const ClassMap& map, const VideoRun& run) {
  std::fprintf(out, "%d frames (%dx%d) of %s, model %s, %s\n", run.frames, run.width, run.height, info.video.c_str(),
               info.model.c_str(), info.device.c_str());
  const ConfusionMatrix& m = run.stability.matrix();
  std::fprintf(out, "  %-16s %10s %14s\n", "class", "TC IoU %", "predicted px");
  for (int c = 0; c < m.num_classes(); ++c)
    std::fprintf(out, "  %-16s %10.2f %14llu\n", map.classes[c].c_str(), percent(m.iou(c)),
                 static_cast<unsigned long long>(run.predicted_pixels[c]));
  std::fprintf(out, "flicker %.3f %% of pixels change label per frame; TC (mIoU, t vs flow-warped t+1) %.2f %% over %d pairs "
               "(pixel agreement %.3f %%)\n", percent(run.stability.flicker()), percent(run.stability.tc()),
               run.stability.pairs(), percent(run.stability.matrix().pixel_accuracy()));
  std::fprintf(out, "%.1f ms/frame (network + post-processing + CRF)\n", run.frames ? run.total_ms_sum / run.frames : 0);
  print_crf_line(out, info, run.crf);
}

}  // namespace deeplab::eval
