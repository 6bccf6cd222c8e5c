// The deeplab plugin: registers the elements, nothing else.
#include <gst/gst.h>

#include "gstdeeplabmask.h"
#include "gstdeeplaboverlay.h"
#include "gstdeeplabseg.h"

static gboolean plugin_init(GstPlugin* plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(deeplabseg, plugin);
  ok |= GST_ELEMENT_REGISTER(deeplaboverlay, plugin);
  ok |= GST_ELEMENT_REGISTER(deeplabmask, plugin);
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, deeplab,
                  "DeepLab semantic segmentation: deeplabseg, deeplaboverlay, deeplabmask", plugin_init, VERSION,
                  "MIT/X11", GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
