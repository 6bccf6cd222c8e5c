// Tiny command-line parser shared by the tools: "--key value" options and "--flag" switches.
// Every option read is marked as known; finish() rejects anything left over, naming it.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>

#include "deeplab/manifest.h"

namespace deeplab::tools {

class Args {
 public:
  Args(int argc, char** argv, std::string usage);
  std::string required(const std::string& key);
  std::string value(const std::string& key, const std::string& def = "");
  // An integer within [lo, hi]; absent -> def. Every numeric option has a range: an unchecked one
  // reached libgomp as 100000 threads (SIGSEGV) or ran 1 iteration for --iters 0.
  int integer(const std::string& key, int def, int lo, int hi);
  // A finite number within [lo, hi]; absent -> def.
  double real(const std::string& key, double def, double lo, double hi);
  bool flag(const std::string& key);
  // Parses "WxH"; returns false when absent.
  bool size(const std::string& key, int& width, int& height);
  void finish();  // throws deeplab::Error (kInvalidArgument) on unknown options; handles --help
  const std::string& usage() const { return usage_; }

 private:
  std::map<std::string, std::string> options_;
  std::set<std::string> flags_, known_;
  std::string usage_;
  bool help_ = false;
};

// DEEPLAB_PROFILE=1, DEEPLAB_CUDA_GRAPH=0 and the like: true for a set value other than "0". The
// engine reads no environment; the tools turn these into SegmenterOptions::profile / cuda_graph.
bool environment_flag(const char* name, bool fallback);

// $DEEPLAB_MODEL_DIR and $DEEPLAB_MODEL_CACHE (docs/models.md), for deeplab::resolve_model().
ModelSearch model_search_from_environment();

// A tool's main(): runs `body` and turns every exception into one line on stderr, "TOOL: message",
// and an exit status (`failure_code`, read when the exception arrives; 2 if null): deeplab::Error,
// OpenCV's and the standard library's exceptions alike, and std::bad_alloc as "out of memory".
// Nothing a user can cause ends in std::terminate's abort.
int run_tool(const char* tool, const std::function<int()>& body, const int* failure_code = nullptr);

}  // namespace deeplab::tools
