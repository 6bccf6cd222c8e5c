// Sections of a configuration that are an element's properties (segmentation -> deeplabseg, overlay
// -> deeplaboverlay, encoder -> x264enc), validated against the element's GParamSpecs at load time:
// a property added to the element is a valid key without any change here.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "yaml_reader.h"

typedef struct _GstElementFactory GstElementFactory;
typedef struct _GParamSpec GParamSpec;

namespace deeplab::pipeline {

// One property as it goes on a gst-launch line: name=value, value in GStreamer's text form.
struct PropertySetting {
  std::string name;
  std::string value;
};

// The factory of `element` (loaded), or a deeplab::Error (kNotFound) naming the element and, for the
// deeplab ones, how to make GStreamer find the plugin.
GstElementFactory* require_factory(const std::string& element);
bool element_exists(const std::string& element);

// The writable properties of `element` a configuration may set (not name/parent), sorted by name.
std::vector<GParamSpec*> settable_properties(const std::string& element);

// Reads the mapping `map` as properties of `element`; keys in `reserved` are refused (the pipeline
// sets those itself). Throws ConfigError for an unknown key (with a suggestion), a value of the wrong
// type, out of range, or not one of an enum's values.
std::vector<PropertySetting> read_element_properties(const Context& ctx, const YAML::Node& map,
                                                     const std::string& path, const std::string& element,
                                                     const std::vector<std::string>& reserved = {});

// A property's value read and checked as the pspec wants it; the GStreamer text form.
std::string read_property_value(const Context& ctx, const YAML::Node& node, const std::string& path, GParamSpec* pspec);

// Values go through a gst-launch argument list, whose parser drops backslashes and pairs up double
// quotes: a value with either is refused (ConfigError) rather than silently changed.
void check_launch_safe(const Context& ctx, const YAML::Node& node, const std::string& path, const std::string& value);

// A Markdown table (key | type, range | default | description) of settable_properties(element).
std::string properties_markdown(const std::string& element, const std::vector<std::string>& reserved = {});

}  // namespace deeplab::pipeline
