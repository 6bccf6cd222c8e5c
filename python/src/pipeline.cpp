// deeplab.Pipeline: a YAML pipeline (docs/pipelines.md) whose appsink outputs call a Python function.
//
// run() releases the GIL for the whole run; the frame callback, called from GStreamer's streaming
// thread, takes it back. A frame's arrays (the image planes, the mask) are views into the frame's
// buffer and hold a reference to it, so they stay valid even if kept after the callback (the
// buffer then stays out of its pool: copy what you keep for long). An exception in the callback
// stops the run and run() raises that same exception; so does Ctrl-C (KeyboardInterrupt).
#include <chrono>
#include <future>
#include <memory>

#include "bindings.h"
#include "deeplab/pipeline.h"

namespace deeplab::python {
namespace {

struct PyFrame {
  std::string output;
  std::uint64_t index = 0;
  py::object pts;    // nanoseconds, or None
  std::string format;
  int width = 0, height = 0;
  py::object image;  // HxWxC / HxW uint8, a tuple of planes (YUV formats), read-only views
  py::object mask;   // deeplab.Mask, or None
};

int bytes_per_pixel(std::string_view format) {
  if (format == "RGB" || format == "BGR") return 3;
  if (format == "GRAY8") return 1;
  if (format.size() == 4 && (format.find('x') != std::string_view::npos || format.find('A') != std::string_view::npos))
    return 4;  // RGBA, BGRx, xRGB, ARGB, ...
  return 0;    // planar
}

py::object image_of(const OutputFrame& f, GstBuffer* buffer) {
  const int bpp = bytes_per_pixel(f.format);
  const py::ssize_t h = f.height, w = f.width;
  if (bpp == 1) return buffer_view(buffer, f.planes[0], {h, w}, {f.strides[0], 1});
  if (bpp > 1) return buffer_view(buffer, f.planes[0], {h, w, bpp}, {f.strides[0], bpp, 1});
  py::tuple planes(f.n_planes);  // 4:2:0 formats: the chroma planes have half the rows
  for (int p = 0; p < f.n_planes; ++p)
    planes[p] = buffer_view(buffer, f.planes[p], {p == 0 ? h : (h + 1) / 2, f.strides[p]}, {f.strides[p], 1});
  return planes;
}

PyFrame frame_of(const OutputFrame& f) {
  GstBuffer* buffer = gst_sample_get_buffer(f.sample);
  PyFrame frame;
  frame.output = std::string(f.output), frame.index = f.index, frame.format = std::string(f.format);
  frame.pts = GST_CLOCK_TIME_IS_VALID(f.pts) ? py::object(py::int_(f.pts)) : py::object(py::none());
  frame.width = f.width, frame.height = f.height;
  frame.image = image_of(f, buffer);
  frame.mask = mask_of_buffer(buffer);
  return frame;
}

// "a.b=value" strings from a dict (values that are not str are written as JSON, which YAML reads)
// or a list of such strings.
std::vector<std::string> override_list(const py::object& overrides) {
  std::vector<std::string> list;
  if (overrides.is_none()) return list;
  if (!py::isinstance<py::dict>(overrides)) return overrides.cast<std::vector<std::string>>();
  py::object dumps = py::module_::import("json").attr("dumps");
  for (const auto& item : overrides.cast<py::dict>()) {
    const py::handle v = item.second;
    const std::string value = py::isinstance<py::str>(v) ? v.cast<std::string>() : dumps(v).cast<std::string>();
    list.push_back(std::string(py::str(item.first)) + "=" + value);
  }
  return list;
}

Pipeline make_pipeline(const std::string& config, const py::object& overrides) {
  const std::vector<std::string> list = override_list(overrides);
  const bool text = config.find('\n') != std::string::npos;  // a YAML document, not a path
  return text ? Pipeline::from_string(config, list) : Pipeline::from_file(config, list);
}

py::dict stats_dict(const RunStats& s) {
  py::dict d;
  d["frames"] = s.frames, d["seconds"] = s.seconds, d["fps"] = s.fps, d["dropped"] = s.dropped;
  d["latency_mean_ms"] = s.latency_mean_ms, d["latency_p95_ms"] = s.latency_p95_ms;
  d["latency_max_ms"] = s.latency_max_ms, d["stopped"] = s.stopped;
  py::list outputs;
  for (const OutputStats& o : s.outputs)
    outputs.append(py::dict(py::arg("name") = o.name, py::arg("type") = o.type, py::arg("target") = o.target,
                            py::arg("frames") = o.frames, py::arg("removed") = o.removed));
  d["outputs"] = outputs;
  return d;
}

class PyPipeline {
 public:
  PyPipeline(const std::string& config, const py::object& overrides) : pipeline_(make_pipeline(config, overrides)) {}

