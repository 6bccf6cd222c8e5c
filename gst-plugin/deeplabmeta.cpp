// GstDeeplabSegMeta and GstDeeplabClassInfo (libgstdeeplabmeta): see include/gst/deeplab/deeplabmeta.h.
//
// The class map and the probabilities live in GstBuffers that the meta references and keeps mapped
// for reading: deeplabseg takes them from buffer pools, so a steady stream allocates nothing, and a
// buffer copy shares them (a reference, not a copy of the bytes). Only a size-changing video
// transform (videoscale) allocates, for the resampled class map.
#include "gst/deeplab/deeplabmeta.h"

#include <gst/video/video.h>

#include <cstring>

namespace {

void class_info_clear(gpointer data) {
  auto* info = static_cast<GstDeeplabClassInfo*>(data);
  g_strfreev(info->names);
  g_free(info->palette);
}

// The standard PASCAL VOC colour map: the bits of the class id interleaved into R, G, B.
void voc_colour(guint id, guint8 rgb[3]) {
  guint r = 0, g = 0, b = 0, c = id;
  for (int bit = 7; bit >= 0; --bit, c >>= 3) {
    r |= ((c >> 0) & 1) << bit;
    g |= ((c >> 1) & 1) << bit;
    b |= ((c >> 2) & 1) << bit;
  }
  rgb[0] = static_cast<guint8>(r);
  rgb[1] = static_cast<guint8>(g);
  rgb[2] = static_cast<guint8>(b);
}

gboolean seg_meta_init(GstMeta* meta, gpointer, GstBuffer*) {
  auto* m = reinterpret_cast<GstDeeplabSegMeta*>(meta);
  std::memset(reinterpret_cast<guint8*>(m) + sizeof(GstMeta), 0, sizeof(*m) - sizeof(GstMeta));
  return TRUE;
}

void seg_meta_free(GstMeta* meta, GstBuffer*) {
  auto* m = reinterpret_cast<GstDeeplabSegMeta*>(meta);
  if (m->class_map_buffer) {
    gst_buffer_unmap(m->class_map_buffer, &m->class_map_map);
    gst_buffer_unref(m->class_map_buffer);
  }
  if (m->prob_buffer) {
    gst_buffer_unmap(m->prob_buffer, &m->prob_map);
    gst_buffer_unref(m->prob_buffer);
  }
  if (m->classes) gst_deeplab_class_info_unref(m->classes);
  m->class_map_buffer = m->prob_buffer = nullptr;
  m->classes = nullptr;
}

// The class map resampled (nearest neighbour, pixel centres) to width x height, in a new buffer.
GstBuffer* resample_class_map(const GstDeeplabSegMeta* src, guint width, guint height, guint* stride) {
  *stride = GST_ROUND_UP_4(width);
  GstBuffer* out = gst_buffer_new_allocate(nullptr, static_cast<gsize>(*stride) * height, nullptr);
  if (!out) return nullptr;
  GstMapInfo map;
  if (!gst_buffer_map(out, &map, GST_MAP_WRITE)) {
    gst_buffer_unref(out);
    return nullptr;
  }
  for (guint y = 0; y < height; ++y) {
    const guint sy = static_cast<guint>((2ull * y + 1) * src->height / (2ull * height));
    const guint8* in_row = src->class_map + static_cast<gsize>(sy) * src->stride;
    guint8* out_row = map.data + static_cast<gsize>(y) * *stride;
    for (guint x = 0; x < width; ++x)
      out_row[x] = in_row[(2ull * x + 1) * src->width / (2ull * width)];
    std::memset(out_row + width, 0, *stride - width);
  }
  gst_buffer_unmap(out, &map);
  return out;
}

// Copies (shares) `src` onto `dest`, with `class_map` (transfer full) of the given geometry.
gboolean attach_copy(GstBuffer* dest, const GstDeeplabSegMeta* src, GstBuffer* class_map, guint width,
                     guint height, guint stride) {
  GstDeeplabSegMeta* m = gst_buffer_add_deeplab_seg_meta(dest, class_map, width, height, stride, src->classes);
  if (!m) return FALSE;
  m->model_width = src->model_width;
  m->model_height = src->model_height;
  if (src->prob_buffer &&
      !gst_deeplab_seg_meta_set_probabilities(m, gst_buffer_ref(src->prob_buffer), src->prob_width, src->prob_height))
    return FALSE;
  return TRUE;
}

gboolean seg_meta_transform(GstBuffer* dest, GstMeta* meta, GstBuffer*, GQuark type, gpointer data) {
  const auto* src = reinterpret_cast<const GstDeeplabSegMeta*>(meta);
  if (!src->class_map_buffer) return FALSE;
  if (GST_META_TRANSFORM_IS_COPY(type)) {
    // A region copy keeps a byte range of the frame, not a rectangle: the map would not describe
    // it, so it is left out (as GstVideoMeta does).
    if (static_cast<const GstMetaTransformCopy*>(data)->region) return TRUE;
    return attach_copy(dest, src, gst_buffer_ref(src->class_map_buffer), src->width, src->height, src->stride);
  }
  if (type == gst_video_meta_transform_scale_get_quark()) {
    const auto* t = static_cast<const GstVideoMetaTransform*>(data);
    const guint width = GST_VIDEO_INFO_WIDTH(t->out_info), height = GST_VIDEO_INFO_HEIGHT(t->out_info);
    if (width == src->width && height == src->height)
      return attach_copy(dest, src, gst_buffer_ref(src->class_map_buffer), width, height, src->stride);
    if (width == 0 || height == 0) return FALSE;
    guint stride = 0;
    GstBuffer* scaled = resample_class_map(src, width, height, &stride);
    return scaled && attach_copy(dest, src, scaled, width, height, stride);
  }
  return FALSE;  // an unknown transform: do not copy
}

}  // namespace

