#include "yaml_keys.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace deeplab::yaml {

namespace {

std::string join(const std::string& parent, const std::string& key) { return parent.empty() ? key : parent + "." + key; }

std::string key_text(const YAML::Node& key) { return key.IsScalar() ? key.Scalar() : "<non-scalar key>"; }

std::optional<DuplicateKey> search(const YAML::Node& node, const std::string& path) {
  if (node.IsSequence()) {
    for (std::size_t k = 0; k < node.size(); ++k)
      if (auto found = search(node[k], join(path, std::to_string(k)))) return found;
    return std::nullopt;
  }
  if (!node.IsMap()) return std::nullopt;
  std::vector<std::pair<std::string, YAML::Mark>> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = key_text(it->first);
    for (const auto& [earlier, mark] : seen)
      if (earlier == key) return DuplicateKey{join(path, key), mark, it->first.Mark()};
    seen.emplace_back(key, it->first.Mark());
  }
  for (auto it = node.begin(); it != node.end(); ++it)
    if (auto found = search(it->second, join(path, key_text(it->first)))) return found;
  return std::nullopt;
}

}  // namespace

std::optional<DuplicateKey> find_duplicate_key(const YAML::Node& root) { return search(root, ""); }

std::string mark_text(const std::string& origin, const YAML::Mark& mark) {
  if (mark.is_null()) return origin;
  return origin + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) best_distance = d, best = c;
  }
  const std::size_t limit = std::max<std::size_t>(1, std::min<std::size_t>(3, (word.size() + 1) / 2));
  return best_distance <= limit ? best : "";
}

std::string list_words(const std::vector<std::string>& words) {
  std::string out;
  for (std::size_t k = 0; k < words.size(); ++k) {
    if (k > 0) out += k + 1 == words.size() ? " or " : ", ";
    out += words[k];
  }
  return out;
}

}  // namespace deeplab::yaml