  void on_frame(py::object callback) {
    callback_ = std::move(callback);
    pipeline_.on_frame([this](const OutputFrame& f) { deliver(f); });
  }

  // The run goes on in a thread of its own while this one waits with the GIL released, waking up
  // to let Python handle signals: Ctrl-C (KeyboardInterrupt) stops the pipeline and is raised here.
  py::dict run(bool progress) {
    RunOptions options;
    options.progress = progress;
    std::future<RunStats> running = std::async(std::launch::async, [this, options] { return pipeline_.run(options); });
    while (!finished(running)) {
      if (PyErr_CheckSignals() == 0) continue;
      pipeline_.stop();
      finished(running, true);
      throw py::error_already_set();  // the signal handler's exception
    }
    try {
      return stats_dict(running.get());
    } catch (const Error&) {
      raise_callback_error();  // the callback's own exception, rather than the Error that wraps it
      throw;
    }
  }

  void stop() { pipeline_.stop(); }
  std::string launch_line() const { return pipeline_.launch_line(); }
  bool is_live() const { return pipeline_.is_live(); }
  void check() const { pipeline_.check(); }

 private:
  void deliver(const OutputFrame& f) {
    py::gil_scoped_acquire gil;
    try {
      callback_(frame_of(f));
    } catch (py::error_already_set& e) {
      const std::string what = e.what();
      callback_error_ = std::make_unique<py::error_already_set>(std::move(e));
      throw Error(ErrorCode::kInvalidArgument, "the frame callback raised " + what);
    }
  }

  static bool finished(std::future<RunStats>& running, bool wait_all = false) {
    py::gil_scoped_release release;
    if (wait_all) running.wait();
    return running.wait_for(std::chrono::milliseconds(100)) == std::future_status::ready;
  }

  void raise_callback_error() {
    if (!callback_error_) return;
    std::unique_ptr<py::error_already_set> e = std::move(callback_error_);
    throw std::move(*e);
  }

  Pipeline pipeline_;
  py::object callback_;
  std::unique_ptr<py::error_already_set> callback_error_;
};

}  // namespace

void bind_pipeline(py::module_& m) {
  py::class_<PyFrame>(m, "Frame", "One frame at an appsink output, delivered to Pipeline.on_frame's callback")
      .def_readonly("output", &PyFrame::output)
      .def_readonly("index", &PyFrame::index)
      .def_readonly("pts", &PyFrame::pts)
      .def_readonly("format", &PyFrame::format)
      .def_readonly("width", &PyFrame::width)
      .def_readonly("height", &PyFrame::height)
      .def_readonly("image", &PyFrame::image)
      .def_readonly("mask", &PyFrame::mask);
  py::class_<PyPipeline>(m, "Pipeline", "A YAML pipeline (docs/pipelines.md) with Python frame callbacks")
      .def(py::init<const std::string&, const py::object&>(), py::arg("config"), py::arg("overrides") = py::none())
      .def("on_frame", &PyPipeline::on_frame, py::arg("callback"))
      .def("run", &PyPipeline::run, py::arg("progress") = false)
      .def("stop", &PyPipeline::stop)
      .def("check", &PyPipeline::check)
      .def_property_readonly("launch_line", &PyPipeline::launch_line)
      .def_property_readonly("is_live", &PyPipeline::is_live);
}

}  // namespace deeplab::python
