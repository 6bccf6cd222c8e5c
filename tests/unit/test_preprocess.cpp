// deeplab::Preprocessor against an OpenCV reference: every pixel format, built from a real still
// at awkward (and, for 4:2:0, odd) sizes with padded row strides full of garbage; the reference is
// cv::cvtColor to RGB, cv::resize(INTER_LINEAR) of the float image to the network size, then the
// manifest's normalisation. Both destination layouts (NCHW, NHWC), RGB- and BGR-ordered models,
// up- and down-scaling. Invalid frames must be refused with kInvalidArgument.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "deeplab/error.h"
#include "deeplab/frame.h"
#include "deeplab/manifest.h"
#include "preprocess/preprocess.h"
#include "input_specs.h"
#include "stills.h"

using namespace deeplab;
using deeplab::test::caffe_bgr_spec;
using deeplab::test::imagenet_rgb_spec;
using deeplab::test::tf_rgb_spec;

namespace {

constexpr std::uint8_t kGarbage = 0xAB;
constexpr float kSentinel = -12345.0f;
constexpr int kGuard = 64;  // floats after the tensor that must stay untouched

cv::Mat load_still_rgb(const std::string& name) {
  const cv::Mat bgr = test::load_still(name);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

// An owned frame: the bytes of up to three planes plus the view onto them.
struct OwnedFrame {
  std::vector<std::uint8_t> planes[3];
  FrameView view;
};

int bytes_per_pixel(PixelFormat f) {
  switch (f) {
    case PixelFormat::kRGB:
    case PixelFormat::kBGR: return 3;
    default: return 4;
  }
}

// Packed frame from an RGB image; stride = width*bpp + pad, the padding full of garbage. The 4th
// byte of RGBA/BGRA is a varying alpha, of RGBx/BGRx garbage: neither may leak into the result.
OwnedFrame make_packed(PixelFormat format, const cv::Mat& rgb, int pad) {
  const int bpp = bytes_per_pixel(format);
  const bool bgr = format == PixelFormat::kBGR || format == PixelFormat::kBGRA || format == PixelFormat::kBGRx;
  const bool alpha = format == PixelFormat::kRGBA || format == PixelFormat::kBGRA;
  const int stride = rgb.cols * bpp + pad;
  OwnedFrame f;
  f.planes[0].assign(static_cast<std::size_t>(stride) * rgb.rows, kGarbage);
  for (int y = 0; y < rgb.rows; ++y) {
    const cv::Vec3b* src = rgb.ptr<cv::Vec3b>(y);
    std::uint8_t* row = f.planes[0].data() + static_cast<std::size_t>(y) * stride;
    for (int x = 0; x < rgb.cols; ++x) {
      std::uint8_t* p = row + x * bpp;
      p[0] = src[x][bgr ? 2 : 0];
      p[1] = src[x][1];
      p[2] = src[x][bgr ? 0 : 2];
      if (bpp == 4) p[3] = alpha ? static_cast<std::uint8_t>(x * 7 + y * 13) : kGarbage;
    }
  }
  f.view = FrameView::packed(format, f.planes[0].data(), rgb.cols, rgb.rows, stride);
  return f;
}

// Copies `rows` x `width` bytes from a contiguous plane into a strided, garbage-padded buffer.
std::vector<std::uint8_t> pad_plane(const std::uint8_t* src, int src_stride, int width, int rows, int stride) {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(stride) * rows, kGarbage);
  for (int y = 0; y < rows; ++y)
    std::memcpy(out.data() + static_cast<std::size_t>(y) * stride, src + static_cast<std::size_t>(y) * src_stride, width);
  return out;
}

// A 4:2:0 frame of size w x h (either may be odd) cut from `still` at (ox, oy), plus its
// reference RGB. OpenCV only converts even sizes, so the planes are made for the even size that
// covers the frame: the frame uses the Y rows/columns it covers and every chroma sample; the
// reference is OpenCV's decode of the same planes, cropped to the frame.
struct YuvCase {
  OwnedFrame frame;
  cv::Mat reference_rgb;
};

YuvCase make_yuv(PixelFormat format, const cv::Mat& still, int ox, int oy, int w, int h, int pad) {
  const int we = w + (w & 1), he = h + (h & 1);
  const cv::Mat even = still(cv::Rect(ox, oy, we, he)).clone();
  cv::Mat i420;
  cv::cvtColor(even, i420, cv::COLOR_RGB2YUV_I420);  // (he*3/2) x we, planes Y, U, V contiguous
  const std::uint8_t* y_plane = i420.data;
  const int cw = we / 2, ch = he / 2;
  const std::uint8_t* u_plane = y_plane + static_cast<std::size_t>(we) * he;
  const std::uint8_t* v_plane = u_plane + static_cast<std::size_t>(cw) * ch;
  YuvCase c;
  cv::Mat full_rgb;
  if (format == PixelFormat::kI420) {
    cv::cvtColor(i420, full_rgb, cv::COLOR_YUV2RGB_I420);
    c.frame.planes[0] = pad_plane(y_plane, we, w, h, w + pad);
    c.frame.planes[1] = pad_plane(u_plane, cw, cw, ch, cw + pad + 3);
    c.frame.planes[2] = pad_plane(v_plane, cw, cw, ch, cw + pad + 5);
    c.frame.view = FrameView::i420(c.frame.planes[0].data(), w + pad, c.frame.planes[1].data(), cw + pad + 3,
                                   c.frame.planes[2].data(), cw + pad + 5, w, h);
  } else {
    cv::Mat nv12(he * 3 / 2, we, CV_8UC1);
    std::memcpy(nv12.data, y_plane, static_cast<std::size_t>(we) * he);
    std::uint8_t* uv = nv12.data + static_cast<std::size_t>(we) * he;
    for (int k = 0; k < cw * ch; ++k) {
      uv[2 * k] = u_plane[k];
      uv[2 * k + 1] = v_plane[k];
    }
    cv::cvtColor(nv12, full_rgb, cv::COLOR_YUV2RGB_NV12);
    c.frame.planes[0] = pad_plane(nv12.data, we, w, h, w + pad);
    c.frame.planes[1] = pad_plane(uv, 2 * cw, 2 * cw, ch, 2 * cw + pad + 1);
    c.frame.view = FrameView::nv12(c.frame.planes[0].data(), w + pad, c.frame.planes[1].data(), 2 * cw + pad + 1, w, h);
  }
  c.reference_rgb = full_rgb(cv::Rect(0, 0, w, h)).clone();
  return c;
}

// One code value of the source, in output units (the largest over the channels).
float one_code_value(const InputSpec& s) {
  float m = 0;
  for (int k = 0; k < 3; ++k) m = std::max(m, std::abs(s.scale / s.std[k]));
  return m;
}

// Reference tensor as a CV_32FC3 (net_h x net_w) in the model's channel order, normalised.
cv::Mat reference_tensor(const cv::Mat& rgb, const InputSpec& spec, int net_w, int net_h) {
  cv::Mat ordered;
  if (spec.color == ColorOrder::kBGR) cv::cvtColor(rgb, ordered, cv::COLOR_RGB2BGR);
  else ordered = rgb;
  cv::Mat f, resized;
  ordered.convertTo(f, CV_32FC3);
  cv::resize(f, resized, cv::Size(net_w, net_h), 0, 0, cv::INTER_LINEAR);
  for (int y = 0; y < resized.rows; ++y) {
    cv::Vec3f* p = resized.ptr<cv::Vec3f>(y);
    for (int x = 0; x < resized.cols; ++x)
      for (int k = 0; k < 3; ++k) p[x][k] = (p[x][k] * spec.scale - spec.mean[k]) / spec.std[k];
  }
  return resized;
}

InputTensorLayout layout_for(TensorLayout l, int w, int h) {
  InputTensorLayout t;
  t.width = w;
  t.height = h;
  if (l == TensorLayout::kNCHW) {
    t.channel_stride = static_cast<std::int64_t>(w) * h;
    t.row_stride = w;
    t.col_stride = 1;
  } else {
    t.channel_stride = 1;
    t.row_stride = static_cast<std::int64_t>(w) * 3;
    t.col_stride = 3;
  }
  return t;
}

// Runs the Preprocessor into a sentinel-filled buffer and returns the max abs difference to the
// reference; fails if anything beyond the tensor was written.
double run_and_compare(const FrameView& frame, const InputSpec& spec, TensorLayout layout, const cv::Mat& ref,
                       const std::string& what) {
  const int w = ref.cols, h = ref.rows;
  const InputTensorLayout t = layout_for(layout, w, h);
  std::vector<float> dst(static_cast<std::size_t>(w) * h * 3 + kGuard, kSentinel);
  Preprocessor pre(spec, t);
  pre.run(frame, dst.data());
  double max_diff = 0;
  for (int y = 0; y < h; ++y) {
    const cv::Vec3f* r = ref.ptr<cv::Vec3f>(y);
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < 3; ++k) {
        const float v = dst[k * t.channel_stride + y * t.row_stride + x * t.col_stride];
        max_diff = std::max(max_diff, static_cast<double>(std::abs(v - r[x][k])));
      }
  }
  for (std::size_t k = dst.size() - kGuard; k < dst.size(); ++k) {
    if (dst[k] != kSentinel) {
      ADD_FAILURE() << what << ": wrote past the end of the tensor (float " << k << ")";
      break;
    }
  }
  return max_diff;
}

