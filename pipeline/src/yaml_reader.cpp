#include "yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "deeplab/pipeline.h"

namespace deeplab::pipeline {

void Context::add_override(std::string path, std::string text) {
  overrides_.push_back({std::move(path), std::move(text)});
}

static bool is_prefix_path(const std::string& prefix, const std::string& path) {
  return path.compare(0, prefix.size(), prefix) == 0 && (path.size() == prefix.size() || path[prefix.size()] == '.');
}

// The last override that set `path` or one of its parents; failing that, one that created `path` as
// a parent of what it set (a map the override brought into being has no mark).
const Context::Override* Context::override_for(const std::string& path) const {
  for (auto it = overrides_.rbegin(); it != overrides_.rend(); ++it)
    if (is_prefix_path(it->path, path)) return &*it;
  return nullptr;
}

std::string Context::location(const YAML::Mark& mark, const std::string& path) const {
  if (const Override* o = override_for(path)) return "--set " + o->text;
  if (!mark.is_null()) return origin_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  for (auto it = overrides_.rbegin(); it != overrides_.rend(); ++it)
    if (!path.empty() && is_prefix_path(path, it->path)) return "--set " + it->text;
  return origin_;
}

void Context::fail_at(const YAML::Mark& mark, const std::string& path, const std::string& message) const {
  std::string text = location(mark, path) + ": ";
  if (!path.empty()) text += path + ": ";
  throw ConfigError(text + message);
}

void Context::fail(const YAML::Node& node, const std::string& path, const std::string& message) const {
  fail_at(node.IsDefined() ? node.Mark() : YAML::Mark::null_mark(), path, message);
}

std::string join_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

void check_no_duplicate_keys(const Context& ctx, const YAML::Node& root) {
  const auto duplicate = deeplab::yaml::find_duplicate_key(root);
  if (!duplicate) return;
  ctx.fail_at(duplicate->second, duplicate->path,
              "duplicate key (first written at " + deeplab::yaml::mark_text(ctx.origin(), duplicate->first) +
                  "); a key may appear once in a mapping");
}

std::string describe_node(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "'" + node.Scalar() + "'";
}

void require_map(const Context& ctx, const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) ctx.fail(node, path, "expected a mapping (key: value lines), got " + describe_node(node));
}

void check_keys(const Context& ctx, const YAML::Node& map, const std::string& path,
                const std::vector<std::string>& allowed, const std::string& what) {
  require_map(ctx, map, path);
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : describe_node(it->first);
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string message = "unknown key in " + what;
    if (auto suggestion = closest_match(key, allowed); !suggestion.empty())
      message += " (did you mean '" + suggestion + "'?)";
    else
      message += " (known keys: " + list_words(allowed) + ")";
    ctx.fail_at(it->first.Mark(), join_path(path, key), message);
  }
}

std::string read_string(const Context& ctx, const YAML::Node& node, const std::string& path) {
  if (!node.IsScalar()) ctx.fail(node, path, "expected a string, got " + describe_node(node));
  return node.Scalar();
}

// Digits with an optional sign, nothing else ("0x10", "1e3", "3.0" are not integers here).
static bool parse_integer(const std::string& text, long double* value) {
  if (text.empty()) return false;
  std::size_t k = (text[0] == '-' || text[0] == '+') ? 1 : 0;
  if (k == text.size()) return false;
  for (std::size_t j = k; j < text.size(); ++j)
    if (text[j] < '0' || text[j] > '9') return false;
  errno = 0;
  *value = std::strtold(text.c_str(), nullptr);
  return errno == 0;
}

static std::string range_text(long double min, long double max) {
  auto show = [](long double v) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.17Lg", v);
    return std::string(buffer);
  };
  return show(min) + ".." + show(max);
}

// An integer scalar within [min, max] (checked in long double, so that a value beyond the type's
// range is reported instead of wrapping), as its text; the callers convert it exactly.
static const std::string& checked_integer(const Context& ctx, const YAML::Node& node, const std::string& path,
                                          long double min, long double max) {
  long double v = 0;
  if (!node.IsScalar() || !parse_integer(node.Scalar(), &v))
    ctx.fail(node, path, "expected an integer, got " + describe_node(node));
  if (v < min || v > max)
    ctx.fail(node, path, node.Scalar() + " is out of range " + range_text(min, max));
  return node.Scalar();
}

std::int64_t read_int(const Context& ctx, const YAML::Node& node, const std::string& path, std::int64_t min,
                      std::int64_t max) {
  return static_cast<std::int64_t>(std::strtoll(checked_integer(ctx, node, path, min, max).c_str(), nullptr, 10));
}

std::uint64_t read_uint64(const Context& ctx, const YAML::Node& node, const std::string& path, std::uint64_t min,
                          std::uint64_t max) {
  return std::strtoull(checked_integer(ctx, node, path, min, max).c_str(), nullptr, 10);
}

double read_double(const Context& ctx, const YAML::Node& node, const std::string& path, double min, double max) {
  if (!node.IsScalar() || node.Scalar().empty()) ctx.fail(node, path, "expected a number, got " + describe_node(node));
  const std::string& text = node.Scalar();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v) || text.find_first_of("xXnN") != std::string::npos)
    ctx.fail(node, path, "expected a number, got " + describe_node(node));
  if (v < min || v > max) ctx.fail(node, path, text + " is out of range " + range_text(min, max));
  return v;
}

bool read_bool(const Context& ctx, const YAML::Node& node, const std::string& path) {
  bool v = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, v))
    ctx.fail(node, path, "expected true or false, got " + describe_node(node));
  return v;
}

std::string read_choice(const Context& ctx, const YAML::Node& node, const std::string& path,
                        const std::vector<std::string>& choices) {
  if (!node.IsScalar()) ctx.fail(node, path, "expected one of " + list_words(choices) + ", got " + describe_node(node));
  const std::string& v = node.Scalar();
  if (std::find(choices.begin(), choices.end(), v) != choices.end()) return v;
  std::string message = "'" + v + "' is not one of " + list_words(choices);
  if (auto suggestion = closest_match(v, choices); !suggestion.empty()) message += " (did you mean '" + suggestion + "'?)";
  ctx.fail(node, path, message);
}

std::string read_fraction(const Context& ctx, const YAML::Node& node, const std::string& path) {
  const std::string expected = "expected a frame rate such as 30 or 30000/1001, got " + describe_node(node);
  if (!node.IsScalar()) ctx.fail(node, path, expected);
  const std::string& text = node.Scalar();
  const auto slash = text.find('/');
  long double num = 0, den = 1;
  if (!parse_integer(text.substr(0, slash), &num) ||
      (slash != std::string::npos && !parse_integer(text.substr(slash + 1), &den)))
    ctx.fail(node, path, expected);
  if (num <= 0 || den <= 0 || num > 1000000 || den > 1000000)
    ctx.fail(node, path, "frame rate " + text + " must be positive (and each part at most 1000000)");
  return std::to_string(static_cast<long>(num)) + "/" + std::to_string(static_cast<long>(den));
}

}  // namespace deeplab::pipeline
