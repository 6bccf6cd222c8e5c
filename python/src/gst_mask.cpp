// deeplab.mask_from_buffer(): the class map deeplabseg attached to a Gst.Buffer of a PyGObject app
// (appsink, pad probe), as a NumPy array without a copy.
//
// PyGObject wraps a GstBuffer in a boxed object (pygobject.h: PyGBoxed); pyg_boxed_check() tells a
// Gst.Buffer from anything else and pyg_boxed_get() gives the GstBuffer*. The arrays returned hold a
// reference to that buffer (a capsule as their base), and the meta keeps its class map mapped for as
// long as the buffer lives: the arrays stay valid however long Python keeps them.
#include <pygobject.h>

#include "bindings.h"
#include "deeplab/error.h"
#include "gst/deeplab/deeplabmeta.h"

namespace deeplab::python {
namespace {

// class_map: read-only, rows `stride` bytes apart; probabilities at the meta's probability size.
struct PyMask : ClassMapResult {
  py::object model_size;  // (width, height) of the network input, or None
};

GstBuffer* buffer_from_python(const py::object& object) {
  static bool gi_ready = false;
  if (!gi_ready) {
    if (!pygobject_init(-1, -1, -1)) throw py::error_already_set();  // imports gi, finds its C API
    gi_ready = true;
  }
  if (!pyg_boxed_check(object.ptr(), GST_TYPE_BUFFER))
    throw Error(ErrorCode::kInvalidArgument, "mask_from_buffer: expected a Gst.Buffer (python3-gst-1.0), got " +
                                                 std::string(py::str(py::type::of(object).attr("__name__"))));
  return pyg_boxed_get(object.ptr(), GstBuffer);
}

py::object mask_from_buffer(const py::object& buffer) { return mask_of_buffer(buffer_from_python(buffer)); }

}  // namespace

py::array buffer_view(GstBuffer* buffer, const std::uint8_t* data, std::vector<py::ssize_t> shape,
                      std::vector<py::ssize_t> strides) {
  py::capsule owner(gst_buffer_ref(buffer), [](void* p) { gst_buffer_unref(static_cast<GstBuffer*>(p)); });
  return uint8_view(data, std::move(shape), std::move(strides), owner);
}

py::object mask_of_buffer(GstBuffer* buffer) {
  const GstDeeplabSegMeta* meta = gst_buffer_get_deeplab_seg_meta(buffer);
  const guint8* ids = nullptr;
  guint width = 0, height = 0, stride = 0;
  if (!meta || !gst_deeplab_seg_meta_get_class_map(meta, &ids, &width, &height, &stride)) return py::none();
  PyMask mask;
  mask.width = static_cast<int>(width), mask.height = static_cast<int>(height);
  mask.class_map = buffer_view(buffer, ids, {py::ssize_t(height), py::ssize_t(width)}, {py::ssize_t(stride), 1});
  guint classes = 0;
  const gchar* const* names = gst_deeplab_seg_meta_get_class_names(meta, &classes);
  mask.class_names = names_tuple(names, static_cast<int>(classes));
  mask.palette = palette_array(meta->classes->palette, static_cast<int>(classes));
  if (meta->probabilities) {
    py::capsule owner(gst_buffer_ref(buffer), [](void* p) { gst_buffer_unref(static_cast<GstBuffer*>(p)); });
    mask.probabilities = float_chw_as_hwc(meta->probabilities, static_cast<int>(classes),
                                          static_cast<int>(meta->prob_height), static_cast<int>(meta->prob_width), owner);
  }
  guint model_width = 0, model_height = 0;
  mask.model_size = gst_deeplab_seg_meta_get_model_size(meta, &model_width, &model_height)
                        ? py::object(py::make_tuple(model_width, model_height))
                        : py::object(py::none());
  return py::cast(std::move(mask));
}

void bind_gst_mask(py::module_& m) {
  py::class_<PyMask, ClassMapResult>(m, "Mask", "The class map deeplabseg attached to a buffer (a read-only view)")
      .def_readonly("model_size", &PyMask::model_size);
  // __init__.py: the build tree's plugin folder, scanned at once when GStreamer is already initialised
  m.def("_register_plugin_dir", [](const std::string& dir) {
    if (gst_is_initialized()) gst_registry_scan_path(gst_registry_get(), dir.c_str());
  });
  m.def("mask_from_buffer", &mask_from_buffer, py::arg("buffer"),
        "The class map deeplabseg attached to a Gst.Buffer, as a deeplab.Mask; None without one.");
}

}  // namespace deeplab::python
