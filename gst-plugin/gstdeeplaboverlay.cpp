// deeplaboverlay: an in-place GstVideoFilter that blends each frame's GstDeeplabSegMeta onto it in
// the model's palette (carried by the meta). Works on the frame's own components: R, G, B for the
// packed RGB formats; Y, U, V for NV12/I420, with the palette converted by the frame's colour matrix
// and chroma blended where any pixel of the 2x2 block is drawn.
#include "gstdeeplaboverlay.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "deeplabcommon.h"
#include "deeplabfont.h"
#include "gst/deeplab/deeplabmeta.h"

GST_DEBUG_CATEGORY_STATIC(gst_deeplab_overlay_debug);
#define GST_CAT_DEFAULT gst_deeplab_overlay_debug

enum { PROP_0, PROP_ALPHA, PROP_CLASSES, PROP_LEGEND, PROP_OUTLINE };

#define DEFAULT_PROP_ALPHA 0.5
#define DEFAULT_PROP_CLASSES ""
#define DEFAULT_PROP_LEGEND FALSE
#define DEFAULT_PROP_OUTLINE FALSE

namespace {

constexpr guint8 kNotDrawn = 255;  // in the draw map; class 255 can therefore never be drawn
constexpr int kOutlineWidth = 2;   // pixels on each side of a class boundary

using Colour = std::array<guint8, 3>;  // in the frame's components (R,G,B or Y,U,V)

inline guint8 blend(guint8 under, guint8 over, int a256) {
  return static_cast<guint8>((under * (256 - a256) + over * a256 + 128) >> 8);
}

// Blends `colour` over the rectangle [x0, x0+w) x [y0, y0+h) (in pixels) of every component.
void fill_rect(GstVideoFrame* frame, int x0, int y0, int w, int h, const Colour& colour, int a256) {
  const GstVideoFormatInfo* finfo = frame->info.finfo;
  const int width = GST_VIDEO_FRAME_WIDTH(frame), height = GST_VIDEO_FRAME_HEIGHT(frame);
  const int x1 = std::min(x0 + w, width), y1 = std::min(y0 + h, height);
  x0 = std::max(x0, 0);
  y0 = std::max(y0, 0);
  if (x0 >= x1 || y0 >= y1) return;
  for (int c = 0; c < 3; ++c) {
    const int ws = GST_VIDEO_FORMAT_INFO_W_SUB(finfo, c), hs = GST_VIDEO_FORMAT_INFO_H_SUB(finfo, c);
    auto* data = static_cast<guint8*>(GST_VIDEO_FRAME_COMP_DATA(frame, c));
    const int stride = GST_VIDEO_FRAME_COMP_STRIDE(frame, c), pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(frame, c);
    for (int y = y0 >> hs; y <= (y1 - 1) >> hs; ++y)
      for (int x = x0 >> ws; x <= (x1 - 1) >> ws; ++x) {
        guint8* p = data + static_cast<gsize>(y) * stride + static_cast<gsize>(x) * pstride;
        *p = blend(*p, colour[c], a256);
      }
  }
}

}  // namespace

struct GstDeeplabOverlayPrivate {
  // Properties: GST_OBJECT_LOCK.
  double alpha = DEFAULT_PROP_ALPHA;
  std::string classes = DEFAULT_PROP_CLASSES;
  guint classes_generation = 1;
  bool legend = DEFAULT_PROP_LEGEND;
  bool outline = DEFAULT_PROP_OUTLINE;

  // Streaming thread. Buffers grow with the frame size and are reused.
  bool warned_no_meta = false;
  GstDeeplabClassInfo* selection_info = nullptr;  // the classes `selection` was parsed against (a ref)
  guint selection_generation = 0;
  deeplab_gst::ClassSelection selection;
  std::vector<guint8> draw;       // per pixel: the class drawn there, or kNotDrawn
  std::vector<guint8> resampled;  // a class map of another size, resampled to the frame's
  std::array<guint64, 256> counts{};
  std::array<Colour, 256> colours{};

  ~GstDeeplabOverlayPrivate() {
    if (selection_info) gst_deeplab_class_info_unref(selection_info);
  }
};

