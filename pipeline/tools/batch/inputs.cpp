#include "inputs.h"

#include <glob.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>

#include "json_line.h"

namespace deeplab::batch {
namespace {

namespace fs = std::filesystem;

bool is_glob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::string relative_to(const fs::path& list, const std::string& entry) {
  const fs::path p(entry);
  if (p.is_absolute()) return entry;
  return (list.parent_path() / p).lexically_normal().string();
}

// One line of a JSONL list: its "input" (or "path") string; "" for a line that has neither.
std::string jsonl_entry(const std::string& list, int line_number, const std::string& line) {
  YAML::Node node;
  if (!parse_json_object(line, node))
    throw UsageError(list + ":" + std::to_string(line_number) + ": not a JSON object");
  for (const char* key : {"input", "path"}) {
    if (node[key] && node[key].IsScalar()) return node[key].as<std::string>();
  }
  throw UsageError(list + ":" + std::to_string(line_number) + ": no \"input\" key");
}

void read_list(const std::string& list, std::vector<std::string>& paths) {
  std::ifstream in(list);
  if (!in) throw UsageError("input list '" + list + "' cannot be read");
  const bool jsonl = fs::path(list).extension() == ".jsonl";
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    paths.push_back(relative_to(list, jsonl ? jsonl_entry(list, n, line) : line));
  }
}

void expand_glob(const std::string& pattern, std::vector<std::string>& paths) {
  glob_t g = {};
  const int rc = glob(pattern.c_str(), 0, nullptr, &g);  // sorted by glob(3)
  if (rc == 0)
    for (std::size_t k = 0; k < g.gl_pathc; ++k) paths.emplace_back(g.gl_pathv[k]);
  globfree(&g);
  if (rc == GLOB_NOMATCH) throw UsageError("no file matches '" + pattern + "'");
  if (rc != 0) throw UsageError("cannot expand '" + pattern + "'");
}

// A folder name from the file name: letters, digits, '.', '-', '_' kept, anything else '_' (the
// name goes into multifilesink patterns and shell-free job logs).
std::string safe_stem(const std::string& path) {
  std::string stem = fs::path(path).stem().string();
  for (char& c : stem)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  if (stem.empty() || stem[0] == '.') stem = "video" + stem;
  return stem;
}

// Names stay stable across shards and reruns: they depend only on the list. The names of what
// else lives in the output folder (the manifest, scripts/cluster/submit.sh's logs) are taken.
void assign_names(std::vector<Video>& videos) {
  std::set<std::string> used = {"manifest.jsonl", "logs"};
  for (Video& v : videos) {
    const std::string stem = safe_stem(v.path);
    std::string name = stem;
    for (int k = 2; used.count(name); ++k) name = stem + "-" + std::to_string(k);
    used.insert(name);
    v.name = name;
  }
}

}  // namespace

std::vector<Video> load_videos(const std::vector<std::string>& specs) {
  std::vector<std::string> paths;
  for (const std::string& spec : specs) {
    std::error_code ec;
    if (fs::is_regular_file(spec, ec)) read_list(spec, paths);
    else if (is_glob(spec)) expand_glob(spec, paths);
    else throw UsageError("input list '" + spec + "' not found (a list file, a .jsonl file or a glob pattern)");
  }
  std::vector<Video> videos;
  std::set<std::string> seen;
  for (const std::string& p : paths)
    if (seen.insert(p).second) videos.push_back({p, ""});
  if (videos.empty()) throw UsageError("the input list is empty");
  assign_names(videos);
  return videos;
}

namespace {

std::size_t parse_count(const std::string& what, const std::string& text) {
  std::size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || text[0] == '-')
    throw UsageError(what + ": expected a non-negative integer, got '" + text + "'");
  return static_cast<std::size_t>(v);
}

std::string env_or(const std::map<std::string, std::string>& env, const char* key, const std::string& fallback) {
  const auto it = env.find(key);
  return it == env.end() || it->second.empty() ? fallback : it->second;
}

Shard checked(Shard s, const std::string& from) {
  if (s.count == 0) throw UsageError(from + ": the shard count must be at least 1");
  if (s.index >= s.count)
    throw UsageError(from + ": shard " + std::to_string(s.index) + " is not below the count " + std::to_string(s.count));
  return s;
}

}  // namespace

Shard resolve_shard(const std::string& shard_arg, std::size_t shard_count, const std::map<std::string, std::string>& env) {
  if (!shard_arg.empty()) {
    const auto slash = shard_arg.find('/');
    if (slash == std::string::npos) throw UsageError("--shard " + shard_arg + ": expected I/N, e.g. 0/4");
    return checked({parse_count("--shard", shard_arg.substr(0, slash)), parse_count("--shard", shard_arg.substr(slash + 1))},
                   "--shard " + shard_arg);
  }
  const std::string slurm_id = env_or(env, "SLURM_ARRAY_TASK_ID", "");
  if (!slurm_id.empty()) {
    const std::size_t id = parse_count("SLURM_ARRAY_TASK_ID", slurm_id);
    // With --shard-count the task ids are the shard indexes (a resubmission of some of them:
    // --array=3,17); without, the array's range is the shards (--array=1-10: 10 shards).
    if (shard_count != 0) return checked({id, shard_count}, "Slurm array task " + slurm_id);
    const std::size_t min = parse_count("SLURM_ARRAY_TASK_MIN", env_or(env, "SLURM_ARRAY_TASK_MIN", "0"));
    const std::string max = env_or(env, "SLURM_ARRAY_TASK_MAX", "");
    if (max.empty()) throw UsageError("SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_MAX: give --shard-count");
    const std::size_t max_id = parse_count("SLURM_ARRAY_TASK_MAX", max);
    if (id < min || max_id < id) throw UsageError("SLURM_ARRAY_TASK_ID " + slurm_id + " is outside MIN..MAX");
    return checked({id - min, max_id - min + 1}, "Slurm array task " + slurm_id);
  }
  const std::string k8s_index = env_or(env, "JOB_COMPLETION_INDEX", "");
  if (!k8s_index.empty()) {
    if (shard_count == 0) throw UsageError("JOB_COMPLETION_INDEX is set: give --shard-count (the Job's completions)");
    return checked({parse_count("JOB_COMPLETION_INDEX", k8s_index), shard_count}, "JOB_COMPLETION_INDEX " + k8s_index);
  }
  if (shard_count != 0)
    throw UsageError("--shard-count needs a shard index: --shard I/N, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX");
  return {0, 1};
}

}  // namespace deeplab::batch
