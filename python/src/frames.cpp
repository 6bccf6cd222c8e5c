// NumPy frames as deeplab::FrameView, without copying a pixel. What FrameView can express:
//  - packed formats: an HxWxC uint8 array whose pixels are C bytes apart and channels 1 byte apart
//    (any row stride >= W*C: a crop of a larger image, every other row, ...);
//  - NV12: (Y HxW, UV (H/2)x(W/2)x2 or (H/2)xW) planes, or one (H*3/2)xW array (even H and W);
//  - I420: (Y, U, V) planes, or one C-contiguous (H*3/2)xW array (even H and W), GStreamer's layout.
// Anything else raises deeplab.InvalidArgumentError naming the array and what is wrong with it.
#include "bindings.h"
#include "deeplab/error.h"

#include <climits>
#include <sstream>

namespace deeplab::python {
namespace {

[[noreturn]] void fail(const std::string& what) { throw Error(ErrorCode::kInvalidArgument, what); }

std::string describe(const py::array& a) {
  std::ostringstream text;
  text << "dtype " << std::string(py::str(a.dtype())) << ", shape (";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) text << (i ? ", " : "") << a.shape(i);
  text << "), strides (";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) text << (i ? ", " : "") << a.strides(i);
  text << ")";
  return text.str();
}

// `object` as a uint8 array of `ndim` dimensions whose last dimension is `inner_stride` bytes apart
// and whose rows go forward; the arrays are kept alive by `keep`.
py::array uint8_array(const py::object& object, const char* name, int ndim, std::vector<py::array>& keep) {
  if (!py::isinstance<py::array>(object))
    fail(std::string(name) + ": expected a numpy.ndarray of uint8, got " +
         std::string(py::str(py::type::of(object).attr("__name__"))));
  py::array a = py::reinterpret_borrow<py::array>(object);
  if (!a.dtype().is(py::dtype::of<std::uint8_t>()))
    fail(std::string(name) + ": expected dtype uint8, got " + describe(a));
  if (a.ndim() != ndim) fail(std::string(name) + ": expected " + std::to_string(ndim) + " dimensions, got " + describe(a));
  if (a.strides(0) <= 0 || a.strides(0) > INT_MAX)
    fail(std::string(name) + ": rows must go forward, less than 2 GiB apart; got " + describe(a));
  if (a.shape(0) > INT_MAX || a.shape(1) > INT_MAX) fail(std::string(name) + ": too large: " + describe(a));
  keep.push_back(a);
  return a;
}

// Row stride `a.strides(0)`, element strides as FrameView needs them: channels*1 apart, channels 1 apart.
void require_packed_pixels(const py::array& a, const char* name, int channels) {
  const bool pixels_ok = a.ndim() == 2 ? a.strides(1) == 1 : a.strides(1) == channels && a.strides(2) == 1;
  if (!pixels_ok || a.strides(0) < a.shape(1) * channels)
    fail(std::string(name) + ": pixels must be " + std::to_string(channels) + " byte(s) apart with the channels 1 byte "
         "apart, and rows at least a row's bytes apart (FrameView's layout; np.ascontiguousarray() makes one); got " +
         describe(a));
}

bool is_packed(PixelFormat format) { return format != PixelFormat::kNV12 && format != PixelFormat::kI420; }
int channels_of(PixelFormat format) {
  return format == PixelFormat::kRGB || format == PixelFormat::kBGR ? 3 : 4;
}

FrameView packed_frame(const py::object& object, std::string format, std::vector<py::array>& keep) {
  py::array a = uint8_array(object, "frame", 3, keep);
  if (format.empty()) format = a.shape(2) == 4 ? "RGBA" : "RGB";
  const PixelFormat pixel_format = pixel_format_from_string(format.c_str());
  if (!is_packed(pixel_format)) fail("frame: format " + format + " takes planes (see docs/python.md), got " + describe(a));
  const int channels = channels_of(pixel_format);
  if (a.shape(2) != channels)
    fail("frame: format " + format + " needs HxWx" + std::to_string(channels) + " arrays, got " + describe(a));
  require_packed_pixels(a, "frame", channels);
  return FrameView::packed(pixel_format, static_cast<const std::uint8_t*>(a.data()), static_cast<int>(a.shape(1)),
                           static_cast<int>(a.shape(0)), static_cast<int>(a.strides(0)));
}