DEEPLAB_DEFINE_ELEMENT(GstDeeplabOverlay, gst_deeplab_overlay, deeplaboverlay, GST_TYPE_DEEPLAB_OVERLAY, gst_deeplab_overlay_debug,
                       "DeepLab class map overlay")

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_DEEPLAB_VIDEO_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_DEEPLAB_VIDEO_FORMATS)));

// Re-parses `classes` when it or the meta's class list changed.
static void gst_deeplab_overlay_update_selection(GstDeeplabOverlay* self, GstDeeplabClassInfo* info,
                                                 const std::string& spec, guint generation) {
  GstDeeplabOverlayPrivate& p = *self->priv;
  if (p.selection_info == info && p.selection_generation == generation) return;
  const std::string unknown = deeplab_gst::parse_class_selection(spec, info, 0, &p.selection);
  if (!unknown.empty())
    GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("Unknown class(es) in classes='%s': %s", spec.c_str(), unknown.c_str()),
                        ("drawing the other classes"));
  if (p.selection_info) gst_deeplab_class_info_unref(p.selection_info);
  p.selection_info = gst_deeplab_class_info_ref(info);
  p.selection_generation = generation;
}

// Fills p.draw (which class each pixel shows, if any) and p.counts (selected pixels per class).
static void gst_deeplab_overlay_plan(GstDeeplabOverlayPrivate& p, const deeplab_gst::ClassMapView& map, int width,
                                     int height, guint num_classes, bool outline) {
  p.draw.resize(static_cast<std::size_t>(width) * height);
  p.counts.fill(0);
  for (int y = 0; y < height; ++y) {
    const guint8* row = map.data + y * map.stride;
    guint8* out = p.draw.data() + static_cast<std::size_t>(y) * width;
    for (int x = 0; x < width; ++x) {
      const guint8 c = row[x];
      bool drawn = c < num_classes && c != kNotDrawn && p.selection.selected[c];
      if (drawn) ++p.counts[c];
      if (drawn && outline) {
        bool edge = false;
        for (int d = 1; d <= kOutlineWidth && !edge; ++d) {
          edge = (x >= d && row[x - d] != c) || (x + d < width && row[x + d] != c) ||
                 (y >= d && map.data[(y - d) * map.stride + x] != c) ||
                 (y + d < height && map.data[(y + d) * map.stride + x] != c);
        }
        drawn = edge;
      }
      out[x] = drawn ? c : kNotDrawn;
    }
  }
}

// Blends p.draw onto every component of the frame (subsampled components: the first drawn pixel of
// the block decides).
static void gst_deeplab_overlay_blend(GstDeeplabOverlayPrivate& p, GstVideoFrame* frame, int a256) {
  const GstVideoFormatInfo* finfo = frame->info.finfo;
  const int width = GST_VIDEO_FRAME_WIDTH(frame), height = GST_VIDEO_FRAME_HEIGHT(frame);
  for (int c = 0; c < 3; ++c) {
    const int ws = GST_VIDEO_FORMAT_INFO_W_SUB(finfo, c), hs = GST_VIDEO_FORMAT_INFO_H_SUB(finfo, c);
    const int cw = GST_VIDEO_FRAME_COMP_WIDTH(frame, c), ch = GST_VIDEO_FRAME_COMP_HEIGHT(frame, c);
    auto* data = static_cast<guint8*>(GST_VIDEO_FRAME_COMP_DATA(frame, c));
    const int stride = GST_VIDEO_FRAME_COMP_STRIDE(frame, c), pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(frame, c);
    for (int cy = 0; cy < ch; ++cy) {
      guint8* row = data + static_cast<gsize>(cy) * stride;
      for (int cx = 0; cx < cw; ++cx) {
        guint8 d = kNotDrawn;
        for (int y = cy << hs; y < std::min((cy + 1) << hs, height) && d == kNotDrawn; ++y)
          for (int x = cx << ws; x < std::min((cx + 1) << ws, width) && d == kNotDrawn; ++x)
            d = p.draw[static_cast<std::size_t>(y) * width + x];
        if (d == kNotDrawn) continue;
        guint8* px = row + static_cast<gsize>(cx) * pstride;
        *px = blend(*px, p.colours[d][c], a256);
      }
    }
  }
}

