// Seed corpus for the model loader fuzzer: small models built with OnnxBuilder (and a TFLite file
// built with tflite_builder.h) that reach every stage (import, folding, fusion, final-resize
// removal, CPU kernels), plus deterministic truncated and bit-flipped variants of each.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace deeplab::fuzz {

// (file name, serialized model) for each seed model.
std::vector<std::pair<std::string, std::string>> seed_models();

// Writes the seed models and their variants (about 200 files) into `dir` (created); returns the count.
int write_seed_corpus(const std::string& dir);

}  // namespace deeplab::fuzz
