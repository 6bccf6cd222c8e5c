// The `deeplab` Python module's entry point (docs/python.md); the objects are bound in their own files.
#include "bindings.h"

PYBIND11_MODULE(_deeplab, m) {
  m.doc() = "DeepLab semantic segmentation: the gst-deeplab engine, its dense CRF, YAML pipelines and "
            "GStreamer masks (docs/python.md)";
  deeplab::python::bind_errors(m);
  deeplab::python::bind_class_map(m);
  deeplab::python::bind_segmenter(m);
  deeplab::python::bind_crf(m);
#ifdef DEEPLAB_PYTHON_WITH_GST
  deeplab::python::bind_pipeline(m);
  deeplab::python::bind_gst_mask(m);
  m.attr("with_gstreamer") = true;
#else
  m.attr("with_gstreamer") = false;
#endif
}