// Legend, top left: a swatch and "name NN%" per drawn class, most pixels first, on a darkened box.
static void gst_deeplab_overlay_legend(GstDeeplabOverlayPrivate& p, GstVideoFrame* frame,
                                       const GstDeeplabClassInfo* info) {
  const int width = GST_VIDEO_FRAME_WIDTH(frame), height = GST_VIDEO_FRAME_HEIGHT(frame);
  std::array<int, 256> order{};
  int n = 0;
  for (guint c = 0; c < info->num_classes; ++c)
    if (p.counts[c] > 0) order[n++] = static_cast<int>(c);
  if (n == 0) return;
  std::sort(order.begin(), order.begin() + n, [&p](int a, int b) { return p.counts[a] > p.counts[b]; });

  const int s = std::max(1, height / 300);  // font scale
  const int pad = 3 * s, line = (deeplab_gst::kGlyphHeight + 4) * s, advance = (deeplab_gst::kGlyphWidth + 1) * s;
  n = std::min(n, std::max(0, (height - 2 * pad) / line));
  const double total = static_cast<double>(width) * height;
  std::array<std::string, 256> labels;
  int text_w = 0;
  for (int k = 0; k < n; ++k) {
    char percent[16];
    std::snprintf(percent, sizeof percent, " %d%%", static_cast<int>(100.0 * p.counts[order[k]] / total + 0.5));
    labels[k] = std::string(info->names[order[k]]) + percent;
    text_w = std::max(text_w, static_cast<int>(labels[k].size()) * advance);
  }
  const guint8 black_rgb[3] = {0, 0, 0}, white_rgb[3] = {255, 255, 255};
  const Colour black = deeplab_gst::palette_colour(black_rgb, &frame->info);
  const Colour white = deeplab_gst::palette_colour(white_rgb, &frame->info);
  fill_rect(frame, 0, 0, 3 * pad + line + text_w, pad + n * line + pad, black, 154);
  for (int k = 0; k < n; ++k) {
    const int top = pad + k * line;
    fill_rect(frame, pad, top, line - 2 * s, line - 2 * s, p.colours[order[k]], 256);
    int x = 2 * pad + line;
    for (char ch : labels[k]) {
      const std::uint8_t* g = deeplab_gst::glyph(ch);
      for (int gx = 0; gx < deeplab_gst::kGlyphWidth; ++gx)
        for (int gy = 0; gy < deeplab_gst::kGlyphHeight; ++gy)
          if (g[gx] >> gy & 1) fill_rect(frame, x + gx * s, top + s + gy * s, s, s, white, 256);
      x += advance;
    }
  }
}

static gboolean gst_deeplab_overlay_start(GstBaseTransform* trans) {
  GST_DEEPLAB_OVERLAY(trans)->priv->warned_no_meta = false;
  return TRUE;
}

static GstFlowReturn gst_deeplab_overlay_draw(GstVideoFilter* filter, GstVideoFrame* frame) {
  auto* self = GST_DEEPLAB_OVERLAY(filter);
  GstDeeplabOverlayPrivate& p = *self->priv;
  GstDeeplabSegMeta* meta = gst_buffer_get_deeplab_seg_meta(frame->buffer);
  if (!meta) {
    if (!p.warned_no_meta) {
      GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("Frames without a class map (GstDeeplabSegMeta)"),
                          ("put deeplabseg upstream of deeplaboverlay; these frames pass unchanged"));
      p.warned_no_meta = true;
    }
    return GST_FLOW_OK;
  }
  GST_OBJECT_LOCK(self);
  const int a256 = static_cast<int>(p.alpha * 256 + 0.5);
  const bool legend = p.legend, outline = p.outline;
  const guint generation = p.classes_generation;
  const std::string classes =
      p.selection_info == meta->classes && p.selection_generation == generation ? std::string() : p.classes;
  GST_OBJECT_UNLOCK(self);
  gst_deeplab_overlay_update_selection(self, meta->classes, classes, generation);

  const int width = GST_VIDEO_FRAME_WIDTH(frame), height = GST_VIDEO_FRAME_HEIGHT(frame);
  const GstDeeplabClassInfo* info = meta->classes;
  for (guint c = 0; c < info->num_classes; ++c)
    p.colours[c] = deeplab_gst::palette_colour(info->palette + 3 * c, &frame->info);
  const deeplab_gst::ClassMapView map = deeplab_gst::class_map_at(meta, width, height, &p.resampled);
  gst_deeplab_overlay_plan(p, map, width, height, info->num_classes, outline);
  if (a256 > 0 || outline) gst_deeplab_overlay_blend(p, frame, outline ? 256 : a256);
  if (legend) gst_deeplab_overlay_legend(p, frame, info);
  return GST_FLOW_OK;
}

