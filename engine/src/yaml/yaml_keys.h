// Strict reading of YAML mappings, shared by the model manifests (engine) and the pipeline
// configurations (pipeline/): duplicate keys and unknown keys with a did-you-mean.
//
// yaml-cpp keeps both entries of a key written twice in a mapping and answers node[key] with the
// first, so a second `source.path:` was silently ignored; find_duplicate_key() walks the document
// as parsed and reports both places.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

namespace deeplab::yaml {

struct DuplicateKey {
  std::string path;   // dotted path of the key, list items by index: "outputs.0.path"
  YAML::Mark first;   // where the key is written first
  YAML::Mark second;  // and again
};

// The first key (in document order) written twice in the same mapping, anywhere under `root`.
std::optional<DuplicateKey> find_duplicate_key(const YAML::Node& root);

// "FILE:LINE:COL" (1-based) of `mark` in `origin`; just `origin` for a null mark.
std::string mark_text(const std::string& origin, const YAML::Mark& mark);

// Levenshtein distance, case-insensitive.
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate a typo of `word` most likely meant: a few edits and fewer than half the word (so
// "abc" does not suggest "xyz"); "" when none is that close.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

// "a, b or c".
std::string list_words(const std::vector<std::string>& words);

}  // namespace deeplab::yaml
