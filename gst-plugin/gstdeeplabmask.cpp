// deeplabmask: a (not in-place) GstVideoFilter that renders the GstDeeplabSegMeta of each input
// frame as an output frame with the same framerate: mode=ids -> GRAY8 class ids, mode=color -> RGB
// palette colours. resolution=frame keeps the frame's size; resolution=model outputs the network's
// input size recorded in the meta (the map resampled nearest-neighbour), renegotiating the src caps
// whenever that size changes. The meta itself is kept on the output buffer.
#include "gstdeeplabmask.h"

#include <cstring>
#include <exception>
#include <vector>

#include "deeplabcommon.h"
#include "gst/deeplab/deeplabmeta.h"

GST_DEBUG_CATEGORY_STATIC(gst_deeplab_mask_debug);
#define GST_CAT_DEFAULT gst_deeplab_mask_debug

typedef enum { GST_DEEPLAB_MASK_MODE_IDS, GST_DEEPLAB_MASK_MODE_COLOR } GstDeeplabMaskMode;
typedef enum { GST_DEEPLAB_MASK_RESOLUTION_FRAME, GST_DEEPLAB_MASK_RESOLUTION_MODEL } GstDeeplabMaskResolution;

enum { PROP_0, PROP_MODE, PROP_RESOLUTION };
#define DEFAULT_PROP_MODE GST_DEEPLAB_MASK_MODE_IDS
#define DEFAULT_PROP_RESOLUTION GST_DEEPLAB_MASK_RESOLUTION_FRAME

struct GstDeeplabMaskPrivate {
  GstDeeplabMaskMode mode = DEFAULT_PROP_MODE;                    // GST_OBJECT_LOCK
  GstDeeplabMaskResolution resolution = DEFAULT_PROP_RESOLUTION;  // GST_OBJECT_LOCK
  guint model_width = 0, model_height = 0;  // GST_OBJECT_LOCK: the output size in model mode, 0 = not known yet
  bool warned_no_meta = false;                  // streaming thread
  std::vector<guint8> resampled;                // streaming thread: a map of another size, resampled
};

DEEPLAB_DEFINE_ELEMENT(GstDeeplabMask, gst_deeplab_mask, deeplabmask, GST_TYPE_DEEPLAB_MASK, gst_deeplab_mask_debug,
                       "DeepLab class map to video")

static const GEnumValue kMaskModeValues[] = {
    {GST_DEEPLAB_MASK_MODE_IDS, "GRAY8, value = class id", "ids"},
    {GST_DEEPLAB_MASK_MODE_COLOR, "RGB, each class in its palette colour", "color"},
    {0, nullptr, nullptr}};

DEEPLAB_DEFINE_ENUM_TYPE(gst_deeplab_mask_mode_get_type, "GstDeeplabMaskMode", kMaskModeValues)

#define GST_TYPE_DEEPLAB_MASK_RESOLUTION (gst_deeplab_mask_resolution_get_type())
static const GEnumValue kMaskResolutionValues[] = {
    {GST_DEEPLAB_MASK_RESOLUTION_FRAME, "The frame's size (the class map as the meta carries it)", "frame"},
    {GST_DEEPLAB_MASK_RESOLUTION_MODEL,
     "The network's input size recorded in the meta (e.g. 257x257), resampled nearest-neighbour", "model"},
    {0, nullptr, nullptr}};

static DEEPLAB_DEFINE_ENUM_TYPE(gst_deeplab_mask_resolution_get_type, "GstDeeplabMaskResolution",
                                kMaskResolutionValues)

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_DEEPLAB_VIDEO_FORMATS)));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE("{ GRAY8, RGB }")));

static const char* output_format(GstDeeplabMaskMode mode) {
  return mode == GST_DEEPLAB_MASK_MODE_IDS ? "GRAY8" : "RGB";
}