// The vfunc boundary: nothing thrown (std::bad_alloc from a resize) may cross into GStreamer's C.
static GstFlowReturn gst_deeplab_overlay_transform_frame_ip(GstVideoFilter* filter, GstVideoFrame* frame) {
  try {
    return gst_deeplab_overlay_draw(filter, frame);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(filter, STREAM, FAILED, ("Could not draw the overlay: %s", e.what()), (nullptr));
    return GST_FLOW_ERROR;
  }
}

static void gst_deeplab_overlay_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_DEEPLAB_OVERLAY(object);
  GstDeeplabOverlayPrivate& p = *self->priv;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_ALPHA: p.alpha = g_value_get_double(value); break;
    case PROP_CLASSES: {
      const gchar* classes = g_value_get_string(value);
      p.classes = classes ? classes : "";
      ++p.classes_generation;
      break;
    }
    case PROP_LEGEND: p.legend = g_value_get_boolean(value); break;
    case PROP_OUTLINE: p.outline = g_value_get_boolean(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_deeplab_overlay_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_DEEPLAB_OVERLAY(object);
  const GstDeeplabOverlayPrivate& p = *self->priv;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_ALPHA: g_value_set_double(value, p.alpha); break;
    case PROP_CLASSES: g_value_set_string(value, p.classes.c_str()); break;
    case PROP_LEGEND: g_value_set_boolean(value, p.legend); break;
    case PROP_OUTLINE: g_value_set_boolean(value, p.outline); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_deeplab_overlay_init(GstDeeplabOverlay* self) {
  self->priv = new GstDeeplabOverlayPrivate();
}

// gst-inspect's description of the element, with a working gst-launch-1.0 line.
static const char kDescription[] =
    "Blends the class map that deeplabseg attached to each frame onto the frame, in the model's palette; frames "
    "without one pass unchanged (with a warning). Example:\n"
    "  gst-launch-1.0 filesrc location=video.mp4 ! decodebin ! videoconvert ! deeplabseg ! deeplaboverlay alpha=0.6 "
    "legend=true ! videoconvert ! x264enc ! mp4mux ! filesink location=overlay.mp4";

static void gst_deeplab_overlay_class_init(GstDeeplabOverlayClass* klass) {
  deeplab_gst::init_element_class(klass, {gst_deeplab_overlay_set_property, gst_deeplab_overlay_get_property,
                                          gst_deeplab_overlay_finalize, "DeepLab overlay", "Filter/Effect/Video",
                                          kDescription, &sink_template, &src_template});
  const auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
  auto* gobject_class = G_OBJECT_CLASS(klass);
  g_object_class_install_property(
      gobject_class, PROP_ALPHA,
      g_param_spec_double("alpha", "Alpha", "Opacity of the class colours (0: invisible, 1: opaque)", 0.0, 1.0,
                          DEFAULT_PROP_ALPHA, flags));
  g_object_class_install_property(
      gobject_class, PROP_CLASSES,
      g_param_spec_string("classes", "Classes",
                          "Comma-separated class names (or ids) to draw, e.g. \"person,car\". Empty: every class but "
                          "class 0 (background)",
                          DEFAULT_PROP_CLASSES, flags));
  g_object_class_install_property(
      gobject_class, PROP_LEGEND,
      g_param_spec_boolean("legend", "Legend",
                           "Draw a legend at the top left: a colour swatch, the class name and its share of the frame "
                           "for each drawn class (built-in 5x7 bitmap font)",
                           DEFAULT_PROP_LEGEND, flags));
  g_object_class_install_property(
      gobject_class, PROP_OUTLINE,
      g_param_spec_boolean("outline", "Outline",
                           "Draw only the class boundaries (2 pixels wide, opaque) instead of filled regions",
                           DEFAULT_PROP_OUTLINE, flags));

  GST_BASE_TRANSFORM_CLASS(klass)->start = GST_DEBUG_FUNCPTR(gst_deeplab_overlay_start);
  GST_VIDEO_FILTER_CLASS(klass)->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_deeplab_overlay_transform_frame_ip);
}
