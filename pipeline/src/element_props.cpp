#include "element_props.h"

#include <gst/gst.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "deeplab/pipeline.h"

namespace deeplab::pipeline {
namespace {

// Which Debian package brings an element the pipelines use, for the "not found" message.
const char* debian_package(const std::string& element) {
  static const std::map<std::string, const char*> packages = {
      {"x264enc", "gstreamer1.0-plugins-ugly"},      {"mp4mux", "gstreamer1.0-plugins-good"},
      {"matroskamux", "gstreamer1.0-plugins-good"},  {"pngenc", "gstreamer1.0-plugins-good"},
      {"multifilesink", "gstreamer1.0-plugins-good"}, {"rtph264pay", "gstreamer1.0-plugins-good"},
      {"udpsink", "gstreamer1.0-plugins-good"},      {"v4l2src", "gstreamer1.0-plugins-good"},
      {"jpegdec", "gstreamer1.0-plugins-good"},      {"autovideosink", "gstreamer1.0-plugins-good"},
      {"shmsink", "gstreamer1.0-plugins-bad"},       {"avdec_h264", "gstreamer1.0-libav"},
  };
  auto it = packages.find(element);
  return it == packages.end() ? "gstreamer1.0-plugins-base" : it->second;
}

bool is_reserved(const std::vector<std::string>& reserved, const char* name) {
  return std::find(reserved.begin(), reserved.end(), name) != reserved.end();
}

std::string enum_nicks(GType type) {
  auto* klass = static_cast<GEnumClass*>(g_type_class_ref(type));
  std::vector<std::string> nicks;
  for (guint k = 0; k < klass->n_values; ++k) nicks.emplace_back(klass->values[k].value_nick);
  g_type_class_unref(klass);
  return list_words(nicks);
}

std::string read_enum(const Context& ctx, const YAML::Node& node, const std::string& path, GType type) {
  auto* klass = static_cast<GEnumClass*>(g_type_class_ref(type));
  std::vector<std::string> nicks;
  for (guint k = 0; k < klass->n_values; ++k) nicks.emplace_back(klass->values[k].value_nick);
  const GEnumValue* value = nullptr;
  if (node.IsScalar()) {
    value = g_enum_get_value_by_nick(klass, node.Scalar().c_str());
    if (!value) value = g_enum_get_value_by_name(klass, node.Scalar().c_str());
  }
  std::string nick = value ? value->value_nick : "";
  g_type_class_unref(klass);
  if (!value) read_choice(ctx, node, path, nicks);  // throws, with the list and a suggestion
  return nick;
}

// Strings: a scalar, or a list of scalars written as GStreamer's comma-separated form
// (classes: [person, car] -> "person,car").
std::string read_string_property(const Context& ctx, const YAML::Node& node, const std::string& path) {
  if (!node.IsSequence()) return read_string(ctx, node, path);
  std::string joined;
  for (std::size_t k = 0; k < node.size(); ++k) {
    if (k > 0) joined += ',';
    joined += read_string(ctx, node[k], path + "." + std::to_string(k));
  }
  return joined;
}

// Anything else (flags, caps, fractions...): what GStreamer's own deserialiser accepts.
std::string read_other(const Context& ctx, const YAML::Node& node, const std::string& path, GParamSpec* pspec) {
  const std::string text = read_string(ctx, node, path);
  GValue value = G_VALUE_INIT;
  g_value_init(&value, G_PARAM_SPEC_VALUE_TYPE(pspec));
  const bool ok = gst_value_deserialize_with_pspec(&value, text.c_str(), pspec);
  g_value_unset(&value);
  if (!ok) ctx.fail(node, path, "'" + text + "' is not a valid " + g_type_name(G_PARAM_SPEC_VALUE_TYPE(pspec)));
  return text;
}

std::string type_and_range(GParamSpec* pspec) {
  const GType type = G_PARAM_SPEC_VALUE_TYPE(pspec);
  auto range = [](auto min, auto max) { return " " + std::to_string(min) + ".." + std::to_string(max); };
  auto real_range = [](double min, double max) {
    char text[96];
    std::snprintf(text, sizeof text, " %g..%g", min, max);
    return std::string(text);
  };
  switch (G_TYPE_FUNDAMENTAL(type)) {
    case G_TYPE_BOOLEAN: return "bool";
    case G_TYPE_INT: return "int" + range(G_PARAM_SPEC_INT(pspec)->minimum, G_PARAM_SPEC_INT(pspec)->maximum);
    case G_TYPE_UINT: return "uint" + range(G_PARAM_SPEC_UINT(pspec)->minimum, G_PARAM_SPEC_UINT(pspec)->maximum);
    case G_TYPE_LONG: return "int" + range(G_PARAM_SPEC_LONG(pspec)->minimum, G_PARAM_SPEC_LONG(pspec)->maximum);
    case G_TYPE_ULONG: return "uint" + range(G_PARAM_SPEC_ULONG(pspec)->minimum, G_PARAM_SPEC_ULONG(pspec)->maximum);
    case G_TYPE_INT64: return "int64" + range(G_PARAM_SPEC_INT64(pspec)->minimum, G_PARAM_SPEC_INT64(pspec)->maximum);
    case G_TYPE_UINT64:
      return "uint64" + range(G_PARAM_SPEC_UINT64(pspec)->minimum, G_PARAM_SPEC_UINT64(pspec)->maximum);
    case G_TYPE_FLOAT:
      return "float" + real_range(G_PARAM_SPEC_FLOAT(pspec)->minimum, G_PARAM_SPEC_FLOAT(pspec)->maximum);
    case G_TYPE_DOUBLE:
      return "double" + real_range(G_PARAM_SPEC_DOUBLE(pspec)->minimum, G_PARAM_SPEC_DOUBLE(pspec)->maximum);
    case G_TYPE_ENUM: return "one of " + enum_nicks(type);
    case G_TYPE_STRING: return "string";
    default: return g_type_name(type);
  }
}

// The value a fresh element has (not the pspec's default: an element may change it in init, as
// deeplabseg does for qos).
std::string default_text(GstElement* element, GParamSpec* pspec) {
  GValue value = G_VALUE_INIT;
  g_value_init(&value, G_PARAM_SPEC_VALUE_TYPE(pspec));
  g_object_get_property(G_OBJECT(element), pspec->name, &value);
  std::string out;
  if (G_VALUE_HOLDS_STRING(&value)) {
    const char* s = g_value_get_string(&value);
    out = s && *s ? std::string("`") + s + "`" : "empty";
  } else if (G_VALUE_HOLDS_ENUM(&value)) {
    auto* klass = static_cast<GEnumClass*>(g_type_class_ref(G_VALUE_TYPE(&value)));
    const GEnumValue* v = g_enum_get_value(klass, g_value_get_enum(&value));
    out = v ? std::string("`") + v->value_nick + "`" : "?";
    g_type_class_unref(klass);
  } else if (G_VALUE_HOLDS_FLOAT(&value)) {  // 0.15f, not 0.15000000596046448
    char text[G_ASCII_DTOSTR_BUF_SIZE];
    out = std::string("`") + g_ascii_formatd(text, sizeof text, "%.7g", g_value_get_float(&value)) + "`";
  } else {
    gchar* text = gst_value_serialize(&value);
    out = text ? std::string("`") + text + "`" : "";
    g_free(text);
  }
  g_value_unset(&value);
  return out;
}

std::string table_cell(std::string text) {
  for (std::size_t k = 0; (k = text.find('|', k)) != std::string::npos; k += 2) text.replace(k, 1, "\\|");
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

}  // namespace

void check_launch_safe(const Context& ctx, const YAML::Node& node, const std::string& path, const std::string& value) {
  if (value.find_first_of("\\\"") != std::string::npos)
    ctx.fail(node, path, "'" + value + "' contains a backslash or a double quote, which cannot go through a "
                         "GStreamer launch line; rename it");
}

bool element_exists(const std::string& element) {
  GstElementFactory* factory = gst_element_factory_find(element.c_str());
  if (factory) gst_object_unref(factory);
  return factory != nullptr;
}

GstElementFactory* require_factory(const std::string& element) {
  GstElementFactory* factory = gst_element_factory_find(element.c_str());
  if (!factory) {
    std::string hint = element.rfind("deeplab", 0) == 0
                           ? "the deeplab plugin is not installed or not on GST_PLUGIN_PATH (from a build tree: "
                             "GST_PLUGIN_PATH=<build>/gst-plugin)"
                           : std::string("install ") + debian_package(element);
    throw Error(ErrorCode::kNotFound, "GStreamer element '" + element + "' not found: " + hint);
  }
  auto* loaded = GST_ELEMENT_FACTORY(gst_plugin_feature_load(GST_PLUGIN_FEATURE(factory)));
  gst_object_unref(factory);
  if (!loaded) throw Error(ErrorCode::kNotFound, "GStreamer element '" + element + "': its plugin does not load");
  return loaded;
}

std::vector<GParamSpec*> settable_properties(const std::string& element) {
  GstElementFactory* factory = require_factory(element);
  const GType type = gst_element_factory_get_element_type(factory);
  gst_object_unref(factory);
  // The class stays referenced for the life of the process: the pspecs returned belong to it.
  auto* klass = static_cast<GObjectClass*>(g_type_class_ref(type));
  guint n = 0;
  GParamSpec** all = g_object_class_list_properties(klass, &n);
  std::vector<GParamSpec*> out;
  for (guint k = 0; k < n; ++k) {
    GParamSpec* p = all[k];
    if (!(p->flags & G_PARAM_WRITABLE) || (p->flags & G_PARAM_CONSTRUCT_ONLY) || (p->flags & G_PARAM_DEPRECATED))
      continue;
    if (p->owner_type == GST_TYPE_OBJECT) continue;  // name, parent: the pipeline names elements itself
    out.push_back(p);
  }
  g_free(all);
  std::sort(out.begin(), out.end(), [](GParamSpec* a, GParamSpec* b) { return std::strcmp(a->name, b->name) < 0; });
  return out;
}

std::string read_property_value(const Context& ctx, const YAML::Node& node, const std::string& path, GParamSpec* pspec) {
  const GType type = G_PARAM_SPEC_VALUE_TYPE(pspec);
  switch (G_TYPE_FUNDAMENTAL(type)) {
    case G_TYPE_BOOLEAN: return read_bool(ctx, node, path) ? "true" : "false";
    case G_TYPE_INT:
      return std::to_string(read_int(ctx, node, path, G_PARAM_SPEC_INT(pspec)->minimum, G_PARAM_SPEC_INT(pspec)->maximum));
    case G_TYPE_UINT:
      return std::to_string(read_int(ctx, node, path, G_PARAM_SPEC_UINT(pspec)->minimum, G_PARAM_SPEC_UINT(pspec)->maximum));
    case G_TYPE_LONG:
      return std::to_string(read_int(ctx, node, path, G_PARAM_SPEC_LONG(pspec)->minimum, G_PARAM_SPEC_LONG(pspec)->maximum));
    case G_TYPE_ULONG:
      return std::to_string(
          read_uint64(ctx, node, path, G_PARAM_SPEC_ULONG(pspec)->minimum, G_PARAM_SPEC_ULONG(pspec)->maximum));
    case G_TYPE_INT64:
      return std::to_string(
          read_int(ctx, node, path, G_PARAM_SPEC_INT64(pspec)->minimum, G_PARAM_SPEC_INT64(pspec)->maximum));
    case G_TYPE_UINT64:
      return std::to_string(
          read_uint64(ctx, node, path, G_PARAM_SPEC_UINT64(pspec)->minimum, G_PARAM_SPEC_UINT64(pspec)->maximum));
    case G_TYPE_FLOAT:
      read_double(ctx, node, path, G_PARAM_SPEC_FLOAT(pspec)->minimum, G_PARAM_SPEC_FLOAT(pspec)->maximum);
      return node.Scalar();  // as written: GStreamer parses it locale-independently
    case G_TYPE_DOUBLE:
      read_double(ctx, node, path, G_PARAM_SPEC_DOUBLE(pspec)->minimum, G_PARAM_SPEC_DOUBLE(pspec)->maximum);
      return node.Scalar();
    case G_TYPE_ENUM: return read_enum(ctx, node, path, type);
    case G_TYPE_STRING: {
      std::string text = read_string_property(ctx, node, path);
      check_launch_safe(ctx, node, path, text);
      return text;
    }
    default: return read_other(ctx, node, path, pspec);
  }
}

std::vector<PropertySetting> read_element_properties(const Context& ctx, const YAML::Node& map,
                                                     const std::string& path, const std::string& element,
                                                     const std::vector<std::string>& reserved) {
  if (!map.IsDefined() || map.IsNull()) return {};
  std::vector<GParamSpec*> pspecs = settable_properties(element);
  std::vector<std::string> names;
  for (GParamSpec* p : pspecs)
    if (!is_reserved(reserved, p->name)) names.emplace_back(p->name);
  check_keys(ctx, map, path, names, element + " properties");
  std::vector<PropertySetting> settings;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string name = it->first.Scalar();
    auto pspec = std::find_if(pspecs.begin(), pspecs.end(), [&](GParamSpec* p) { return name == p->name; });
    settings.push_back({name, read_property_value(ctx, it->second, join_path(path, name), *pspec)});
  }
  return settings;
}

std::string properties_markdown(const std::string& element, const std::vector<std::string>& reserved) {
  GstElement* instance = gst_element_factory_make(element.c_str(), nullptr);
  if (!instance) throw Error(ErrorCode::kNotFound, "GStreamer element '" + element + "' cannot be created");
  gst_object_ref_sink(instance);
  std::string out = "| key | type, range | default | meaning |\n|---|---|---|---|\n";
  for (GParamSpec* p : settable_properties(element)) {
    if (is_reserved(reserved, p->name)) continue;
    out += "| `" + std::string(p->name) + "` | " + table_cell(type_and_range(p)) + " | " +
           table_cell(default_text(instance, p)) + " | " + table_cell(g_param_spec_get_blurb(p)) + " |\n";
  }
  gst_object_unref(instance);
  return out;
}

}  // namespace deeplab::pipeline
