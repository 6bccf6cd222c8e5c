#include "overrides.h"

#include <vector>

#include "deeplab/pipeline.h"

namespace deeplab::pipeline {
namespace {

[[noreturn]] void fail(const std::string& text, const std::string& message) {
  throw ConfigError("--set " + text + ": " + message);
}

bool is_index(const std::string& segment) {
  if (segment.empty() || segment.size() > 6) return false;
  for (char c : segment)
    if (c < '0' || c > '9') return false;
  return true;
}

std::vector<std::string> split_key(const std::string& key, const std::string& text) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = key.find('.', start);
    segments.push_back(key.substr(start, dot - start));
    if (segments.back().empty()) fail(text, "empty key segment in '" + key + "' (write a.b.c=value)");
    if (dot == std::string::npos) return segments;
    start = dot + 1;
  }
}

YAML::Node parse_value(const std::string& value) {
  if (value.empty()) return YAML::Node(std::string());
  try {
    YAML::Node node = YAML::Load(value);
    const bool null_literal = value == "~" || value == "null" || value == "Null" || value == "NULL";
    if (node.IsDefined() && (!node.IsNull() || null_literal)) return node;
  } catch (const YAML::Exception&) {
  }
  // Not YAML ("{a: ", or "%05d.png", which YAML reads as a directive): the text itself is the value.
  return YAML::Node(value);
}

YAML::Node empty_container(const std::string& next_segment) {
  return YAML::Node(is_index(next_segment) ? YAML::NodeType::Sequence : YAML::NodeType::Map);
}

}  // namespace

void apply_override(YAML::Node& root, const std::string& text, Context& ctx) {
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos) fail(text, "expected KEY=VALUE, e.g. outputs.0.path=out.mp4");
  const std::string key = text.substr(0, eq);
  const std::vector<std::string> segments = split_key(key, text);
  const YAML::Node value = parse_value(text.substr(eq + 1));

  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  YAML::Node current = root;
  std::string path;
  for (std::size_t k = 0; k < segments.size(); ++k) {
    const std::string& segment = segments[k];
    const bool last = k + 1 == segments.size();
    if (!current.IsMap() && !current.IsSequence()) {
      if (current.IsDefined() && !current.IsNull())
        fail(text, "'" + path + "' is " + describe_node(current) + ", not a mapping or a list: cannot set '" +
                       segment + "' inside it");
      current = empty_container(segment);  // assigns in the tree
    }
    YAML::Node next;
    if (current.IsSequence()) {
      if (!is_index(segment)) fail(text, "'" + path + "' is a list: expected an index, got '" + segment + "'");
      const std::size_t index = std::stoul(segment), size = current.size();
      if (index > size)
        fail(text, "'" + path + "' has " + std::to_string(size) + " items: index " + segment + " is out of range (" +
                       std::to_string(size) + " appends one)");
      if (index == size) current.push_back(last ? value : empty_container(segments[k + 1]));
      else if (last) current[index] = value;
      next.reset(current[index]);
    } else {
      if (last) current[segment] = value;
      next.reset(current[segment]);
    }
    path = join_path(path, segment);
    current.reset(next);
  }
  ctx.add_override(path, text);
}

}  // namespace deeplab::pipeline