struct NetSize { int w, h; };
// 257x257: the TF model's input; 129x97: down-scaling; 513x385: up-scaling.
const NetSize kNetSizes[] = {{257, 257}, {129, 97}, {513, 385}};

struct SpecCase { const char* name; InputSpec spec; };
std::vector<SpecCase> spec_cases() {
  return {{"imagenet-RGB", imagenet_rgb_spec()}, {"caffe-BGR", caffe_bgr_spec()}, {"tf-RGB", tf_rgb_spec()}};
}

// Checks one frame against its reference RGB for every network size, layout and spec; records the
// worst difference per format (absolute, and in source code values) for the report.
void check_frame(const std::string& label, const FrameView& frame, const cv::Mat& reference_rgb,
                 std::map<std::string, double>& worst) {
  for (const NetSize& n : kNetSizes)
    for (const SpecCase& sc : spec_cases()) {
      const cv::Mat ref = reference_tensor(reference_rgb, sc.spec, n.w, n.h);
      // YUV: the engine's BT.601 conversion is OpenCV's own fixed-point formula, so the colour
      // conversion is exact and the same float tolerance applies (resize rounding only).
      const double tol = 1e-4;
      for (TensorLayout layout : {TensorLayout::kNCHW, TensorLayout::kNHWC}) {
        const std::string what = label + " -> " + std::to_string(n.w) + "x" + std::to_string(n.h) + " " +
                                 (layout == TensorLayout::kNCHW ? "NCHW " : "NHWC ") + sc.name;
        const double d = run_and_compare(frame, sc.spec, layout, ref, what);
        EXPECT_LE(d, tol) << what;
        // Report in units of one source code value, comparable across normalisations.
        const double in_codes = d / one_code_value(sc.spec);
        const std::string key = std::string(pixel_format_name(frame.format));
        worst[key] = std::max(worst[key], in_codes);
        worst[key + " abs"] = std::max(worst[key + " abs"], d);
      }
    }
}

}  // namespace

