// The fused upsample+argmax must equal the argmax of the materialised resize, bit for bit, and
// the coordinate transforms must follow the ONNX definitions.
#include <gtest/gtest.h>

#include <random>

#include "postprocess/interpolate.h"

using namespace deeplab;

namespace {

std::vector<float> random_logits(int h, int w, int c, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  std::vector<float> v(static_cast<std::size_t>(h) * w * c);
  for (float& x : v) x = dist(rng);
  return v;
}

ResizeAttrs attrs(ResizeAttrs::Mode mode, ResizeAttrs::Coord coord) {
  ResizeAttrs a;
  a.mode = mode;
  a.coord = coord;
  a.nearest = ResizeAttrs::kRoundPreferFloor;
  return a;
}

}  // namespace

TEST(Interpolate, UpsampleArgmaxEqualsArgmaxOfResample) {
  const ResizeAttrs::Coord coords[] = {ResizeAttrs::kHalfPixel, ResizeAttrs::kPytorchHalfPixel,
                                       ResizeAttrs::kAlignCorners, ResizeAttrs::kAsymmetric};
  struct Case { int in_h, in_w, c, out_h, out_w; };
  const Case cases[] = {{33, 33, 21, 257, 257}, {7, 13, 5, 31, 97}, {65, 65, 21, 520, 520}, {4, 6, 1, 9, 10}, {5, 5, 3, 3, 2}};
  for (auto coord : coords)
    for (const Case& k : cases) {
      const auto logits = random_logits(k.in_h, k.in_w, k.c, 11);
      const ResizeAttrs a = attrs(ResizeAttrs::kLinear, coord);
      const float sh = static_cast<float>(k.out_h) / k.in_h, sw = static_cast<float>(k.out_w) / k.in_w;
      const ResampleGeometry geo = make_resample_geometry(k.in_h, k.in_w, k.c, k.out_h, k.out_w, sh, sw, a);
      std::vector<float> scratch(resample_scratch_floats(geo, 64));
      std::vector<float> full(static_cast<std::size_t>(k.out_h) * k.out_w * k.c);
      resample_nhwc(geo, logits.data(), full.data(), scratch.data());
      std::vector<std::uint8_t> classes(static_cast<std::size_t>(k.out_h) * k.out_w);
      upsample_argmax(geo, logits.data(), classes.data(), scratch.data());
      for (int p = 0; p < k.out_h * k.out_w; ++p) {
        int best = 0;
        for (int c = 1; c < k.c; ++c)
          if (full[p * k.c + c] > full[p * k.c + best]) best = c;
        ASSERT_EQ(classes[p], best) << "pixel " << p << " coord " << coord << " case " << k.in_h << "x" << k.in_w;
      }
    }
}

TEST(Interpolate, CoordinateTransformsFollowOnnx) {
  // 4 -> 8 along one axis, linear.
  const auto half = make_axis_sampling(4, 8, 2.0f, ResizeAttrs::kLinear, ResizeAttrs::kHalfPixel, ResizeAttrs::kFloor);
  // x_out = 3: (3.5)/2 - 0.5 = 1.25
  EXPECT_EQ(half.index0[3], 1);
  EXPECT_EQ(half.index1[3], 2);
  EXPECT_FLOAT_EQ(half.weight1[3], 0.25f);
  // x_out = 0: -0.25 clamps to 0
  EXPECT_EQ(half.index0[0], 0);
  EXPECT_FLOAT_EQ(half.weight1[0], 0.0f);
  const auto corners = make_axis_sampling(4, 8, 2.0f, ResizeAttrs::kLinear, ResizeAttrs::kAlignCorners, ResizeAttrs::kFloor);
  // x_out = 7 maps to 3 exactly; x_out = 1 to 3/7
  EXPECT_EQ(corners.index0[7], 3);
  EXPECT_FLOAT_EQ(corners.weight1[1], 3.0f / 7.0f);
  const auto asym = make_axis_sampling(4, 8, 2.0f, ResizeAttrs::kLinear, ResizeAttrs::kAsymmetric, ResizeAttrs::kFloor);
  EXPECT_EQ(asym.index0[3], 1);
  EXPECT_FLOAT_EQ(asym.weight1[3], 0.5f);
  EXPECT_EQ(asym.index1[7], 3);  // 3.5 -> neighbours 3 and 3 (clamped)
  const auto nearest = make_axis_sampling(4, 8, 2.0f, ResizeAttrs::kNearest, ResizeAttrs::kAsymmetric, ResizeAttrs::kFloor);
  EXPECT_EQ(nearest.index0[3], 1);
  EXPECT_EQ(nearest.index0[7], 3);
  const auto prefer_floor =
      make_axis_sampling(2, 4, 2.0f, ResizeAttrs::kNearest, ResizeAttrs::kHalfPixel, ResizeAttrs::kRoundPreferFloor);
  // x_out = 1: 1.5/2 - 0.5 = 0.25 -> 0; x_out = 2: 0.75 -> 1
  EXPECT_EQ(prefer_floor.index0[1], 0);
  EXPECT_EQ(prefer_floor.index0[2], 1);
}

TEST(Interpolate, SoftmaxPlanesSumToOneAndMatchArgmax) {
  const int in_h = 9, in_w = 11, c = 6, out_h = 40, out_w = 37;
  const auto logits = random_logits(in_h, in_w, c, 5);
  const ResizeAttrs a = attrs(ResizeAttrs::kLinear, ResizeAttrs::kHalfPixel);
  const auto geo = make_resample_geometry(in_h, in_w, c, out_h, out_w, float(out_h) / in_h, float(out_w) / in_w, a);
  std::vector<float> scratch(resample_scratch_floats(geo, 64));
  std::vector<float> planes(static_cast<std::size_t>(out_h) * out_w * c);
  std::vector<std::uint8_t> classes(static_cast<std::size_t>(out_h) * out_w);
  upsample_softmax(geo, logits.data(), planes.data(), scratch.data());
  upsample_argmax(geo, logits.data(), classes.data(), scratch.data());
  const int plane = out_h * out_w;
  for (int p = 0; p < plane; ++p) {
    float sum = 0;
    int best = 0;
    for (int k = 0; k < c; ++k) {
      sum += planes[k * plane + p];
      if (planes[k * plane + p] > planes[best * plane + p]) best = k;
    }
    ASSERT_NEAR(sum, 1.0f, 1e-5f);
    ASSERT_EQ(best, classes[p]);
  }
}
