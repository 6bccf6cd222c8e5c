// NumPy arrays over memory that C++ owns. A class map or probability buffer moved out of a
// deeplab::Segmentation is handed to a capsule that becomes the array's base: the array owns it
// without a copy and gives it back to its pool (buffer_pool.h) with its last reference.
#include <memory>
#include <utility>

#include "bindings.h"

namespace deeplab::python {
namespace {

template <typename T>
py::capsule capsule_owning(std::vector<T>&& data, std::shared_ptr<BufferPool<T>> pool) {
  auto owned = std::make_unique<PooledBuffer<T>>(std::move(data), std::move(pool));
  py::capsule capsule(owned.get(), [](void* p) { delete static_cast<PooledBuffer<T>*>(p); });
  owned.release();  // the capsule owns it now
  return capsule;
}

}  // namespace

void make_read_only(py::array& array) { array.attr("setflags")(py::arg("write") = false); }

py::array_t<std::uint8_t> array_owning(std::vector<std::uint8_t>&& data, int height, int width,
                                       std::shared_ptr<BufferPool<std::uint8_t>> pool) {
  const std::uint8_t* pointer = data.data();
  py::capsule owner = capsule_owning(std::move(data), std::move(pool));  // moving a vector keeps its buffer: `pointer` stays
  return py::array_t<std::uint8_t>({py::ssize_t{height}, py::ssize_t{width}}, pointer, owner);
}

py::array hwc_view_owning(std::vector<float>&& planes, int channels, int height, int width,
                          std::shared_ptr<BufferPool<float>> pool) {
  const float* pointer = planes.data();
  py::capsule owner = capsule_owning(std::move(planes), std::move(pool));
  return float_chw_as_hwc(pointer, channels, height, width, owner);
}

py::array uint8_view(const std::uint8_t* data, std::vector<py::ssize_t> shape, std::vector<py::ssize_t> strides,
                     py::handle owner) {
  py::array array(py::dtype::of<std::uint8_t>(), std::move(shape), std::move(strides), data, owner);
  make_read_only(array);
  return array;
}

// The engine's probabilities are CHW planes; NumPy's HxWxC view of them is a transpose by strides.
py::array float_chw_as_hwc(const float* data, int channels, int height, int width, py::handle owner) {
  const py::ssize_t f = sizeof(float);
  py::array array(py::dtype::of<float>(), {py::ssize_t{height}, py::ssize_t{width}, py::ssize_t{channels}},
                  {f * width, f, f * width * height}, data, owner);
  make_read_only(array);
  return array;
}

py::array palette_array(const std::uint8_t* rgb, int num_classes) {
  py::array_t<std::uint8_t> palette({py::ssize_t{num_classes}, py::ssize_t{3}});
  if (num_classes > 0) std::copy(rgb, rgb + 3 * num_classes, palette.mutable_data());
  py::array array = palette;
  make_read_only(array);
  return array;
}

py::tuple names_tuple(const char* const* names, int num_classes) {
  py::tuple tuple(num_classes);
  for (int c = 0; c < num_classes; ++c) tuple[c] = py::str(names && names[c] ? names[c] : std::to_string(c));
  return tuple;
}

py::tuple names_tuple(const std::vector<std::string>& names) {
  py::tuple tuple(names.size());
  for (std::size_t c = 0; c < names.size(); ++c) tuple[c] = py::str(names[c]);
  return tuple;
}

void bind_class_map(py::module_& m) {
  py::class_<ClassMapResult>(m, "ClassMap", "A frame's class map and the model's classes (Segmentation, Mask)")
      .def_readonly("class_map", &ClassMapResult::class_map, "HxW uint8 class ids at the frame's size")
      .def_readonly("probabilities", &ClassMapResult::probabilities,
                    "HxWxC float32 softmax probabilities (read-only) when there are any, else None")
      .def_readonly("class_names", &ClassMapResult::class_names)
      .def_readonly("palette", &ClassMapResult::palette, "Cx3 uint8 RGB overlay colours")
      .def_readonly("width", &ClassMapResult::width)
      .def_readonly("height", &ClassMapResult::height)
      .def("__repr__", [](py::object self) {
        const auto& r = self.cast<const ClassMapResult&>();
        return "<deeplab." + std::string(py::str(py::type::of(self).attr("__name__"))) + " " +
               std::to_string(r.width) + "x" + std::to_string(r.height) + ">";
      });
}

}  // namespace deeplab::python