// A chroma plane of NV12 (UV interleaved: (h, w, 2) or (h, 2w)) or I420 (h, w), of the size it must have.
const std::uint8_t* chroma_plane(const py::object& object, const char* name, bool interleaved, int h, int w, int& stride,
                                 std::vector<py::array>& keep) {
  const bool three_d = py::isinstance<py::array>(object) && py::reinterpret_borrow<py::array>(object).ndim() == 3;
  const int ndim = interleaved && three_d ? 3 : 2;
  py::array a = uint8_array(object, name, ndim, keep);
  const bool split_pairs = ndim == 3;
  const int row_elements = interleaved && !split_pairs ? 2 * w : w;
  if (a.shape(0) != h || a.shape(1) != row_elements || (split_pairs && a.shape(2) != 2))
    fail(std::string(name) + ": expected " + std::to_string(h) + "x" + std::to_string(row_elements) +
         (split_pairs ? "x2" : "") + " for this Y plane, got " + describe(a));
  require_packed_pixels(a, name, split_pairs ? 2 : 1);
  stride = static_cast<int>(a.strides(0));
  return static_cast<const std::uint8_t*>(a.data());
}

FrameView planar_from_tuple(const py::sequence& planes, PixelFormat format, std::vector<py::array>& keep) {
  const bool nv12 = format == PixelFormat::kNV12;
  const std::size_t expected = nv12 ? 2 : 3;
  if (planes.size() != expected)
    fail(std::string("frame: ") + pixel_format_name(format) + " takes " + std::to_string(expected) + " planes, got " +
         std::to_string(planes.size()));
  py::array y = uint8_array(planes[0], "frame plane Y", 2, keep);
  require_packed_pixels(y, "frame plane Y", 1);
  const int width = static_cast<int>(y.shape(1)), height = static_cast<int>(y.shape(0));
  const int cw = (width + 1) / 2, ch = (height + 1) / 2;
  const auto* luma = static_cast<const std::uint8_t*>(y.data());
  const int luma_stride = static_cast<int>(y.strides(0));
  int s1 = 0, s2 = 0;
  if (nv12) {
    const std::uint8_t* uv = chroma_plane(planes[1], "frame plane UV", true, ch, cw, s1, keep);
    return FrameView::nv12(luma, luma_stride, uv, s1, width, height);
  }
  const std::uint8_t* u = chroma_plane(planes[1], "frame plane U", false, ch, cw, s1, keep);
  const std::uint8_t* v = chroma_plane(planes[2], "frame plane V", false, ch, cw, s2, keep);
  return FrameView::i420(luma, luma_stride, u, s1, v, s2, width, height);
}

// One (H*3/2)xW array, GStreamer's NV12 / I420 frame layout for even sizes.
FrameView planar_from_array(const py::object& object, PixelFormat format, std::vector<py::array>& keep) {
  py::array a = uint8_array(object, "frame", 2, keep);
  require_packed_pixels(a, "frame", 1);
  const py::ssize_t rows = a.shape(0), width = a.shape(1), stride = a.strides(0);
  const py::ssize_t height = rows * 2 / 3;
  const bool i420 = format == PixelFormat::kI420;
  if (rows % 3 != 0 || height % 2 != 0 || width % 2 != 0 || (i420 && stride != width))
    fail(std::string("frame: a single ") + pixel_format_name(format) + " array must be (H*3/2)xW with even H and W" +
         (i420 ? " and C-contiguous" : "") + " (or pass the planes as a tuple); got " + describe(a));
  const auto* y = static_cast<const std::uint8_t*>(a.data());
  const auto* chroma = y + height * stride;
  if (!i420) return FrameView::nv12(y, int(stride), chroma, int(stride), int(width), int(height));
  const py::ssize_t quarter = (width / 2) * (height / 2);
  return FrameView::i420(y, int(stride), chroma, int(width / 2), chroma + quarter, int(width / 2), int(width),
                         int(height));
}

}  // namespace

FrameView frame_from_python(const py::object& frame, const std::string& format, std::vector<py::array>& keep) {
  if (format.empty() || is_packed(pixel_format_from_string(format.c_str()))) return packed_frame(frame, format, keep);
  const PixelFormat planar = pixel_format_from_string(format.c_str());
  if (py::isinstance<py::tuple>(frame) || py::isinstance<py::list>(frame))
    return planar_from_tuple(py::reinterpret_borrow<py::sequence>(frame), planar, keep);
  return planar_from_array(frame, planar, keep);
}

}  // namespace deeplab::python
