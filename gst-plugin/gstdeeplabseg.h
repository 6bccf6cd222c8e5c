// deeplabseg: runs a DeepLab model on every frame and attaches GstDeeplabSegMeta (see
// include/gst/deeplab/deeplabmeta.h). Properties and a pipeline: gst-inspect-1.0 deeplabseg.
#pragma once

#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_TYPE_DEEPLAB_SEG (gst_deeplab_seg_get_type())
G_DECLARE_FINAL_TYPE(GstDeeplabSeg, gst_deeplab_seg, GST, DEEPLAB_SEG, GstVideoFilter)

#define GST_TYPE_DEEPLAB_DEVICE (gst_deeplab_device_get_type())
GType gst_deeplab_device_get_type(void);
#define GST_TYPE_DEEPLAB_PRECISION (gst_deeplab_precision_get_type())
GType gst_deeplab_precision_get_type(void);
#define GST_TYPE_DEEPLAB_ASPECT (gst_deeplab_aspect_get_type())
GType gst_deeplab_aspect_get_type(void);
#define GST_TYPE_DEEPLAB_CRF_MODE (gst_deeplab_crf_mode_get_type())
GType gst_deeplab_crf_mode_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(deeplabseg);

G_END_DECLS