G_DEFINE_BOXED_TYPE(GstDeeplabClassInfo, gst_deeplab_class_info, gst_deeplab_class_info_ref,
                    gst_deeplab_class_info_unref)

GstDeeplabClassInfo* gst_deeplab_class_info_new(guint num_classes, const gchar* const* names,
                                                const guint8* palette_rgb) {
  g_return_val_if_fail(num_classes > 0 && num_classes <= 256, nullptr);
  auto* info = g_atomic_rc_box_new0(GstDeeplabClassInfo);
  info->num_classes = num_classes;
  info->names = g_new0(gchar*, num_classes + 1);
  info->palette = static_cast<guint8*>(g_malloc(3 * num_classes));
  for (guint k = 0; k < num_classes; ++k) {
    info->names[k] = names && names[k] ? g_strdup(names[k]) : g_strdup_printf("class %u", k);
    if (palette_rgb) std::memcpy(info->palette + 3 * k, palette_rgb + 3 * k, 3);
    else voc_colour(k, info->palette + 3 * k);
  }
  return info;
}

GstDeeplabClassInfo* gst_deeplab_class_info_ref(GstDeeplabClassInfo* info) {
  g_return_val_if_fail(info != nullptr, nullptr);
  return static_cast<GstDeeplabClassInfo*>(g_atomic_rc_box_acquire(info));
}

void gst_deeplab_class_info_unref(GstDeeplabClassInfo* info) {
  g_return_if_fail(info != nullptr);
  g_atomic_rc_box_release_full(info, class_info_clear);
}

gint gst_deeplab_class_info_find(const GstDeeplabClassInfo* info, const gchar* name) {
  g_return_val_if_fail(info != nullptr && name != nullptr, -1);
  for (guint k = 0; k < info->num_classes; ++k)
    if (g_ascii_strcasecmp(info->names[k], name) == 0) return static_cast<gint>(k);
  gchar* end = nullptr;
  const guint64 id = g_ascii_strtoull(name, &end, 10);
  if (end != name && *end == '\0' && id < info->num_classes) return static_cast<gint>(id);
  return -1;
}

GType gst_deeplab_seg_meta_api_get_type(void) {
  static const GType type = [] {
    static const gchar* tags[] = {GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_SIZE_STR, nullptr};
    return gst_meta_api_type_register("GstDeeplabSegMetaAPI", tags);
  }();
  return type;
}

const GstMetaInfo* gst_deeplab_seg_meta_get_info(void) {
  static const GstMetaInfo* info =
      gst_meta_register(GST_DEEPLAB_SEG_META_API_TYPE, "GstDeeplabSegMeta", sizeof(GstDeeplabSegMeta),
                        seg_meta_init, seg_meta_free, seg_meta_transform);
  return info;
}

