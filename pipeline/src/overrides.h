// `--set a.b.c=value` overrides: applied to the YAML tree before validation, so that an override can
// set any key the file could (list items by index: outputs.0.path=x.mp4; the length appends an item).
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "yaml_reader.h"

namespace deeplab::pipeline {

// Sets the key in `root` (creating mappings and list items on the way) to `value` read as YAML (a
// scalar, or a flow list/mapping such as "[person, car]"; text that is not valid YAML is taken as a
// string), and records the override in `ctx` so that errors about it name it. Throws ConfigError.
void apply_override(YAML::Node& root, const std::string& text, Context& ctx);

}  // namespace deeplab::pipeline
