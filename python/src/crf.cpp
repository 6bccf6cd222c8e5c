// deeplab.DenseCrf and deeplab.CrfStream on NumPy arrays, and the CRF options the Segmenter takes.
// Arrays are pixel-major as in crf.h: the image HxWx3 uint8 (RGB, any row stride), probabilities and
// Q HxWxC float32 C-contiguous (what Segmentation.probabilities is not: np.ascontiguousarray() it).
#include <mutex>

#include "bindings.h"
#include "deeplab/crf.h"
#include "deeplab/error.h"

namespace deeplab::python {
namespace {

[[noreturn]] void fail(const std::string& what) { throw Error(ErrorCode::kInvalidArgument, what); }

template <typename T>
T value_of(const py::handle& value, const std::string& key) {
  try {
    return value.cast<T>();
  } catch (const py::cast_error&) {
    fail("crf_params: '" + key + "' must be " + (std::is_integral<T>::value ? "an integer" : "a number") +
         ", got " + std::string(py::str(py::type::of(value).attr("__name__"))));
  }
}

// One key of a crf_params dict: sets the parameter (an override) or the option.
bool set_crf_key(const std::string& key, const py::handle& v, CrfParamOverrides& p, CrfOptions* options) {
  if (key == "iterations") p.iterations = value_of<int>(v, key);
  else if (key == "bilateral_weight") p.bilateral_weight = value_of<float>(v, key);
  else if (key == "bilateral_xy_std") p.bilateral_xy_std = value_of<float>(v, key);
  else if (key == "bilateral_rgb_std") p.bilateral_rgb_std = value_of<float>(v, key);
  else if (key == "gaussian_weight") p.gaussian_weight = value_of<float>(v, key);
  else if (key == "gaussian_xy_std") p.gaussian_xy_std = value_of<float>(v, key);
  else if (key == "unary_temperature") p.unary_temperature = value_of<float>(v, key);
  else if (!options) return false;
  else if (key == "scale") options->scale = value_of<float>(v, key);
  else if (key == "temporal_iterations") options->temporal_iterations = value_of<int>(v, key);
  else if (key == "keyframe_interval") options->keyframe_interval = value_of<int>(v, key);
  else if (key == "max_pixels") options->max_pixels = value_of<std::int64_t>(v, key);
  else if (key == "scene_cut_threshold") options->scene_cut_threshold = value_of<float>(v, key);
  else return false;
  return true;
}

CrfParamOverrides overrides_from_dict(const py::dict& params, CrfOptions* options) {
  CrfParamOverrides overrides;
  for (const auto& item : params) {
    const std::string key = py::str(item.first);
    if (!set_crf_key(key, item.second, overrides, options))
      fail("crf_params: unknown key '" + key + "' (iterations, bilateral_weight, bilateral_xy_std, "
           "bilateral_rgb_std, gaussian_weight, gaussian_xy_std, unary_temperature" +
           (options ? ", scale, temporal_iterations, keyframe_interval, max_pixels, scene_cut_threshold)" : ")"));
  }
  return overrides;
}

// DeepLab's parameters with a dict's values over them (DenseCrf takes its parameters as given).
CrfParams params_from_python(const py::object& params) {
  CrfParams result;
  if (params.is_none()) return result;
  if (!py::isinstance<py::dict>(params)) fail("params: expected a dict of CRF parameters or None");
  overrides_from_dict(params.cast<py::dict>(), nullptr).apply_to(result);
  return result;
}

// The image as a CrfImage: HxWx3 uint8 with pixels 3 bytes apart.
CrfImage crf_image(const py::object& object, py::array& keep) {
  std::vector<py::array> arrays;
  const FrameView view = frame_from_python(object, "RGB", arrays);
  keep = arrays.front();
  return CrfImage{view.planes[0], view.width, view.height, view.strides[0]};
}

// A C-contiguous float32 HxWxC array matching the image.
py::array_t<float> probability_array(const py::object& object, const char* name, const CrfImage& image) {
  if (!py::isinstance<py::array_t<float>>(object)) fail(std::string(name) + ": expected a numpy.ndarray of float32");
  auto a = py::reinterpret_borrow<py::array>(object);
  if (!a.dtype().is(py::dtype::of<float>()) || a.ndim() != 3 || !(a.flags() & py::array::c_style) ||
      a.shape(0) != image.height || a.shape(1) != image.width || a.shape(2) < 1)
    fail(std::string(name) + ": expected a C-contiguous float32 array of shape (" + std::to_string(image.height) +
         ", " + std::to_string(image.width) + ", classes) matching the image");
  return py::reinterpret_borrow<py::array_t<float>>(object);
}

class PyDenseCrf {
 public:
  PyDenseCrf(const std::string& device, int threads) : crf_(device_from_string(device), threads) {}