GstDeeplabSegMeta* gst_buffer_get_deeplab_seg_meta(GstBuffer* buffer) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  return reinterpret_cast<GstDeeplabSegMeta*>(gst_buffer_get_meta(buffer, GST_DEEPLAB_SEG_META_API_TYPE));
}

GstDeeplabSegMeta* gst_buffer_add_deeplab_seg_meta(GstBuffer* buffer, GstBuffer* class_map, guint width,
                                                   guint height, guint stride, GstDeeplabClassInfo* classes) {
  g_return_val_if_fail(GST_IS_BUFFER(class_map), nullptr);
  if (!GST_IS_BUFFER(buffer) || !gst_buffer_is_writable(buffer) || !classes || width == 0 || height == 0 ||
      stride < width || gst_buffer_get_size(class_map) < static_cast<gsize>(stride) * height) {
    g_critical("gst_buffer_add_deeplab_seg_meta: invalid arguments (buffer not writable, no classes, or a "
               "class map smaller than stride x height)");
    gst_buffer_unref(class_map);
    return nullptr;
  }
  auto* meta = reinterpret_cast<GstDeeplabSegMeta*>(gst_buffer_add_meta(buffer, GST_DEEPLAB_SEG_META_INFO, nullptr));
  if (!meta) {
    gst_buffer_unref(class_map);
    return nullptr;
  }
  if (!gst_buffer_map(class_map, &meta->class_map_map, GST_MAP_READ)) {
    gst_buffer_unref(class_map);
    gst_buffer_remove_meta(buffer, &meta->meta);
    return nullptr;
  }
  meta->class_map_buffer = class_map;
  meta->class_map = meta->class_map_map.data;
  meta->width = width;
  meta->height = height;
  meta->stride = stride;
  meta->classes = gst_deeplab_class_info_ref(classes);
  return meta;
}

gboolean gst_deeplab_seg_meta_set_probabilities(GstDeeplabSegMeta* meta, GstBuffer* probabilities, guint width,
                                                guint height) {
  g_return_val_if_fail(GST_IS_BUFFER(probabilities), FALSE);
  const gsize need = static_cast<gsize>(width) * height * (meta ? meta->classes->num_classes : 0) * sizeof(gfloat);
  if (!meta || meta->prob_buffer || need == 0 || gst_buffer_get_size(probabilities) < need ||
      !gst_buffer_map(probabilities, &meta->prob_map, GST_MAP_READ)) {
    gst_buffer_unref(probabilities);
    return FALSE;
  }
  meta->prob_buffer = probabilities;
  meta->probabilities = reinterpret_cast<const gfloat*>(meta->prob_map.data);
  meta->prob_width = width;
  meta->prob_height = height;
  return TRUE;
}

gboolean gst_deeplab_seg_meta_set_model_size(GstDeeplabSegMeta* meta, guint width, guint height) {
  g_return_val_if_fail(meta != nullptr, FALSE);
  if (width == 0 || height == 0) return FALSE;
  meta->model_width = width;
  meta->model_height = height;
  return TRUE;
}

gboolean gst_deeplab_seg_meta_get_model_size(const GstDeeplabSegMeta* meta, guint* width, guint* height) {
  g_return_val_if_fail(meta != nullptr, FALSE);
  const gboolean known = meta->model_width > 0 && meta->model_height > 0;
  if (width) *width = known ? meta->model_width : 0;
  if (height) *height = known ? meta->model_height : 0;
  return known;
}

gboolean gst_deeplab_seg_meta_get_class_map(const GstDeeplabSegMeta* meta, const guint8** data, guint* width,
                                            guint* height, guint* stride) {
  g_return_val_if_fail(meta != nullptr, FALSE);
  if (!meta->class_map) return FALSE;
  if (data) *data = meta->class_map;
  if (width) *width = meta->width;
  if (height) *height = meta->height;
  if (stride) *stride = meta->stride;
  return TRUE;
}

const gchar* const* gst_deeplab_seg_meta_get_class_names(const GstDeeplabSegMeta* meta, guint* num_classes) {
  g_return_val_if_fail(meta != nullptr && meta->classes != nullptr, nullptr);
  if (num_classes) *num_classes = meta->classes->num_classes;
  return meta->classes->names;
}

GstBuffer* gst_deeplab_seg_meta_get_class_map_buffer(const GstDeeplabSegMeta* meta) {
  g_return_val_if_fail(meta != nullptr, nullptr);
  return meta->class_map_buffer;
}
