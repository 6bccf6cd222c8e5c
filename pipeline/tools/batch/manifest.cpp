#include "manifest.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "deeplab/error.h"
#include "json_line.h"

namespace deeplab::batch {

namespace fs = std::filesystem;

bool stamp_input(const std::string& path, InputStamp& stamp, std::string& error) {
  struct stat st = {};
  if (::stat(path.c_str(), &st) != 0) {
    error = "input '" + path + "': " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = "input '" + path + "' is not a regular file";
    return false;
  }
  stamp.size = st.st_size;
  stamp.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return true;
}

namespace {

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm = {};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string outputs_json(const std::vector<OutputRecord>& outputs) {
  std::string list = "[";
  for (const OutputRecord& o : outputs) {
    if (list.size() > 1) list += ", ";
    list += JsonObject()
                .add("name", o.name)
                .add("type", o.type)
                .add("path", o.path)
                .add("frames", static_cast<std::int64_t>(o.frames))
                .str();
  }
  return list + "]";
}

bool is_pattern(const std::string& path) { return path.find('%') != std::string::npos; }

}  // namespace

std::string to_json(const Record& r) {
  JsonObject j;
  j.add("input", r.input).add("name", r.name).add("status", r.status);
  j.add("size", r.stamp.size).add("mtime_ns", r.stamp.mtime_ns);
  j.add("dir", r.dir).add_raw("outputs", outputs_json(r.outputs));
  j.add("frames", static_cast<std::int64_t>(r.frames)).add("fps", r.fps).add("seconds", r.seconds);
  j.add("error", r.error).add("shard", r.shard).add("config", r.config);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  j.add("host", host).add("pid", static_cast<std::int64_t>(getpid())).add("finished", utc_now());
  return j.str();
}

void Manifest::load() {
  std::error_code ec;
  if (!fs::exists(path_, ec)) return;
  std::ifstream in(path_);
  if (!in) throw Error(ErrorCode::kIo, "manifest '" + path_ + "' cannot be read");
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    YAML::Node r;
    if (!parse_json_object(line, r) || !r["input"]) {
      std::fprintf(stderr, "deeplab-batch: warning: %s:%d: not a manifest record, skipped\n", path_.c_str(), n);
      continue;
    }
    Last& last = last_[r["input"].as<std::string>()];
    last = Last{};
    last.ok = r["status"] && r["status"].as<std::string>() == "ok";
    if (r["size"]) last.stamp.size = r["size"].as<std::int64_t>();
    if (r["mtime_ns"]) last.stamp.mtime_ns = r["mtime_ns"].as<std::int64_t>();
    if (r["dir"]) last.dir = r["dir"].as<std::string>();
    if (r["outputs"] && r["outputs"].IsSequence())
      for (const YAML::Node& o : r["outputs"])
        if (o["path"] && !is_pattern(o["path"].as<std::string>())) last.files.push_back(o["path"].as<std::string>());
  }
}

bool Manifest::complete(const std::string& input, const InputStamp& stamp) const {
  const auto it = last_.find(input);
  if (it == last_.end() || !it->second.ok || !(it->second.stamp == stamp)) return false;
  std::error_code ec;
  if (it->second.dir.empty() || !fs::is_directory(it->second.dir, ec)) return false;
  for (const std::string& f : it->second.files)
    if (!fs::exists(f, ec)) return false;
  return true;
}

namespace {

// Under the lock: true if the file ends in the middle of a line (a writer that died mid-write, a disk
// that filled up), so that the next line starts on a line of its own.
bool ends_mid_line(int fd) {
  struct stat st = {};
  char last = '\n';
  return ::fstat(fd, &st) == 0 && st.st_size > 0 && ::pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n';
}

}  // namespace

void Manifest::append(const Record& r) const {
  std::string line = to_json(r) + "\n";
  const int fd = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(ErrorCode::kIo, "manifest '" + path_ + "' cannot be opened: " + std::strerror(errno));
  std::string failure;
  if (::flock(fd, LOCK_EX) != 0) failure = std::string("flock: ") + std::strerror(errno);
  if (failure.empty() && ends_mid_line(fd)) line.insert(0, "\n");
  const ssize_t written = failure.empty() ? ::write(fd, line.data(), line.size()) : 0;
  if (failure.empty() && written != static_cast<ssize_t>(line.size()))
    failure = std::string("write: ") + (written < 0 ? std::strerror(errno) : "short write");
  if (failure.empty() && ::fsync(fd) != 0) failure = std::string("fsync: ") + std::strerror(errno);
  ::close(fd);  // releases the lock
  if (!failure.empty()) throw Error(ErrorCode::kIo, "manifest '" + path_ + "': " + failure);
}

}  // namespace deeplab::batch