TEST(Preprocess, PackedFormatsMatchOpenCV) {
  const cv::Mat still = load_still_rgb("dog.jpg");
  struct FrameSize { int x, y, w, h; };
  // 333x211: awkward, down-scaled horizontally; 97x61: smaller than every network size (up-scaling).
  const FrameSize sizes[] = {{101, 77, 333, 211}, {300, 200, 97, 61}};
  const PixelFormat formats[] = {PixelFormat::kRGB,  PixelFormat::kBGR,  PixelFormat::kRGBA,
                                 PixelFormat::kBGRA, PixelFormat::kRGBx, PixelFormat::kBGRx};
  std::map<std::string, double> worst;
  for (const FrameSize& s : sizes) {
    const cv::Mat rgb = still(cv::Rect(s.x, s.y, s.w, s.h)).clone();
    for (PixelFormat f : formats) {
      const OwnedFrame frame = make_packed(f, rgb, 29);
      check_frame(std::string(pixel_format_name(f)) + " " + std::to_string(s.w) + "x" + std::to_string(s.h), frame.view,
                  rgb, worst);
    }
  }
  for (PixelFormat f : formats)
    std::printf("[preprocess] %-4s max abs diff %.3g (%.3g code values)\n", pixel_format_name(f),
                worst[std::string(pixel_format_name(f)) + " abs"], worst[pixel_format_name(f)]);
}

