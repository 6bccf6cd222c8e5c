// deeplab.Error and one subclass per deeplab::ErrorCode: every engine failure reaches Python as an
// exception carrying the engine's code (`.code`, e.g. "not_found") and its message, which names the
// file, node or option at fault.
#include <array>

#include "bindings.h"
#include "deeplab/error.h"
#ifdef DEEPLAB_PYTHON_WITH_GST
#include "deeplab/pipeline.h"
#endif

namespace deeplab::python {
namespace {

struct ErrorClass {
  ErrorCode code;
  const char* code_name;    // `.code`
  const char* class_name;   // deeplab.<class_name>
};

constexpr std::array<ErrorClass, 9> kErrorClasses = {{
    {ErrorCode::kInvalidArgument, "invalid_argument", "InvalidArgumentError"},
    {ErrorCode::kNotFound, "not_found", "NotFoundError"},
    {ErrorCode::kModelCorrupt, "model_corrupt", "ModelCorruptError"},
    {ErrorCode::kUnsupported, "unsupported", "UnsupportedError"},
    {ErrorCode::kManifestMismatch, "manifest_mismatch", "ManifestMismatchError"},
    {ErrorCode::kDevice, "device", "DeviceError"},
    {ErrorCode::kIo, "io", "IoError"},
    {ErrorCode::kOutOfMemory, "out_of_memory", "OutOfMemoryError"},
    {ErrorCode::kInternal, "internal", "InternalError"},
}};

// The classes, created once at import; owned by the module (never freed: the module is never unloaded).
PyObject* g_classes[kErrorClasses.size()] = {};
PyObject* g_config_error = nullptr;

PyObject* new_class(py::module_& m, const char* name, PyObject* bases, const char* doc) {
  const std::string qualified = std::string("deeplab.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (!type) throw py::error_already_set();
  m.add_object(name, py::handle(type));  // add_object steals nothing: the module gets its own reference
  return type;
}

// Raises `type(message)` with `.code` set.
void raise(PyObject* type, const char* code_name, const char* message) {
  PyObject* exc = PyObject_CallFunction(type, "s", message);
  if (!exc) return;  // the call set its own error
  PyObject_SetAttrString(exc, "code", py::str(code_name).ptr());
  PyErr_SetObject(type, exc);
  Py_DECREF(exc);
}

void translate(std::exception_ptr error) {
  try {
    if (error) std::rethrow_exception(error);
#ifdef DEEPLAB_PYTHON_WITH_GST
  } catch (const ConfigError& e) {
    raise(g_config_error, "invalid_argument", e.what());
#endif
  } catch (const Error& e) {
    for (std::size_t i = 0; i < kErrorClasses.size(); ++i)
      if (kErrorClasses[i].code == e.code()) return raise(g_classes[i], kErrorClasses[i].code_name, e.what());
    raise(g_classes[kErrorClasses.size() - 1], "internal", e.what());
  }
}

}  // namespace

void bind_errors(py::module_& m) {
  PyObject* base = new_class(m, "Error", PyExc_RuntimeError,
                             "An engine error: `.code` names its kind (e.g. 'not_found'); the message names "
                             "the file, node or option at fault.");
  for (std::size_t i = 0; i < kErrorClasses.size(); ++i) {
    // Invalid arguments are also ValueErrors, so that code catching ValueError keeps working.
    py::tuple bases = kErrorClasses[i].code == ErrorCode::kInvalidArgument
                          ? py::make_tuple(py::handle(base), py::handle(PyExc_ValueError))
                          : py::make_tuple(py::handle(base));
    g_classes[i] = new_class(m, kErrorClasses[i].class_name, bases.ptr(), nullptr);
  }
  g_config_error = new_class(m, "ConfigError", g_classes[0],
                             "A pipeline configuration that cannot be used: 'FILE:LINE:COLUMN: key: what'.");
  py::register_exception_translator(&translate);
}

}  // namespace deeplab::python
