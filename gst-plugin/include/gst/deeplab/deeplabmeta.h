/* GstDeeplabSegMeta: the per-frame result of the deeplabseg element.
 *
 * A class map at the frame's resolution (one byte per pixel, value = class id, rows `stride` bytes
 * apart), the model's class names and palette, the network's input resolution (model_width x
 * model_height, 0 x 0 when unknown) and optionally per-class probabilities at that resolution. Everything a meta points to is read-only and stays valid for as long
 * as the meta (that is, the buffer carrying it) lives; copies of the buffer share the same data.
 *
 * Reading it from an application (appsink, pad probe), linking libgstdeeplabmeta
 * (pkg-config gstreamer-deeplab-1.0):
 *
 *   GstDeeplabSegMeta *meta = gst_buffer_get_deeplab_seg_meta (buffer);
 *   const guint8 *ids; guint width, height, stride;
 *   if (meta && gst_deeplab_seg_meta_get_class_map (meta, &ids, &width, &height, &stride)) {
 *     guint n_classes;
 *     const gchar *const *names = gst_deeplab_seg_meta_get_class_names (meta, &n_classes);
 *     // ids[y * stride + x] < n_classes; names[ids[...]] is its name
 *   }
 *
 * The meta API carries the tags "video" and "size": video elements that change the frame size
 * (videoscale, videoconvertscale) transform it (nearest-neighbour resampling of the class map);
 * elements that copy buffers keep it.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_DEEPLAB_SEG_META_API_TYPE (gst_deeplab_seg_meta_api_get_type ())
#define GST_DEEPLAB_SEG_META_INFO (gst_deeplab_seg_meta_get_info ())
#define GST_TYPE_DEEPLAB_CLASS_INFO (gst_deeplab_class_info_get_type ())

/* The classes of a model: immutable, reference-counted, shared by every meta of a stream. */
typedef struct _GstDeeplabClassInfo {
  guint num_classes;
  gchar **names;    /* num_classes names, then NULL */
  guint8 *palette;  /* num_classes RGB triplets (overlay colours) */
} GstDeeplabClassInfo;

typedef struct _GstDeeplabSegMeta {
  GstMeta meta;

  guint width;              /* class map size: the frame's width and height */
  guint height;
  guint stride;             /* bytes from one row of class_map to the next (>= width) */
  const guint8 *class_map;  /* height rows of width class ids */
  GstDeeplabClassInfo *classes;

  guint prob_width;              /* 0 when the meta carries no probabilities */
  guint prob_height;
  const gfloat *probabilities;   /* classes->num_classes planes of prob_width x prob_height (CHW) */

  guint model_width;             /* the network's input size (deeplabseg sets it); 0 when unknown */
  guint model_height;

  /*< private >*/
  GstBuffer *class_map_buffer;
  GstMapInfo class_map_map;
  GstBuffer *prob_buffer;
  GstMapInfo prob_map;
  gpointer _gst_reserved[GST_PADDING];
} GstDeeplabSegMeta;

GType gst_deeplab_class_info_get_type (void);

/* Copies the names and the palette (3 * num_classes bytes, RGB). NULL names[k] become "class k";
 * a NULL palette becomes the PASCAL VOC colour map. */
GstDeeplabClassInfo *gst_deeplab_class_info_new (guint num_classes, const gchar *const *names,
                                                 const guint8 *palette_rgb);
GstDeeplabClassInfo *gst_deeplab_class_info_ref (GstDeeplabClassInfo *info);
void gst_deeplab_class_info_unref (GstDeeplabClassInfo *info);
/* The id of the class called `name` (or written as a decimal id), -1 if there is none. */
gint gst_deeplab_class_info_find (const GstDeeplabClassInfo *info, const gchar *name);

GType gst_deeplab_seg_meta_api_get_type (void);
const GstMetaInfo *gst_deeplab_seg_meta_get_info (void);

/* The meta of `buffer`, or NULL. Transfer none: valid while the buffer is. */
GstDeeplabSegMeta *gst_buffer_get_deeplab_seg_meta (GstBuffer *buffer);

/* Attaches a class map: `class_map` (transfer full) holds at least stride * height bytes and is
 * not written to afterwards; `classes` is referenced. `buffer` must be writable. */
GstDeeplabSegMeta *gst_buffer_add_deeplab_seg_meta (GstBuffer *buffer, GstBuffer *class_map,
                                                    guint width, guint height, guint stride,
                                                    GstDeeplabClassInfo *classes);

/* Adds probabilities: `probabilities` (transfer full) holds num_classes * width * height floats. */
gboolean gst_deeplab_seg_meta_set_probabilities (GstDeeplabSegMeta *meta, GstBuffer *probabilities,
                                                 guint width, guint height);

/* Records the network's input size (both > 0), e.g. for consumers that want the class map at the
 * model's resolution (deeplabmask resolution=model). */
gboolean gst_deeplab_seg_meta_set_model_size (GstDeeplabSegMeta *meta, guint width, guint height);
/* The network's input size; FALSE (and 0 x 0) when the meta does not record it. Either out-parameter
 * may be NULL. */
gboolean gst_deeplab_seg_meta_get_model_size (const GstDeeplabSegMeta *meta, guint *width, guint *height);

/* No copies: pointers into the meta, valid while the meta is. Any out-parameter may be NULL. */
gboolean gst_deeplab_seg_meta_get_class_map (const GstDeeplabSegMeta *meta, const guint8 **data,
                                             guint *width, guint *height, guint *stride);
const gchar *const *gst_deeplab_seg_meta_get_class_names (const GstDeeplabSegMeta *meta,
                                                          guint *num_classes);
/* The class map as a buffer (transfer none), e.g. to push it into an appsrc after a ref. */
GstBuffer *gst_deeplab_seg_meta_get_class_map_buffer (const GstDeeplabSegMeta *meta);

G_END_DECLS