  py::array_t<float> infer(const py::object& image, const py::object& probabilities, const py::object& params,
                           int iterations, bool warm_start, const py::object& q, float position_scale) {
    py::array keep;
    const CrfImage img = crf_image(image, keep);
    py::array_t<float> p = probability_array(probabilities, "probabilities", img);
    const int classes = static_cast<int>(p.shape(2));
    if (warm_start && q.is_none()) fail("warm_start: needs q, the marginals to start from");
    py::array_t<float> out = q.is_none() ? py::array_t<float>({p.shape(0), p.shape(1), p.shape(2)})
                                         : probability_array(q, "q", img);
    if (out.shape(2) != classes || !out.writeable()) fail("q: must be writable and have the probabilities' shape");
    const CrfParams crf_params = params_from_python(params);
    const float* in = p.data();
    float* result = out.mutable_data();
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mutex_);
    crf_.infer(img, in, classes, crf_params, iterations > 0 ? iterations : crf_params.iterations, warm_start, result,
               position_scale);
    return out;
  }

 private:
  std::mutex mutex_;
  DenseCrf crf_;
};

class PyCrfStream {
 public:
  PyCrfStream(const std::string& mode, const py::object& params, const std::string& device, int threads)
      : stream_(stream_options(mode, params), device_from_string(device), threads) {}

  // Q of this frame: a copy (the stream's own Q is its next frame's starting point).
  py::array_t<float> process(const py::object& image, const py::object& probabilities) {
    py::array keep;
    const CrfImage img = crf_image(image, keep);
    py::array_t<float> p = probability_array(probabilities, "probabilities", img);
    const int classes = static_cast<int>(p.shape(2));
    py::array_t<float> out({p.shape(0), p.shape(1), p.shape(2)});
    const float* in = p.data();
    float* result = out.mutable_data();
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mutex_);
      const float* q = stream_.process(img, in, classes);
      std::copy(q, q + out.size(), result);
    }
    return out;
  }
  void reset() {
    std::lock_guard<std::mutex> lock(mutex_);
    stream_.reset();
  }
  py::dict last_report() {
    std::lock_guard<std::mutex> lock(mutex_);
    return crf_report_dict(stream_.last_report());
  }

 private:
  // CrfStream takes its parameters as given: DeepLab's, with the dict's values over them.
  static CrfOptions stream_options(const std::string& mode, const py::object& params) {
    CrfOptions options = crf_options_from_python(mode, params);
    options.overrides.apply_to(options.params);
    validate_crf_options(options);
    return options;
  }
  std::mutex mutex_;
  CrfStream stream_;
};

}  // namespace

py::dict crf_report_dict(const CrfFrameReport& r) {
  py::dict d;
  d["iterations"] = r.iterations, d["warm_started"] = r.warm_started, d["scene_cut"] = r.scene_cut;
  d["keyframe"] = r.keyframe, d["ms"] = r.ms;
  return d;
}

CrfOptions crf_options_from_python(const std::string& mode, const py::object& params) {
  CrfOptions options;
  options.mode = crf_mode_from_string(mode);
  if (params.is_none()) return options;
  if (py::isinstance<py::str>(params)) {
    options.params_file = params.cast<std::string>();
    load_crf_params_file(options.params_file);  // a missing or bad file is named now, not at the first frame
  } else if (py::isinstance<py::dict>(params)) {
    options.overrides = overrides_from_dict(params.cast<py::dict>(), &options);
  } else {
    fail("crf_params: expected None, a parameter file's path or a dict");
  }
  return options;
}

void bind_crf(py::module_& m) {
  py::class_<PyDenseCrf>(m, "DenseCrf", "Fully connected CRF mean field on one image (crf.h)")
      .def(py::init<const std::string&, int>(), py::arg("device") = "cpu", py::arg("threads") = 0)
      .def("infer", &PyDenseCrf::infer, py::arg("image"), py::arg("probabilities"), py::arg("params") = py::none(),
           py::arg("iterations") = 0, py::arg("warm_start") = false, py::arg("q") = py::none(),
           py::arg("position_scale") = 1.0f);
  py::class_<PyCrfStream>(m, "CrfStream", "The CRF over a video stream, warm-started from the previous frame")
      .def(py::init<const std::string&, const py::object&, const std::string&, int>(), py::arg("mode") = "temporal",
           py::arg("params") = py::none(), py::arg("device") = "cpu", py::arg("threads") = 0)
      .def("process", &PyCrfStream::process, py::arg("image"), py::arg("probabilities"))
      .def("reset", &PyCrfStream::reset)
      .def_property_readonly("last_report", &PyCrfStream::last_report);
}

}  // namespace deeplab::python
