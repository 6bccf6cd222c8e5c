"""DeepLab semantic segmentation from Python: the gst-deeplab engine without copies.

    import deeplab
    segmenter = deeplab.Segmenter()              # the default model, deeplabv3-mnv2-voc-513
    result = segmenter.segment(frame)            # frame: HxWx3 uint8 RGB NumPy array
    result.class_map                             # HxW uint8 class ids, owned by the array (no copy)

See docs/python.md: Segmenter, DenseCrf / CrfStream, Pipeline (YAML pipelines with a Python
callback), mask_from_buffer (masks in PyGObject GStreamer apps) and the deeplab.Error classes.
"""
import os as _os

from . import _build_paths


def _use_build_tree_plugin():
    """Lets GStreamer find the deeplab plugin of the build tree that built this module.

    Before Gst.init() (import deeplab first) GST_PLUGIN_PATH is enough; if GStreamer is already
    initialised, the folder is scanned into the registry at once.
    """
    plugin_dir = _build_paths.PLUGIN_DIR
    if not _os.path.exists(_os.path.join(plugin_dir, "libgstdeeplab.so")):
        return  # an installed module relies on the installed plugin
    paths = [p for p in _os.environ.get("GST_PLUGIN_PATH", "").split(_os.pathsep) if p]
    if plugin_dir not in paths:
        _os.environ["GST_PLUGIN_PATH"] = _os.pathsep.join([plugin_dir] + paths)
    if with_gstreamer:
        _register_plugin_dir(plugin_dir)


from ._deeplab import *  # noqa: E402,F401,F403  (the compiled module: every public name)
from ._deeplab import with_gstreamer  # noqa: E402

if with_gstreamer:
    from ._deeplab import _register_plugin_dir  # noqa: E402

_use_build_tree_plugin()