TEST(Preprocess, Yuv420FormatsMatchOpenCV) {
  const cv::Mat still = load_still_rgb("horses.jpg");
  struct FrameSize { int x, y, w, h; };
  // Odd width and height (the last chroma column/row covers one luma sample), an odd awkward size,
  // and a small even frame that every network size up-scales.
  const FrameSize sizes[] = {{40, 60, 257, 129}, {11, 3, 333, 211}, {500, 300, 98, 62}};
  std::map<std::string, double> worst;
  for (const FrameSize& s : sizes)
    for (PixelFormat f : {PixelFormat::kNV12, PixelFormat::kI420}) {
      const YuvCase c = make_yuv(f, still, s.x, s.y, s.w, s.h, 19);
      check_frame(std::string(pixel_format_name(f)) + " " + std::to_string(s.w) + "x" + std::to_string(s.h),
                  c.frame.view, c.reference_rgb, worst);
    }
  for (const char* f : {"NV12", "I420"})
    std::printf("[preprocess] %-4s max abs diff %.3g (%.3g code values)\n", f, worst[std::string(f) + " abs"],
                worst[f]);
}

// The four-tap fetch must not depend on neighbouring garbage: the same picture with different
// padding bytes gives bit-identical tensors.
TEST(Preprocess, PaddingBytesDoNotLeak) {
  const cv::Mat rgb = load_still_rgb("person.jpg")(cv::Rect(10, 10, 201, 133)).clone();
  OwnedFrame a = make_packed(PixelFormat::kBGRx, rgb, 13);
  OwnedFrame b = make_packed(PixelFormat::kBGRx, rgb, 13);
  const std::size_t stride = static_cast<std::size_t>(b.view.strides[0]);
  for (std::size_t k = 0; k < b.planes[0].size(); ++k) {
    const std::size_t in_row = k % stride;  // the x byte and the row padding are garbage
    if (in_row % 4 == 3 || in_row >= static_cast<std::size_t>(rgb.cols) * 4) b.planes[0][k] = 0x11;
  }
  const InputTensorLayout t = layout_for(TensorLayout::kNCHW, 257, 257);
  std::vector<float> da(257 * 257 * 3), db(257 * 257 * 3);
  Preprocessor pre(imagenet_rgb_spec(), t);
  pre.run(a.view, da.data());
  pre.run(b.view, db.data());
  EXPECT_EQ(0, std::memcmp(da.data(), db.data(), da.size() * sizeof(float)));
}

// Sampling tables are rebuilt when the frame size changes: alternating sizes through one
// Preprocessor gives what fresh Preprocessors give.
TEST(Preprocess, FrameSizeChangesRebuildTables) {
  const cv::Mat still = load_still_rgb("eagle.jpg");
  const cv::Mat big = still(cv::Rect(0, 0, 333, 211)).clone(), small = still(cv::Rect(50, 50, 97, 61)).clone();
  const OwnedFrame fb = make_packed(PixelFormat::kRGB, big, 7), fs = make_packed(PixelFormat::kRGB, small, 7);
  const InputTensorLayout t = layout_for(TensorLayout::kNHWC, 257, 257);
  std::vector<float> ref_b(257 * 257 * 3), ref_s(257 * 257 * 3), out(257 * 257 * 3);
  Preprocessor(tf_rgb_spec(), t).run(fb.view, ref_b.data());
  Preprocessor(tf_rgb_spec(), t).run(fs.view, ref_s.data());
  Preprocessor shared(tf_rgb_spec(), t);
  for (int k = 0; k < 4; ++k) {
    shared.run(k % 2 ? fs.view : fb.view, out.data());
    EXPECT_EQ(0, std::memcmp(out.data(), (k % 2 ? ref_s : ref_b).data(), out.size() * sizeof(float))) << "call " << k;
  }
}

