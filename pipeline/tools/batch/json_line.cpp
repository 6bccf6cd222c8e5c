#include "json_line.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>

namespace deeplab::batch {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", u);
      out += esc;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void JsonObject::key(const char* k) {
  if (!body_.empty()) body_ += ", ";
  body_ += json_string(k) + ": ";
}

JsonObject& JsonObject::add(const char* k, const std::string& value) {
  key(k);
  body_ += json_string(value);
  return *this;
}

JsonObject& JsonObject::add(const char* k, std::int64_t value) {
  key(k);
  body_ += std::to_string(value);
  return *this;
}

JsonObject& JsonObject::add(const char* k, double value) {
  key(k);
  if (!std::isfinite(value)) {  // JSON has no inf/nan
    body_ += "null";
    return *this;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  body_ += text;
  return *this;
}

JsonObject& JsonObject::add_raw(const char* k, const std::string& json) {
  key(k);
  body_ += json;
  return *this;
}

bool parse_json_object(const std::string& line, YAML::Node& node) {
  try {
    YAML::Node parsed = YAML::Load(line);
    if (!parsed.IsMap()) return false;
    node = parsed;
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

}  // namespace deeplab::batch