// Same framerate and pixel aspect ratio; the format becomes the mode's output format (sink -> src)
// or any input format (src -> sink, for caps whose format is the mode's output format). The size is
// kept at resolution=frame and free (either way) at resolution=model.
static GstCaps* gst_deeplab_mask_transform_caps(GstBaseTransform* trans, GstPadDirection direction, GstCaps* caps,
                                                GstCaps* filter) {
  auto* self = GST_DEEPLAB_MASK(trans);
  GST_OBJECT_LOCK(self);
  const char* out_format = output_format(self->priv->mode);
  const bool any_size = self->priv->resolution == GST_DEEPLAB_MASK_RESOLUTION_MODEL;
  GST_OBJECT_UNLOCK(self);

  GValue out_value = G_VALUE_INIT;
  g_value_init(&out_value, G_TYPE_STRING);
  g_value_set_static_string(&out_value, out_format);
  GValue in_formats = G_VALUE_INIT;
  gst_value_list_init(&in_formats, 8);
  for (const char* name : {"RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx", "NV12", "I420"}) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, G_TYPE_STRING);
    g_value_set_static_string(&v, name);
    gst_value_list_append_and_take_value(&in_formats, &v);
  }

  GstCaps* result = gst_caps_new_empty();
  for (guint i = 0; i < gst_caps_get_size(caps); ++i) {
    const GstStructure* in = gst_caps_get_structure(caps, i);
    const GValue* format = gst_structure_get_value(in, "format");
    if (direction == GST_PAD_SRC && format && !gst_value_can_intersect(format, &out_value)) continue;
    GstStructure* s = gst_structure_copy(in);
    gst_structure_remove_fields(s, "format", "colorimetry", "chroma-site", nullptr);
    gst_structure_set_value(s, "format", direction == GST_PAD_SINK ? &out_value : &in_formats);
    if (any_size)
      gst_structure_set(s, "width", GST_TYPE_INT_RANGE, 1, G_MAXINT, "height", GST_TYPE_INT_RANGE, 1, G_MAXINT,
                        nullptr);
    const GstCapsFeatures* features = gst_caps_get_features(caps, i);
    result = gst_caps_merge_structure_full(result, s, features ? gst_caps_features_copy(features) : nullptr);
  }
  g_value_unset(&in_formats);
  g_value_unset(&out_value);
  if (filter) {
    GstCaps* tmp = gst_caps_intersect_full(filter, result, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(result);
    result = tmp;
  }
  GST_DEBUG_OBJECT(self, "%s caps %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT,
                   direction == GST_PAD_SINK ? "sink" : "src", caps, result);
  return result;
}

// resolution=model: the output size is the model's (once a meta told it), the frame's before that.
static GstCaps* gst_deeplab_mask_fixate_caps(GstBaseTransform* trans, GstPadDirection direction, GstCaps* caps,
                                             GstCaps* othercaps) {
  auto* self = GST_DEEPLAB_MASK(trans);
  GST_OBJECT_LOCK(self);
  const bool model = self->priv->resolution == GST_DEEPLAB_MASK_RESOLUTION_MODEL;
  gint want_w = static_cast<gint>(self->priv->model_width), want_h = static_cast<gint>(self->priv->model_height);
  GST_OBJECT_UNLOCK(self);
  if (model && direction == GST_PAD_SINK && !gst_caps_is_empty(othercaps)) {
    const GstStructure* in = gst_caps_get_structure(caps, 0);
    if (want_w <= 0 || want_h <= 0) {
      want_w = want_h = 0;
      gst_structure_get_int(in, "width", &want_w);
      gst_structure_get_int(in, "height", &want_h);
    }
    othercaps = gst_caps_truncate(othercaps);
    othercaps = gst_caps_make_writable(othercaps);
    GstStructure* s = gst_caps_get_structure(othercaps, 0);
    if (want_w > 0) gst_structure_fixate_field_nearest_int(s, "width", want_w);
    if (want_h > 0) gst_structure_fixate_field_nearest_int(s, "height", want_h);
  }
  return GST_BASE_TRANSFORM_CLASS(gst_deeplab_mask_parent_class)->fixate_caps(trans, direction, caps, othercaps);
}

