// One JSON object on one line (JSONL): the manifest's records. Written by hand (a few flat fields and
// one list of objects); read back with yaml-cpp, already a dependency of the pipeline library: a JSON
// object is a YAML flow mapping, and JSON's string escapes are YAML's double-quoted ones.
#pragma once

#include <cstdint>
#include <string>

namespace YAML {
class Node;
}

namespace deeplab::batch {

// `s` as a JSON string literal, quotes included: `"` and `\` escaped, control characters (error
// texts carry newlines from GStreamer's debug strings) as \n, \t or \u00XX. Bytes >= 0x80 pass
// through unchanged (UTF-8 paths stay readable).
std::string json_string(const std::string& s);

// Builds {"k": v, ...} in the order the fields are added.
class JsonObject {
 public:
  JsonObject& add(const char* key, const std::string& value);
  JsonObject& add(const char* key, const char* value) { return add(key, std::string(value)); }
  JsonObject& add(const char* key, std::int64_t value);
  JsonObject& add(const char* key, double value);
  JsonObject& add_raw(const char* key, const std::string& json);  // an already-encoded value
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void key(const char* k);
  std::string body_;
};

// Parses one JSONL line into a mapping node; false (node untouched) if it is not a JSON object.
bool parse_json_object(const std::string& line, YAML::Node& node);

}  // namespace deeplab::batch
