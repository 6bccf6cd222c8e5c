// Helpers shared by the deeplab elements: the engine's debug category, error reporting at vfunc
// boundaries, the `classes` property, palette colours in a frame's colour space, and the class map
// of a meta sampled at a frame's size.
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <array>
#include <initializer_list>
#include <string>
#include <vector>

#include "deeplab/error.h"
#include "gst/deeplab/deeplabmeta.h"

// "deeplab": what the plugin reports about the engine (model loads, network shape, stage times).
GST_DEBUG_CATEGORY_EXTERN(gst_deeplab_engine_debug);

// The raw formats every element accepts (the engine's FrameView formats).
#define GST_DEEPLAB_VIDEO_FORMATS "{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, NV12, I420 }"

// What G_DECLARE_FINAL_TYPE in an element's header leaves to its source file: the instance struct
// (a GstVideoFilter whose C++ state, TypeName##Private, lives in `priv`), the GType and the element's
// registration with its debug category `category` (initialised when the type is), and
// type_name##_finalize(), which deletes the C++ state. `name` is the element's name as a bare word
// (deeplabseg).
#define DEEPLAB_DEFINE_ELEMENT(TypeName, type_name, name, TYPE, category, category_description)    \
  struct _##TypeName {                                                                           \
    GstVideoFilter parent;                                                                       \
    TypeName##Private* priv;                                                                     \
  };                                                                                             \
  G_DEFINE_TYPE_WITH_CODE(TypeName, type_name, GST_TYPE_VIDEO_FILTER,                            \
                          GST_DEBUG_CATEGORY_INIT(category, #name, 0, category_description))     \
  GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(name, #name, GST_RANK_NONE, TYPE,                        \
                                        deeplab_gst::init_debug_categories());                   \
  static void type_name##_finalize(GObject* object) {                                            \
    deeplab_gst::finalize_element<TypeName>(object, type_name##_parent_class);                   \
  }

// GType func(void) for an enum property's type, registered once from its GEnumValue table.
#define DEEPLAB_DEFINE_ENUM_TYPE(func, type_name, values)                                        \
  GType func(void) {                                                                             \
    static const GType type = g_enum_register_static(type_name, values);                         \
    return type;                                                                                 \
  }

namespace deeplab_gst {

void init_debug_categories();

// DEEPLAB_DEFINE_ELEMENT's finalize(): deletes the element's C++ state, then chains up.
template <typename Element>
void finalize_element(GObject* object, gpointer parent_class) {
  auto* self = reinterpret_cast<Element*>(object);
  delete self->priv;
  self->priv = nullptr;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

// What every element's class_init sets up: the GObject property vfuncs and finalize, and for
// gst-inspect the description (author "gst-deeplab developers") and the two pads.
struct ElementClassSetup {
  GObjectSetPropertyFunc set_property;
  GObjectGetPropertyFunc get_property;
  void (*finalize)(GObject*);
  const char* long_name;
  const char* classification;
  const char* description;  // ends with an example gst-launch-1.0 line
  GstStaticPadTemplate* sink;
  GstStaticPadTemplate* src;
};
void init_element_class(gpointer klass, const ElementClassSetup& setup);

// Documents the enum types of an element's properties as plugin API (gst-inspect, hotdoc).
void mark_plugin_api(std::initializer_list<GType> types);

// Posts an ERROR message for an engine error: `text` is the short user message, the engine's own
// message (naming the file, node or device) and its code go after it and into the debug string.
void post_engine_error(GstElement* element, const deeplab::Error& error, const std::string& text, bool streaming,
                       const char* file, const char* function, int line);
#define DEEPLAB_POST_ENGINE_ERROR(element, error, text, streaming) \
  deeplab_gst::post_engine_error(GST_ELEMENT(element), error, text, streaming, __FILE__, GST_FUNCTION, __LINE__)

// A set of class ids parsed from a comma-separated list of class names (or decimal ids).
struct ClassSelection {
  std::array<bool, 256> selected{};
  bool empty_spec = true;  // the list was empty
};
// Fills `out` (an empty list selects every class but `default_excluded`, -1 for none). Returns the
// entries that name no class, comma-separated ("" when all are known).
std::string parse_class_selection(const std::string& spec, const GstDeeplabClassInfo* info, int default_excluded,
                                  ClassSelection* out);

// A palette colour as the three components of a frame's format, in component order (R, G, B or
// Y, U, V), converted with the frame's colour matrix and range for YUV formats.
std::array<guint8, 3> palette_colour(const guint8 rgb[3], const GstVideoInfo* info);

// A meta's class map at a frame's size: the map itself when the sizes agree (the normal case),
// otherwise a nearest-neighbour copy kept in `storage` (reallocated only when a size changes).
struct ClassMapView {
  const guint8* data = nullptr;
  gsize stride = 0;
};
ClassMapView class_map_at(const GstDeeplabSegMeta* meta, int width, int height, std::vector<guint8>* storage);

}  // namespace deeplab_gst