TEST(Preprocess, InvalidFramesAreRejected) {
  std::vector<std::uint8_t> buf(4096 * 64, 0);
  const std::uint8_t* p = buf.data();
  const InputTensorLayout t = layout_for(TensorLayout::kNCHW, 33, 33);
  std::vector<float> dst(33 * 33 * 3);
  Preprocessor pre(imagenet_rgb_spec(), t);
  struct Bad { const char* what; FrameView frame; const char* needle; };
  const Bad cases[] = {
      {"packed null plane", FrameView::packed(PixelFormat::kRGB, nullptr, 16, 16, 48), "null"},
      {"packed stride too small", FrameView::packed(PixelFormat::kRGBA, p, 16, 16, 63), "stride"},
      {"RGB stride too small", FrameView::packed(PixelFormat::kRGB, p, 16, 16, 47), "stride"},
      {"zero width", FrameView::packed(PixelFormat::kRGB, p, 0, 16, 48), "size"},
      {"zero height", FrameView::packed(PixelFormat::kBGRx, p, 16, 0, 64), "size"},
      {"negative width", FrameView::packed(PixelFormat::kRGB, p, -4, 16, 48), "size"},
      {"NV12 null Y", FrameView::nv12(nullptr, 16, p, 16, 16, 16), "null"},
      {"NV12 null UV", FrameView::nv12(p, 16, nullptr, 16, 16, 16), "null"},
      {"NV12 Y stride too small", FrameView::nv12(p, 15, p, 16, 16, 16), "stride"},
      {"NV12 UV stride too small (odd width)", FrameView::nv12(p, 17, p, 17, 17, 16), "stride"},
      {"I420 null V", FrameView::i420(p, 16, p, 8, nullptr, 8, 16, 16), "null"},
      {"I420 U stride too small", FrameView::i420(p, 16, p, 7, p, 8, 16, 16), "stride"},
      {"I420 V stride too small (odd width)", FrameView::i420(p, 17, p, 9, p, 8, 17, 16), "stride"},
      {"I420 zero size", FrameView::i420(p, 16, p, 8, p, 8, 0, 0), "size"},
  };
  for (const Bad& b : cases) {
    try {
      pre.run(b.frame, dst.data());
      ADD_FAILURE() << b.what << ": accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << b.what << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find(b.needle), std::string::npos) << b.what << ": " << e.what();
    }
  }
  // The smallest legal strides are accepted, odd 4:2:0 sizes included.
  EXPECT_NO_THROW(pre.run(FrameView::packed(PixelFormat::kRGB, p, 16, 16, 48), dst.data()));
  EXPECT_NO_THROW(pre.run(FrameView::nv12(p, 17, p, 18, 17, 15), dst.data()));
  EXPECT_NO_THROW(pre.run(FrameView::i420(p, 17, p, 9, p, 9, 17, 15), dst.data()));
  EXPECT_NO_THROW(pre.run(FrameView::packed(PixelFormat::kBGRA, p, 1, 1, 4), dst.data()));
}

TEST(Preprocess, PixelFormatNames) {
  for (const char* name : {"RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx", "NV12", "I420"})
    EXPECT_STREQ(pixel_format_name(pixel_format_from_string(name)), name);
  try {
    pixel_format_from_string("YUY2");
    ADD_FAILURE() << "YUY2 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("YUY2"), std::string::npos) << e.what();
  }
}
