#include "video_folder.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "deeplab/error.h"
#include "inputs.h"

namespace deeplab::batch {

namespace fs = std::filesystem;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// "name=out3_sink" -> 3; -1 otherwise.
long sink_index(const std::string& arg) {
  const std::string prefix = "name=out", suffix = "_sink";
  if (!starts_with(arg, prefix) || arg.size() <= prefix.size() + suffix.size()) return -1;
  if (arg.compare(arg.size() - suffix.size(), suffix.size(), suffix) != 0) return -1;
  const std::string digits = arg.substr(prefix.size(), arg.size() - prefix.size() - suffix.size());
  if (digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stol(digits);
}

std::string relative_name(const std::string& element, const std::string& location) {
  const fs::path p(location);
  if (element == "multifilesink" && p.has_parent_path() && p.parent_path().filename() != "..")
    return (p.parent_path().filename() / p.filename()).string();
  return p.filename().string();
}

void fsync_path(const fs::path& p, bool directory) {
  const int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    throw Error(ErrorCode::kIo, "cannot fsync '" + p.string() + "': " + why);
  }
  ::close(fd);
}

void rename_path(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    throw Error(ErrorCode::kIo, "cannot rename '" + from + "' to '" + to + "': " + std::strerror(errno));
}

}  // namespace

std::vector<FileOutput> file_outputs(const std::vector<std::string>& args) {
  std::vector<FileOutput> outputs;
  std::set<std::string> names;
  for (std::size_t k = 0; k + 2 < args.size(); ++k) {
    if (args[k] != "filesink" && args[k] != "multifilesink") continue;
    const long index = sink_index(args[k + 1]);
    if (index < 0 || !starts_with(args[k + 2], "location=")) continue;
    FileOutput o{static_cast<std::size_t>(index), relative_name(args[k], args[k + 2].substr(9))};
    if (!names.insert(o.relative).second)
      throw UsageError("two outputs would both write '" + o.relative + "' in a video's folder: give them different file names");
    outputs.push_back(o);
  }
  if (outputs.empty()) throw UsageError("the configuration has no file or masks output: a batch would write nothing");
  return outputs;
}

std::size_t output_count(const std::vector<std::string>& args) {
  std::size_t count = 0;
  for (const std::string& a : args) {
    const long index = sink_index(a);
    if (index >= 0) count = std::max(count, static_cast<std::size_t>(index) + 1);
  }
  return count;
}

VideoFolder::VideoFolder(const std::string& out_dir, const std::string& name)
    : out_dir_(out_dir),
      work_((fs::path(out_dir) / ".partial" / name).string()),
      final_((fs::path(out_dir) / name).string()),
      old_((fs::path(out_dir) / ".partial" / (name + ".old")).string()) {}

void VideoFolder::prepare() const {
  std::error_code ec;
  fs::remove_all(work_, ec);
  fs::remove_all(old_, ec);
  fs::create_directories(work_, ec);
  if (ec) throw Error(ErrorCode::kIo, "cannot create '" + work_ + "': " + ec.message());
}

std::vector<std::string> VideoFolder::overrides(const std::vector<FileOutput>& outputs) const {
  std::vector<std::string> sets;
  for (const FileOutput& o : outputs)
    sets.push_back("outputs." + std::to_string(o.index) + ".path=" + (fs::path(work_) / o.relative).string());
  return sets;
}

void VideoFolder::commit() const {
  for (const auto& entry : fs::recursive_directory_iterator(work_)) fsync_path(entry.path(), entry.is_directory());
  fsync_path(work_, true);
  std::error_code ec;
  const bool replacing = fs::exists(final_, ec);
  if (replacing && !fs::is_directory(final_, ec))  // never move aside something that is not a video's folder
    throw Error(ErrorCode::kIo, "'" + final_ + "' exists and is not a folder: cannot put the outputs there");
  if (replacing) rename_path(final_, old_);
  rename_path(work_, final_);
  fsync_path(out_dir_, true);
  if (replacing) fs::remove_all(old_, ec);
}

void VideoFolder::write(const std::string& relative, const std::string& text) const {
  const fs::path path = fs::path(work_) / relative;
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) throw Error(ErrorCode::kIo, "cannot write '" + path.string() + "'");
}

void VideoFolder::discard() const noexcept {
  std::error_code ec;
  fs::remove_all(work_, ec);
}

}  // namespace deeplab::batch
