// The evaluation class map: how a dataset's label values and a model's classes fold onto a common
// set of evaluation classes (a VOC model scored on CamVid can only be scored on car / person /
// background). Read from YAML:
//
//   classes: [background, car, person]
//   labels: {default: 0, ignore: [10, 11], map: {8: 1, 9: 2}}      # dataset label value -> class
//   predictions: {default: 0, map: {7: 1, 15: 2}}                 # model class id -> class
//
// A class is named by its index in `classes` or by its name (`map: {8: car}`). `labels.ignore`
// lists label values left out of every metric (void, or classes the model cannot know). Every
// mistake is reported as "FILE:LINE:COLUMN: what".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace deeplab::eval {

// A pixel that no metric counts (an ignored dataset label, or a warped pixel that left the frame).
constexpr std::uint8_t kIgnore = 255;
// At most 255 evaluation classes: 255 is kIgnore.
constexpr int kMaxEvalClasses = 255;

// A lookup from 8-bit ids (label values or model classes) to evaluation classes or kIgnore.
using IdTable = std::array<std::uint8_t, 256>;

struct ClassMap {
  std::vector<std::string> classes;
  IdTable labels{};       // dataset label value -> evaluation class or kIgnore
  IdTable predictions{};  // model class id -> evaluation class
};

// Parses `text`; `source` names it in errors (the file path). `model_classes` bounds the ids in
// `predictions` (the model's class count). Throws deeplab::Error(kInvalidArgument).
ClassMap parse_class_map(const std::string& text, const std::string& source, int model_classes);
// Reads and parses a file; an unreadable file is Error(kNotFound) naming it.
ClassMap load_class_map(const std::string& path, int model_classes);

// out[i] = table[in[i]].
void map_ids(const IdTable& table, const std::uint8_t* in, std::uint8_t* out, std::size_t count);

}  // namespace deeplab::eval