// resolution=model: before the buffer is transformed, a model size that differs from the src caps
// (the first frame, or another model upstream) sends new src caps and marks the src pad for
// reconfiguration, which the base class handles before it allocates this buffer's output (set_caps
// with the new size, a new pool): the output buffer has the new size.
static GstFlowReturn gst_deeplab_mask_submit_input_buffer(GstBaseTransform* trans, gboolean is_discont,
                                                          GstBuffer* input) {
  auto* self = GST_DEEPLAB_MASK(trans);
  GstDeeplabMaskPrivate& p = *self->priv;
  GST_OBJECT_LOCK(self);
  const bool model = p.resolution == GST_DEEPLAB_MASK_RESOLUTION_MODEL;
  GST_OBJECT_UNLOCK(self);
  const GstDeeplabSegMeta* meta = model ? gst_buffer_get_deeplab_seg_meta(input) : nullptr;
  if (meta) {
    guint w = 0, h = 0;
    if (!gst_deeplab_seg_meta_get_model_size(meta, &w, &h)) {
      w = meta->width;  // a meta from elsewhere without the model size: the map's own size
      h = meta->height;
    }
    GST_OBJECT_LOCK(self);
    const bool size_changed = w != p.model_width || h != p.model_height;
    p.model_width = w;
    p.model_height = h;
    GST_OBJECT_UNLOCK(self);
    if (GstCaps* current = gst_pad_get_current_caps(GST_BASE_TRANSFORM_SRC_PAD(trans))) {
      const GstStructure* s = gst_caps_get_structure(current, 0);
      gint cw = 0, ch = 0;
      gst_structure_get_int(s, "width", &cw);
      gst_structure_get_int(s, "height", &ch);
      if (cw != static_cast<gint>(w) || ch != static_cast<gint>(h)) {
        GstCaps* updated = gst_caps_copy(current);
        gst_caps_set_simple(updated, "width", G_TYPE_INT, static_cast<gint>(w), "height", G_TYPE_INT,
                            static_cast<gint>(h), nullptr);
        if (gst_pad_peer_query_accept_caps(GST_BASE_TRANSFORM_SRC_PAD(trans), updated)) {
          GST_DEBUG_OBJECT(self, "model size %ux%u: new src caps %" GST_PTR_FORMAT, w, h, updated);
          if (!gst_base_transform_update_src_caps(trans, updated))
            GST_WARNING_OBJECT(self, "could not send %" GST_PTR_FORMAT, updated);
        } else if (size_changed) {
          // Downstream cannot take the model size: renegotiate once, fixate_caps picks the nearest size
          // it accepts (and render resamples to that), instead of offering refused caps every frame.
          GST_INFO_OBJECT(self, "downstream refuses %ux%u: renegotiating for the nearest size", w, h);
          gst_base_transform_reconfigure_src(trans);
        }
        gst_caps_unref(updated);
      }
      gst_caps_unref(current);
    }
  }
  return GST_BASE_TRANSFORM_CLASS(gst_deeplab_mask_parent_class)->submit_input_buffer(trans, is_discont, input);
}

// The class map describes the same pixels on the output: keep the meta there.
static gboolean gst_deeplab_mask_transform_meta(GstBaseTransform* trans, GstBuffer* outbuf, GstMeta* meta,
                                                GstBuffer* inbuf) {
  if (meta->info->api == GST_DEEPLAB_SEG_META_API_TYPE) return TRUE;
  return GST_BASE_TRANSFORM_CLASS(gst_deeplab_mask_parent_class)->transform_meta(trans, outbuf, meta, inbuf);
}

static gboolean gst_deeplab_mask_start(GstBaseTransform* trans) {
  auto* self = GST_DEEPLAB_MASK(trans);
  self->priv->warned_no_meta = false;
  GST_OBJECT_LOCK(self);
  self->priv->model_width = self->priv->model_height = 0;
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

static GstFlowReturn gst_deeplab_mask_render(GstVideoFilter* filter, GstVideoFrame* in, GstVideoFrame* out) {
  auto* self = GST_DEEPLAB_MASK(filter);
  GstDeeplabMaskPrivate& p = *self->priv;
  const int width = GST_VIDEO_FRAME_WIDTH(out), height = GST_VIDEO_FRAME_HEIGHT(out);
  auto* dst = static_cast<guint8*>(GST_VIDEO_FRAME_PLANE_DATA(out, 0));
  const gsize dst_stride = GST_VIDEO_FRAME_PLANE_STRIDE(out, 0);
  const bool ids = GST_VIDEO_FRAME_FORMAT(out) == GST_VIDEO_FORMAT_GRAY8;
  const gsize row_bytes = static_cast<gsize>(width) * (ids ? 1 : 3);

  const GstDeeplabSegMeta* meta = gst_buffer_get_deeplab_seg_meta(in->buffer);
  if (!meta) {
    if (!p.warned_no_meta) {
      GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("Frames without a class map (GstDeeplabSegMeta)"),
                          ("put deeplabseg upstream of deeplabmask; these frames come out as class 0"));
      p.warned_no_meta = true;
    }
    for (int y = 0; y < height; ++y) std::memset(dst + y * dst_stride, 0, row_bytes);
    return GST_FLOW_OK;
  }
  const deeplab_gst::ClassMapView map = deeplab_gst::class_map_at(meta, width, height, &p.resampled);
  const guint n = meta->classes->num_classes;
  const guint8* palette = meta->classes->palette;
  for (int y = 0; y < height; ++y) {
    const guint8* row = map.data + y * map.stride;
    guint8* o = dst + y * dst_stride;
    if (ids) {
      std::memcpy(o, row, static_cast<std::size_t>(width));
      continue;
    }
    for (int x = 0; x < width; ++x, o += 3) {
      const guint c = row[x];
      if (c < n) {
        o[0] = palette[3 * c];
        o[1] = palette[3 * c + 1];
        o[2] = palette[3 * c + 2];
      } else {
        o[0] = o[1] = o[2] = 0;
      }
    }
  }
  return GST_FLOW_OK;
}

