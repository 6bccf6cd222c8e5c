// Tiny command-line parser shared by the tools: "--key value" options and "--flag" switches.
// Every option read is marked as known; finish() rejects anything left over, naming it.
#pragma once

#include <map>
#include <set>
#include <string>

namespace deeplab::tools {

class Args {
 public:
  Args(int argc, char** argv, std::string usage);
  std::string required(const std::string& key);
  std::string value(const std::string& key, const std::string& def = "");
  int integer(const std::string& key, int def);
  double real(const std::string& key, double def);
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

}  // namespace deeplab::tools
