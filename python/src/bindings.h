// Shared declarations of the `deeplab` Python module's parts (python/src/*.cpp), one bind_* per object.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#ifdef DEEPLAB_PYTHON_WITH_GST
#include <gst/gst.h>
#endif
#include <memory>
#include <string>
#include <vector>

#include "buffer_pool.h"
#include "deeplab/crf.h"
#include "deeplab/frame.h"

namespace deeplab::python {

namespace py = pybind11;

void bind_errors(py::module_& m);
void bind_segmenter(py::module_& m);
void bind_crf(py::module_& m);
#ifdef DEEPLAB_PYTHON_WITH_GST
void bind_pipeline(py::module_& m);
void bind_gst_mask(py::module_& m);
#endif

// ---- arrays.cpp: NumPy arrays over memory that C++ owns, without copies ----

// What a Segmentation (segmenter.cpp) and a Mask (gst_mask.cpp) share: deeplab.ClassMap, their base.
struct ClassMapResult {
  py::array class_map;      // HxW uint8
  py::object probabilities = py::none();  // HxWxC float32 (read-only view of CHW planes), or None
  py::tuple class_names;
  py::array palette;        // Cx3 uint8 RGB
  int width = 0, height = 0;
};
void bind_class_map(py::module_& m);

// An HxW uint8 array that takes over `data` (moved, not copied): the array's base object owns it and
// gives it to `pool` when the array dies (none: frees it).
py::array_t<std::uint8_t> array_owning(std::vector<std::uint8_t>&& data, int height, int width,
                                       std::shared_ptr<BufferPool<std::uint8_t>> pool = nullptr);
// A read-only HxWxC float32 view of `planes` (C planes of HxW, CHW order) that takes it over.
py::array hwc_view_owning(std::vector<float>&& planes, int channels, int height, int width,
                          std::shared_ptr<BufferPool<float>> pool = nullptr);
// An array over memory kept alive by `owner` (any Python object: the base of the array).
py::array uint8_view(const std::uint8_t* data, std::vector<py::ssize_t> shape, std::vector<py::ssize_t> strides,
                     py::handle owner);
py::array float_chw_as_hwc(const float* data, int channels, int height, int width, py::handle owner);
// The model's palette as a read-only Cx3 uint8 array; class names as a tuple of str.
py::array palette_array(const std::uint8_t* rgb, int num_classes);
py::tuple names_tuple(const char* const* names, int num_classes);
py::tuple names_tuple(const std::vector<std::string>& names);
// Marks an array read-only (class maps owned by a meta or a result stay as C++ wrote them).
void make_read_only(py::array& array);

// ---- frames.cpp: NumPy frames as deeplab::FrameView ----

// The FrameView over `frame` (an HxWx3/4 uint8 array; NV12/I420 as a tuple of planes or one
// (H*3/2)xW array), in `format` ("" = RGB for 3 channels, RGBA for 4, as the array's shape says).
// Throws deeplab::Error(kInvalidArgument) naming what does not fit. The view points into the arrays:
// `keep` receives them, to be held while the view is used.
FrameView frame_from_python(const py::object& frame, const std::string& format, std::vector<py::array>& keep);

// ---- crf.cpp: CRF options from Python values ----

// CrfOptions for `mode` ("off", "full", "temporal") and `params`: None, a parameter file's path (a
// YAML `crf:` block), or a dict of CrfParams' names (iterations, bilateral_weight, ...) and of
// CrfOptions' (scale, temporal_iterations, keyframe_interval, max_pixels, scene_cut_threshold).
// Throws deeplab::Error(kInvalidArgument) naming an unknown key or a value of the wrong type.
CrfOptions crf_options_from_python(const std::string& mode, const py::object& params);
// What the CRF did for a frame, as a dict (iterations, warm_started, scene_cut, keyframe, ms).
py::dict crf_report_dict(const CrfFrameReport& report);

#ifdef DEEPLAB_PYTHON_WITH_GST
// ---- gst_mask.cpp ----

// A deeplab.Mask over the meta deeplabseg attached to `buffer` (zero-copy: its arrays hold a
// reference to the buffer), or None when the buffer has no meta.
py::object mask_of_buffer(GstBuffer* buffer);
// An array over `data` whose base holds a reference to `buffer` (its memory stays valid with it).
py::array buffer_view(GstBuffer* buffer, const std::uint8_t* data, std::vector<py::ssize_t> shape,
                      std::vector<py::ssize_t> strides);
#endif

}  // namespace deeplab::python
