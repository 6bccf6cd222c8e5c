// The `crf:` block of a model manifest or a tuned parameter file (docs/crf.md, "Per-model
// parameters"), read strictly: unknown and repeated keys, wrong types and values out of range are
// errors "FILE:LINE:COL: crf key 'KEY': why".
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "deeplab/crf.h"

namespace deeplab::crf {

// The keys, in the order deeplab-crf-tune writes them.
const std::vector<std::string>& crf_block_keys();

// `block` is the value of a `crf:` key in `path` (already checked for repeated keys by the caller
// when it reads a larger document).
CrfParamOverrides parse_crf_block(const YAML::Node& block, const std::string& path);

}  // namespace deeplab::crf