// The vfunc boundary: nothing thrown (std::bad_alloc from a resize) may cross into GStreamer's C.
static GstFlowReturn gst_deeplab_mask_transform_frame(GstVideoFilter* filter, GstVideoFrame* in, GstVideoFrame* out) {
  try {
    return gst_deeplab_mask_render(filter, in, out);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(filter, STREAM, FAILED, ("Could not render the class map: %s", e.what()), (nullptr));
    return GST_FLOW_ERROR;
  }
}

static void gst_deeplab_mask_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_DEEPLAB_MASK(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODE: self->priv->mode = static_cast<GstDeeplabMaskMode>(g_value_get_enum(value)); break;
    case PROP_RESOLUTION:
      self->priv->resolution = static_cast<GstDeeplabMaskResolution>(g_value_get_enum(value));
      break;
    default:
      GST_OBJECT_UNLOCK(self);
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      return;
  }
  GST_OBJECT_UNLOCK(self);
  // Both change the output caps (format or size): renegotiate before the next frame.
  gst_base_transform_reconfigure_src(GST_BASE_TRANSFORM(self));
}

static void gst_deeplab_mask_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_DEEPLAB_MASK(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODE: g_value_set_enum(value, self->priv->mode); break;
    case PROP_RESOLUTION: g_value_set_enum(value, self->priv->resolution); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_deeplab_mask_init(GstDeeplabMask* self) {
  self->priv = new GstDeeplabMaskPrivate();
}

// gst-inspect's description of the element, with a working gst-launch-1.0 line.
static const char kDescription[] =
    "Turns the class map that deeplabseg attached to each frame into a video frame of the same size "
    "(resolution=frame) or of the network's input size (resolution=model): GRAY8 class ids (mode=ids) or the "
    "model's palette colours as RGB (mode=color). Frames without a class map come out as class 0. Example:\n"
    "  gst-launch-1.0 filesrc location=video.mp4 ! decodebin ! videoconvert ! deeplabseg ! deeplabmask mode=color ! "
    "pngenc ! multifilesink location=mask-%05d.png";

static void gst_deeplab_mask_class_init(GstDeeplabMaskClass* klass) {
  deeplab_gst::init_element_class(klass, {gst_deeplab_mask_set_property, gst_deeplab_mask_get_property,
                                          gst_deeplab_mask_finalize, "DeepLab class map", "Filter/Converter/Video",
                                          kDescription, &sink_template, &src_template});
  // Both change the output caps: settable up to READY only.
  const auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  auto* gobject_class = G_OBJECT_CLASS(klass);
  g_object_class_install_property(
      gobject_class, PROP_MODE,
      g_param_spec_enum("mode", "Mode", "What the output shows: class ids (GRAY8) or palette colours (RGB)",
                        GST_TYPE_DEEPLAB_MASK_MODE, DEFAULT_PROP_MODE, flags));
  g_object_class_install_property(
      gobject_class, PROP_RESOLUTION,
      g_param_spec_enum("resolution", "Resolution",
                        "Output size: frame (default; the input frame's width and height) or model (the network's "
                        "input size recorded in the meta by deeplabseg, e.g. 257x257; the class map is resampled "
                        "nearest-neighbour and the src caps change when that size does)",
                        GST_TYPE_DEEPLAB_MASK_RESOLUTION, DEFAULT_PROP_RESOLUTION, flags));

  auto* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR(gst_deeplab_mask_transform_caps);
  trans_class->transform_meta = GST_DEBUG_FUNCPTR(gst_deeplab_mask_transform_meta);
  trans_class->start = GST_DEBUG_FUNCPTR(gst_deeplab_mask_start);
  trans_class->fixate_caps = GST_DEBUG_FUNCPTR(gst_deeplab_mask_fixate_caps);
  trans_class->submit_input_buffer = GST_DEBUG_FUNCPTR(gst_deeplab_mask_submit_input_buffer);
  GST_VIDEO_FILTER_CLASS(klass)->transform_frame = GST_DEBUG_FUNCPTR(gst_deeplab_mask_transform_frame);

  deeplab_gst::mark_plugin_api({GST_TYPE_DEEPLAB_MASK_MODE, GST_TYPE_DEEPLAB_MASK_RESOLUTION});
}
