// Small statistics and JSON helpers shared by the benchmarks (deeplab-bench, deeplab-crf-bench and
// the GPU machine's deeplab-gpu-pipeline-bench, which builds without OpenCV: header-only, no
// dependencies beyond the standard library).
#pragma once

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

namespace deeplab::tools {

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// One measured quantity over the frames of a run.
struct Series {
  std::vector<double> values;
  double median() const { return tools::median(values); }
  double min() const { return values.empty() ? 0 : *std::min_element(values.begin(), values.end()); }
  double mean() const {
    return values.empty() ? 0 : std::accumulate(values.begin(), values.end(), 0.0) / values.size();
  }
};

// `s` as the inside of a JSON string (quotes and backslashes escaped; the tools' strings are paths).
inline std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace deeplab::tools
