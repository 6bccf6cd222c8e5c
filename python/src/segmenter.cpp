// deeplab.Segmenter and deeplab.Segmentation: the engine's Segmenter on NumPy frames.
//
// The class map is not copied: after segment() (or collect()) the Segmentation's class map buffer
// is moved into the array returned to Python, and the Segmenter gets a recycled buffer from a pool
// for the next frame (buffer_pool.h). The GIL is released while the engine works; a mutex makes one
// Segmenter safe to share between threads (calls on it take turns).
#include <cstdlib>
#include <mutex>
#include <optional>
#include <utility>

#include "bindings.h"
#include "deeplab/segmenter.h"

namespace deeplab::python {
namespace {

// What segment() and collect() return: a class map the array owns, and the frame's figures.
struct PySegmentation : ClassMapResult {
  py::dict times;  // per-stage milliseconds
  int num_classes = 0;
  CrfFrameReport crf;
};

ModelSearch model_search_from_environment() {
  ModelSearch search;  // as the tools and the element: the engine reads no environment itself
  if (const char* dir = std::getenv("DEEPLAB_MODEL_DIR")) search.manifest_dir = dir;
  if (const char* cache = std::getenv("DEEPLAB_MODEL_CACHE")) search.cache_dir = cache;
  return search;
}

py::dict times_dict(const StageTimes& t) {
  py::dict d;
  d["upload_ms"] = t.upload_ms, d["preprocess_ms"] = t.preprocess_ms, d["infer_ms"] = t.infer_ms;
  d["postprocess_ms"] = t.postprocess_ms, d["crf_ms"] = t.crf_ms, d["download_ms"] = t.download_ms;
  d["total_ms"] = t.total_ms;
  return d;
}

// A (width, height) tuple of positive ints, or an error naming the argument.
std::pair<int, int> size_of(const py::object& size, const char* name) {
  std::pair<int, int> pair;
  try {
    pair = size.cast<std::pair<int, int>>();
  } catch (const py::cast_error&) {
    throw Error(ErrorCode::kInvalidArgument, std::string(name) + ": expected a (width, height) tuple of ints");
  }
  if (pair.first <= 0 || pair.second <= 0)
    throw Error(ErrorCode::kInvalidArgument, std::string(name) + ": width and height must be > 0");
  return pair;
}

// SegmentRequest for `probabilities`: None/False (none), True (at the frame's size) or (width, height).
SegmentRequest probability_request(const py::object& probabilities, const FrameView& frame) {
  SegmentRequest request;
  if (probabilities.is_none() || (py::isinstance<py::bool_>(probabilities) && !probabilities.cast<bool>())) return request;
  if (py::isinstance<py::bool_>(probabilities)) {
    request.probabilities_width = frame.width, request.probabilities_height = frame.height;
    return request;
  }
  const auto size = size_of(probabilities, "probabilities (None, True or a size)");
  request.probabilities_width = size.first, request.probabilities_height = size.second;
  return request;
}

class PySegmenter {
 public:
  PySegmenter(const std::string& model, const std::string& device, const std::string& precision, int threads,
              const std::string& crf, const py::object& crf_params, const py::object& input_size,
              const std::string& aspect) {
    SegmenterOptions options;
    options.device = device_from_string(device);
    options.precision = precision_from_string(precision);
    options.threads = threads;
    options.aspect = aspect_from_string(aspect);
    options.crf = crf_options_from_python(crf, crf_params);
    if (!input_size.is_none()) {
      const auto size = size_of(input_size, "input_size");
      options.input_width = size.first, options.input_height = size.second;
    }
    const ModelManifest manifest = resolve_model(model, model_search_from_environment());
    {
      py::gil_scoped_release release;  // loading a model takes a while
      segmenter_.emplace(manifest, options);
    }
    class_names_ = names_tuple(manifest.classes);
    std::vector<std::uint8_t> rgb;
    for (const auto& colour : manifest.palette) rgb.insert(rgb.end(), colour.begin(), colour.end());
    palette_ = palette_array(rgb.data(), static_cast<int>(manifest.palette.size()));
  }

  PySegmentation segment(const py::object& frame, const std::string& format, const py::object& probabilities) {
    std::vector<py::array> keep;  // the frame's arrays, alive while the engine reads them
    const FrameView view = frame_from_python(frame, format, keep);
    const SegmentRequest request = probability_request(probabilities, view);
    Segmentation taken;
    StageTimes times;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mutex_);
      take(live().segment(view, request), request, taken);
      times = live().last_times();
    }
    return wrap(std::move(taken), times);
  }

