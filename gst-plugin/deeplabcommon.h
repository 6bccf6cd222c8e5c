// Helpers shared by the deeplab elements: the engine's debug category, error reporting at vfunc
// boundaries, the `classes` property, palette colours in a frame's colour space, and the class map
// of a meta sampled at a frame's size.
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <array>
#include <string>
#include <vector>

#include "deeplab/error.h"
#include "gst/deeplab/deeplabmeta.h"

// "deeplab": what the plugin reports about the engine (model loads, network shape, stage times).
GST_DEBUG_CATEGORY_EXTERN(gst_deeplab_engine_debug);

// The raw formats every element accepts (the engine's FrameView formats).
#define GST_DEEPLAB_VIDEO_FORMATS "{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, NV12, I420 }"

namespace deeplab_gst {

void init_debug_categories();

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
