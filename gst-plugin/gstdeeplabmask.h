// deeplabmask: turns the GstDeeplabSegMeta of each frame into a video frame (GRAY8 class ids or an
// RGB palette image). Properties and a pipeline: gst-inspect-1.0 deeplabmask.
#pragma once

#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_TYPE_DEEPLAB_MASK (gst_deeplab_mask_get_type())
G_DECLARE_FINAL_TYPE(GstDeeplabMask, gst_deeplab_mask, GST, DEEPLAB_MASK, GstVideoFilter)

#define GST_TYPE_DEEPLAB_MASK_MODE (gst_deeplab_mask_mode_get_type())
GType gst_deeplab_mask_mode_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(deeplabmask);

G_END_DECLS