  void submit(const py::object& frame, const std::string& format, const py::object& probabilities) {
    std::vector<py::array> keep;
    const FrameView view = frame_from_python(frame, format, keep);
    SegmentRequest request = probability_request(probabilities, view);
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mutex_);
    live().submit(view, request);  // copies the pixels before it returns
    wants_probabilities_[(submitted_++) % Segmenter::kMaxInFlight] = request.probabilities_width > 0;
  }

  std::optional<PySegmentation> collect() {
    Segmentation taken;
    StageTimes times;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mutex_);
      const Segmentation* result = live().collect();
      if (!result) return std::nullopt;
      SegmentRequest request;
      request.probabilities_width = wants_probabilities_[(collected_++) % Segmenter::kMaxInFlight] ? 1 : 0;
      take(*result, request, taken);
      times = live().last_times();
    }
    return wrap(std::move(taken), times);
  }

  int pending() {
    std::lock_guard<std::mutex> lock(mutex_);
    return live().pending();
  }
  void reset_stream() {
    std::lock_guard<std::mutex> lock(mutex_);
    live().reset_stream();
  }
  void close() {
    py::gil_scoped_release release;  // waits for a call in another thread to finish
    std::lock_guard<std::mutex> lock(mutex_);
    segmenter_.reset();
  }
  bool closed() {
    std::lock_guard<std::mutex> lock(mutex_);
    return !segmenter_;
  }
  py::dict info() {
    std::lock_guard<std::mutex> lock(mutex_);
    const NetworkInfo& n = live().network();
    py::dict d;
    d["model"] = live().manifest().name, d["model_file"] = live().manifest().file;
    d["device"] = device_name(live().device());
    d["input_size"] = py::make_tuple(n.input_width, n.input_height);
    d["logits_size"] = py::make_tuple(n.logits_width, n.logits_height);
    d["num_classes"] = n.num_classes, d["node_count"] = n.node_count;
    return d;
  }
  const py::tuple& class_names() const { return class_names_; }
  const py::array& palette() const { return palette_; }

 private:
  Segmenter& live() {
    if (!segmenter_) throw Error(ErrorCode::kInvalidArgument, "Segmenter is closed");
    return *segmenter_;
  }

  // Moves the result's buffers out (no copy), giving the engine pooled ones to reuse in their place.
  void take(const Segmentation& result, const SegmentRequest& request, Segmentation& out) {
    out.width = result.width, out.height = result.height, out.num_classes = result.num_classes, out.crf = result.crf;
    out.class_map = maps_->take();
    const bool probabilities = request.probabilities_width > 0;
    if (probabilities) {
      out.probabilities_width = result.probabilities_width, out.probabilities_height = result.probabilities_height;
      out.probabilities = probabilities_->take();
    }
    live().exchange_result_buffers(result, out.class_map, probabilities ? &out.probabilities : nullptr);
  }

  PySegmentation wrap(Segmentation&& s, const StageTimes& times) {
    PySegmentation r;
    r.width = s.width, r.height = s.height, r.num_classes = s.num_classes, r.crf = s.crf;
    r.class_map = array_owning(std::move(s.class_map), s.height, s.width, maps_);
    r.probabilities = s.probabilities.empty()
                          ? py::object(py::none())
                          : py::object(hwc_view_owning(std::move(s.probabilities), s.num_classes,
                                                       s.probabilities_height, s.probabilities_width, probabilities_));
    r.times = times_dict(times);
    r.class_names = class_names_, r.palette = palette_;
    return r;
  }

  std::mutex mutex_;
  std::optional<Segmenter> segmenter_;
  py::tuple class_names_;
  py::array palette_;
  std::shared_ptr<BufferPool<std::uint8_t>> maps_ = std::make_shared<BufferPool<std::uint8_t>>();
  std::shared_ptr<BufferPool<float>> probabilities_ = std::make_shared<BufferPool<float>>();
  bool wants_probabilities_[Segmenter::kMaxInFlight] = {};  // per submitted frame, in submission order
  unsigned submitted_ = 0, collected_ = 0;
};

void bind_segmentation(py::module_& m) {
  py::class_<PySegmentation, ClassMapResult>(m, "Segmentation",
                                             "The result of Segmenter.segment() / collect(): owns its arrays")
      .def_readonly("times", &PySegmentation::times, "per-stage times of this frame in ms")
      .def_readonly("num_classes", &PySegmentation::num_classes)
      .def_property_readonly("crf", [](const PySegmentation& s) { return crf_report_dict(s.crf); });
}

}  // namespace

void bind_segmenter(py::module_& m) {
  bind_segmentation(m);
  py::class_<PySegmenter>(m, "Segmenter", "DeepLab segmentation of NumPy frames (docs/python.md)")
      .def(py::init<const std::string&, const std::string&, const std::string&, int, const std::string&,
                    const py::object&, const py::object&, const std::string&>(),
           py::arg("model") = "deeplabv3-mnv2-voc-513", py::arg("device") = "auto", py::arg("precision") = "fp32",
           py::arg("threads") = 0, py::arg("crf") = "off", py::arg("crf_params") = py::none(),
           py::arg("input_size") = py::none(), py::arg("aspect") = "stretch")
      .def("segment", &PySegmenter::segment, py::arg("frame"), py::arg("format") = "",
           py::arg("probabilities") = py::none())
      .def("submit", &PySegmenter::submit, py::arg("frame"), py::arg("format") = "", py::arg("probabilities") = py::none())
      .def("collect", &PySegmenter::collect)
      .def_property_readonly("pending", &PySegmenter::pending)
      .def("reset_stream", &PySegmenter::reset_stream)
      .def("close", &PySegmenter::close)
      .def_property_readonly("closed", &PySegmenter::closed)
      .def_property_readonly("info", &PySegmenter::info)
      .def_property_readonly("class_names", &PySegmenter::class_names)
      .def_property_readonly("palette", &PySegmenter::palette)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PySegmenter& s, py::args) { s.close(); });
  m.attr("MAX_IN_FLIGHT") = Segmenter::kMaxInFlight;
}

}  // namespace deeplab::python
