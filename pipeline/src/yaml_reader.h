// Reading a configuration tree with errors that point at the source: FILE:LINE:COLUMN (1-based, from
// yaml-cpp's 0-based marks) for what came from the file, or the `--set` override that put it there.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "yaml_keys.h"

namespace deeplab::pipeline {

class Context {
 public:
  explicit Context(std::string origin) : origin_(std::move(origin)) {}
  const std::string& origin() const { return origin_; }

  // `path` ("outputs.0.path") was set by the override `text` ("outputs.0.path=x.mp4").
  void add_override(std::string path, std::string text);

  // Throws ConfigError "LOCATION: path: message".
  [[noreturn]] void fail(const YAML::Node& node, const std::string& path, const std::string& message) const;
  [[noreturn]] void fail_at(const YAML::Mark& mark, const std::string& path, const std::string& message) const;
  std::string location(const YAML::Mark& mark, const std::string& path) const;

 private:
  struct Override {
    std::string path;
    std::string text;
  };
  const Override* override_for(const std::string& path) const;

  std::string origin_;
  std::vector<Override> overrides_;
};

std::string join_path(const std::string& parent, const std::string& key);

// The closest of `candidates` to `word` when it is close enough to be a likely typo ("" otherwise),
// and "a, b or c": shared with the model manifests (engine/src/yaml/yaml_keys.h).
using deeplab::yaml::closest_match;
using deeplab::yaml::list_words;

// Rejects a key written twice in one mapping of `root` (as parsed, before overrides), naming both
// places: yaml-cpp would keep the first and silently ignore the second.
void check_no_duplicate_keys(const Context& ctx, const YAML::Node& root);

// Rejects keys of `map` that are not in `allowed` ("unknown key (did you mean 'path'?)"); `what`
// names the map in the message ("a file source"). `map` must be a mapping.
void check_keys(const Context& ctx, const YAML::Node& map, const std::string& path,
                const std::vector<std::string>& allowed, const std::string& what);
void require_map(const Context& ctx, const YAML::Node& node, const std::string& path);

// Typed scalars; each fails with "expected ..., got ..." naming the key.
std::string read_string(const Context& ctx, const YAML::Node& node, const std::string& path);
std::int64_t read_int(const Context& ctx, const YAML::Node& node, const std::string& path, std::int64_t min,
                      std::int64_t max);
std::uint64_t read_uint64(const Context& ctx, const YAML::Node& node, const std::string& path, std::uint64_t min,
                          std::uint64_t max);
double read_double(const Context& ctx, const YAML::Node& node, const std::string& path, double min, double max);
bool read_bool(const Context& ctx, const YAML::Node& node, const std::string& path);
std::string read_choice(const Context& ctx, const YAML::Node& node, const std::string& path,
                        const std::vector<std::string>& choices);
// A frame rate: 30, 12.5 is refused (write 25/2), "30000/1001". Returned as "N/D".
std::string read_fraction(const Context& ctx, const YAML::Node& node, const std::string& path);

// How a node reads in a message: "'abc'", "a list", "a mapping", "nothing".
std::string describe_node(const YAML::Node& node);

}  // namespace deeplab::pipeline
