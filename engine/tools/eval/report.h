// deeplab-eval's output: one JSON object (--json) or a readable table.
#pragma once

#include <cstdio>
#include <string>

#include "deeplab/crf.h"
#include "eval/class_map.h"
#include "eval/runner.h"

namespace deeplab::eval {

// How a run was set up, echoed in the report so that a result file says what produced it.
struct RunInfo {
  std::string model;
  std::string device;
  int threads = 0;
  int input_width = 0;
  int input_height = 0;
  CrfOptions crf;
  bool sequence = false;
  std::string class_map_path;
  std::string images_dir;  // image mode
  std::string labels_dir;
  std::string video;       // video mode
  int max_frames = 0;
  bool oracle = false;     // --oracle-unary: no network ran
};

std::string image_run_json(const RunInfo& info, const ClassMap& map, const ImageRun& run);
std::string video_run_json(const RunInfo& info, const ClassMap& map, const VideoRun& run);
void print_image_run(std::FILE* out, const RunInfo& info, const ClassMap& map, const ImageRun& run);
void print_video_run(std::FILE* out, const RunInfo& info, const ClassMap& map, const VideoRun& run);

}  // namespace deeplab::eval
