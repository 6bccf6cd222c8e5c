#include "eval/class_map.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

#include "deeplab/error.h"

namespace deeplab::eval {
namespace {

// Walks the YAML tree once; every error names source:line:column of the node at fault.
class ClassMapParser {
 public:
  ClassMapParser(std::string source, int model_classes) : source_(std::move(source)), model_classes_(model_classes) {}

  ClassMap parse(const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      fail(e.mark, "not valid YAML: " + e.msg);
    }
    if (!root.IsMap()) fail(root.Mark(), "expected a mapping with keys classes, labels, predictions");
    check_keys(root, "", {"classes", "labels", "predictions"});
    ClassMap map;
    map.classes = parse_classes(required(root, "classes", ""));
    classes_ = map.classes;
    map.labels = parse_table(required(root, "labels", ""), "labels", 256, true);
    map.predictions = parse_table(required(root, "predictions", ""), "predictions", model_classes_, false);
    return map;
  }

 private:
  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& what) const {
    std::string where = source_;
    if (!mark.is_null()) where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    throw Error(ErrorCode::kInvalidArgument, where + ": " + what);
  }

  static std::string dotted(const std::string& parent, const std::string& key) {
    return parent.empty() ? key : parent + "." + key;
  }

  void check_keys(const YAML::Node& map, const std::string& parent, std::initializer_list<const char*> allowed) const {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
      bool known = false;
      for (const char* a : allowed) known = known || key == a;
      std::string names;
      for (const char* a : allowed) names += std::string(names.empty() ? "" : ", ") + a;
      if (!known) fail(entry.first.Mark(), "unknown key '" + dotted(parent, key) + "' (expected " + names + ")");
      if (!seen.insert(key).second) fail(entry.first.Mark(), "key '" + dotted(parent, key) + "' given twice");
    }
  }

  YAML::Node required(const YAML::Node& map, const std::string& key, const std::string& parent) const {
    const YAML::Node value = map[key];
    if (!value) fail(map.Mark(), "missing key '" + dotted(parent, key) + "'");
    return value;
  }

  // A plain decimal integer in [lo, hi] (no "8.0", no "0x8").
  int integer(const YAML::Node& node, const std::string& what, int lo, int hi) const {
    if (!node.IsScalar()) fail(node.Mark(), what + ": expected an integer");
    const std::string& s = node.Scalar();
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end || errno == ERANGE) fail(node.Mark(), what + ": '" + s + "' is not an integer");
    if (v < lo || v > hi)
      fail(node.Mark(), what + ": " + s + " is out of range " + std::to_string(lo) + ".." + std::to_string(hi));
    return static_cast<int>(v);
  }

  bool is_integer(const YAML::Node& node) const {
    if (!node.IsScalar() || node.Scalar().empty()) return false;
    char* end = nullptr;
    std::strtol(node.Scalar().c_str(), &end, 10);
    return *end == 0;
  }

  // An evaluation class by index or by name.
  std::uint8_t class_ref(const YAML::Node& node, const std::string& what) const {
    const int n = static_cast<int>(classes_.size());
    if (is_integer(node)) return static_cast<std::uint8_t>(integer(node, what, 0, n - 1));
    if (!node.IsScalar()) fail(node.Mark(), what + ": expected a class index or name");
    for (int c = 0; c < n; ++c)
      if (classes_[c] == node.Scalar()) return static_cast<std::uint8_t>(c);
    std::string names;
    for (const auto& c : classes_) names += (names.empty() ? "" : ", ") + c;
    fail(node.Mark(), what + ": unknown class '" + node.Scalar() + "' (classes: " + names + ")");
  }

  std::vector<std::string> parse_classes(const YAML::Node& node) const {
    if (!node.IsSequence() || node.size() == 0) fail(node.Mark(), "classes: expected a non-empty list of names");
    if (node.size() > static_cast<std::size_t>(kMaxEvalClasses))
      fail(node.Mark(), "classes: at most " + std::to_string(kMaxEvalClasses) + " classes");
    std::vector<std::string> names;
    for (const auto& c : node) {
      if (!c.IsScalar() || c.Scalar().empty()) fail(c.Mark(), "classes: each entry must be a name");
      for (const auto& earlier : names)
        if (earlier == c.Scalar()) fail(c.Mark(), "classes: '" + c.Scalar() + "' listed twice");
      names.push_back(c.Scalar());
    }
    return names;
  }

  // `labels` (ids 0..255, may ignore) or `predictions` (ids below the model's class count).
  IdTable parse_table(const YAML::Node& node, const std::string& name, int id_limit, bool may_ignore) const {
    if (!node.IsMap()) fail(node.Mark(), name + ": expected a mapping with keys default" + (may_ignore ? ", ignore" : "") + ", map");
    if (may_ignore) check_keys(node, name, {"default", "ignore", "map"});
    else check_keys(node, name, {"default", "map"});
    const YAML::Node def = required(node, "default", name);
    IdTable table{};
    const bool default_ignored = may_ignore && def.IsScalar() && def.Scalar() == "ignore" &&
                                 !is_class_name("ignore");
    table.fill(default_ignored ? kIgnore : class_ref(def, name + ".default"));
    std::set<int> assigned;
    const std::string id_what = name == "labels" ? "label value" : "model class";
    if (const YAML::Node ignore = node["ignore"]) {
      if (!ignore.IsSequence()) fail(ignore.Mark(), name + ".ignore: expected a list of label values");
      for (const auto& v : ignore) {
        const int id = integer(v, name + ".ignore: " + id_what, 0, id_limit - 1);
        if (!assigned.insert(id).second) fail(v.Mark(), name + ".ignore: " + id_what + " " + std::to_string(id) + " listed twice");
        table[id] = kIgnore;
      }
    }
    if (const YAML::Node map = node["map"]) {
      if (!map.IsMap()) fail(map.Mark(), name + ".map: expected a mapping {" + id_what + ": class}");
      for (const auto& entry : map) {
        const int id = integer(entry.first, name + ".map: " + id_what, 0, id_limit - 1);
        if (!assigned.insert(id).second)
          fail(entry.first.Mark(), name + ".map: " + id_what + " " + std::to_string(id) + " is already mapped or ignored");
        table[id] = class_ref(entry.second, name + ".map[" + std::to_string(id) + "]");
      }
    }
    return table;
  }

  bool is_class_name(const std::string& s) const {
    for (const auto& c : classes_)
      if (c == s) return true;
    return false;
  }

  std::string source_;
  int model_classes_;
  std::vector<std::string> classes_;
};

}  // namespace

ClassMap parse_class_map(const std::string& text, const std::string& source, int model_classes) {
  if (model_classes < 1 || model_classes > 256)
    throw Error(ErrorCode::kInvalidArgument, source + ": the model's class count " + std::to_string(model_classes) +
                                                 " is outside 1..256");
  return ClassMapParser(source, model_classes).parse(text);
}

ClassMap load_class_map(const std::string& path, int model_classes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, path + ": cannot read the class map");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_class_map(text.str(), path, model_classes);
}

void map_ids(const IdTable& table, const std::uint8_t* in, std::uint8_t* out, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) out[i] = table[in[i]];
}

}  // namespace deeplab::eval
