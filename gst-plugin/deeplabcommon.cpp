#include "deeplabcommon.h"

#include <cstring>
#include <sstream>

#include "deeplab/log.h"

GST_DEBUG_CATEGORY(gst_deeplab_engine_debug);

namespace deeplab_gst {

namespace {

// The engine's messages (deeplab/log.h) in the "deeplab" debug category, at the matching level:
// GST_DEBUG=deeplab:4 shows them in order with the pipeline's own, and nothing reaches stderr.
void log_to_gstreamer(deeplab::LogLevel level, const std::string& message) {
  switch (level) {
    case deeplab::LogLevel::kDebug: GST_CAT_DEBUG(gst_deeplab_engine_debug, "%s", message.c_str()); break;
    case deeplab::LogLevel::kInfo: GST_CAT_INFO(gst_deeplab_engine_debug, "%s", message.c_str()); break;
    case deeplab::LogLevel::kWarning: GST_CAT_WARNING(gst_deeplab_engine_debug, "%s", message.c_str()); break;
    case deeplab::LogLevel::kError: GST_CAT_ERROR(gst_deeplab_engine_debug, "%s", message.c_str()); break;
  }
}

}  // namespace

void init_debug_categories() {
  static const bool done = [] {
    GST_DEBUG_CATEGORY_INIT(gst_deeplab_engine_debug, "deeplab", 0, "deeplab inference engine (via the plugin)");
    deeplab::set_log_callback(log_to_gstreamer);
    return true;
  }();
  (void)done;
}

void init_element_class(gpointer klass, const ElementClassSetup& s) {
  auto* object_class = G_OBJECT_CLASS(klass);
  object_class->set_property = s.set_property;
  object_class->get_property = s.get_property;
  object_class->finalize = s.finalize;
  auto* element_class = GST_ELEMENT_CLASS(klass);
  gst_element_class_set_static_metadata(element_class, s.long_name, s.classification, s.description,
                                        "gst-deeplab developers");
  gst_element_class_add_static_pad_template(element_class, s.sink);
  gst_element_class_add_static_pad_template(element_class, s.src);
}

void mark_plugin_api(std::initializer_list<GType> types) {
  for (GType type : types) gst_type_mark_as_plugin_api(type, static_cast<GstPluginAPIFlags>(0));
}

void post_engine_error(GstElement* element, const deeplab::Error& error, const std::string& text, bool streaming,
                       const char* file, const char* function, int line) {
  GQuark domain = GST_RESOURCE_ERROR;
  gint code = GST_RESOURCE_ERROR_FAILED;
  switch (error.code()) {
    case deeplab::ErrorCode::kNotFound: code = GST_RESOURCE_ERROR_NOT_FOUND; break;
    case deeplab::ErrorCode::kIo: code = GST_RESOURCE_ERROR_READ; break;
    case deeplab::ErrorCode::kOutOfMemory: code = GST_RESOURCE_ERROR_NO_SPACE_LEFT; break;
    case deeplab::ErrorCode::kDevice:
    case deeplab::ErrorCode::kInvalidArgument: code = GST_RESOURCE_ERROR_SETTINGS; break;
    case deeplab::ErrorCode::kInternal:
      domain = GST_LIBRARY_ERROR;
      code = GST_LIBRARY_ERROR_FAILED;
      break;
    default: break;
  }
  if (streaming) {
    domain = GST_STREAM_ERROR;
    code = GST_STREAM_ERROR_FAILED;
  }
  const std::string message = text + ": " + error.what();
  const std::string debug = std::string("deeplab engine error ") + deeplab::error_code_name(error.code()) + ": " +
                            error.what();
  GST_CAT_ERROR_OBJECT(gst_deeplab_engine_debug, element, "%s", debug.c_str());
  gst_element_message_full(element, GST_MESSAGE_ERROR, domain, code, g_strdup(message.c_str()),
                           g_strdup(debug.c_str()), file, function, line);
}

std::string parse_class_selection(const std::string& spec, const GstDeeplabClassInfo* info, int default_excluded,
                                  ClassSelection* out) {
  out->selected.fill(false);
  std::string unknown;
  gchar** parts = g_strsplit(spec.c_str(), ",", -1);
  bool any = false;
  for (gchar** p = parts; *p; ++p) {
    gchar* name = g_strstrip(*p);
    if (!*name) continue;
    any = true;
    const gint id = gst_deeplab_class_info_find(info, name);
    if (id >= 0) {
      out->selected[id] = true;
    } else {
      if (!unknown.empty()) unknown += ", ";
      unknown += name;
    }
  }
  g_strfreev(parts);
  out->empty_spec = !any;
  if (!any)
    for (guint k = 0; k < info->num_classes; ++k) out->selected[k] = static_cast<int>(k) != default_excluded;
  return unknown;
}

std::array<guint8, 3> palette_colour(const guint8 rgb[3], const GstVideoInfo* info) {
  if (!GST_VIDEO_INFO_IS_YUV(info)) {
    // Packed RGB formats: component order is always R, G, B (their byte order is in the offsets).
    return {rgb[0], rgb[1], rgb[2]};
  }
  gdouble kr = 0.2126, kb = 0.0722;  // BT.709 unless the caps say otherwise
  if (!gst_video_color_matrix_get_Kr_Kb(info->colorimetry.matrix, &kr, &kb)) {
    kr = 0.2126;
    kb = 0.0722;
  }
  const double r = rgb[0] / 255.0, g = rgb[1] / 255.0, b = rgb[2] / 255.0;
  const double y = kr * r + (1 - kr - kb) * g + kb * b;
  const double pb = (b - y) / (2 * (1 - kb)), pr = (r - y) / (2 * (1 - kr));
  const bool full = info->colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
  const double y8 = full ? 255 * y : 16 + 219 * y;
  const double u8 = 128 + (full ? 255 : 224) * pb, v8 = 128 + (full ? 255 : 224) * pr;
  auto clamp = [](double v) { return static_cast<guint8>(v < 0 ? 0 : v > 255 ? 255 : v + 0.5); };
  return {clamp(y8), clamp(u8), clamp(v8)};
}

ClassMapView class_map_at(const GstDeeplabSegMeta* meta, int width, int height, std::vector<guint8>* storage) {
  if (static_cast<int>(meta->width) == width && static_cast<int>(meta->height) == height)
    return {meta->class_map, meta->stride};
  storage->resize(static_cast<std::size_t>(width) * height);
  for (int y = 0; y < height; ++y) {
    const guint sy = static_cast<guint>((2ull * y + 1) * meta->height / (2ull * height));
    const guint8* in = meta->class_map + static_cast<gsize>(sy) * meta->stride;
    guint8* out = storage->data() + static_cast<std::size_t>(y) * width;
    for (int x = 0; x < width; ++x) out[x] = in[(2ull * x + 1) * meta->width / (2ull * width)];
  }
  return {storage->data(), static_cast<gsize>(width)};
}

}  // namespace deeplab_gst
