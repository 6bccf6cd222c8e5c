// deeplaboverlay: blends the GstDeeplabSegMeta of each frame onto the frame with the model's
// palette. Properties and a pipeline: gst-inspect-1.0 deeplaboverlay.
#pragma once

#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_TYPE_DEEPLAB_OVERLAY (gst_deeplab_overlay_get_type())
G_DECLARE_FINAL_TYPE(GstDeeplabOverlay, gst_deeplab_overlay, GST, DEEPLAB_OVERLAY, GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE(deeplaboverlay);

G_END_DECLS
