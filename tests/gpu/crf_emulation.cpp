#include "crf_emulation.h"

#include <numeric>
#include <string>
#include <type_traits>

namespace deeplab::test {
namespace {

// The lattice dimensions the tests use: the CRF's 2 and 5, and any other up to the maximum.
template <typename Call>
void with_any_dim(int dim, Call&& call) {
  switch (dim) {
    case 1: call(std::integral_constant<int, 1>{}); return;
    case 2: call(std::integral_constant<int, 2>{}); return;
    case 3: call(std::integral_constant<int, 3>{}); return;
    case 4: call(std::integral_constant<int, 4>{}); return;
    case 5: call(std::integral_constant<int, 5>{}); return;
    case 6: call(std::integral_constant<int, 6>{}); return;
    case 7: call(std::integral_constant<int, 7>{}); return;
    default: break;
  }
  throw Error(ErrorCode::kInternal, "emulated lattice of " + std::to_string(dim) + " dimensions");
}

}  // namespace

void EmulatedLattice::point_view() { buffers_.point(view_, sizes_); }

// Flags (in a shuffled order: each step reads only what earlier kernels wrote), the scan, the
// numbering (also shuffled) and the vertex count.
void EmulatedLattice::number(unsigned race_seed) {
  std::vector<int> order(static_cast<std::size_t>(view_.entries));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(race_seed + 1);
  if (race_seed) std::shuffle(order.begin(), order.end(), rng);
  for (int e : order) cuda::flag_step(view_, e);
  std::exclusive_scan(buffers_.entry_flag.begin(), buffers_.entry_flag.end(), buffers_.entry_first.begin(), 0);
  for (int e : order) cuda::number_step(view_, e);
  view_.vertices = buffers_.counters[cuda::kCounterVertices];
}

const float* EmulatedLattice::splat_blur(const float* in, int stride, const float* point_scale) {
  with_any_dim(view_.dim, [&](auto dim) { splat_blur_dim<decltype(dim)::value>(in, stride, point_scale); });
  return rows_.data();
}

cuda::KernelSlice EmulatedLattice::slice(const float* blurred, float weight) const {
  return cuda::KernelSlice{view_.offsets, view_.weights, view_.norm, blurred, weight};
}

void EmulatedCrf::infer(const CrfImage& image, const float* probabilities, int num_classes, const CrfParams& params,
                        int iterations, bool warm_start, float* q, float position_scale, unsigned race_seed) {
  const int points = image.width * image.height;
  unary_.assign(static_cast<std::size_t>(points) * num_classes, 0.0f);
  for (int i = 0; i < points; ++i) cuda::load_step(probabilities, unary_.data(), q, num_classes, warm_start, i, params.unary_temperature);
  if (iterations == 0) return;
  bilateral_.set_symmetric(symmetric_);
  const bool use_g = params.gaussian_weight > 0, use_b = params.bilateral_weight > 0;
  cuda::BlurSlice blur;  // CudaCrf::gaussian_slice's, with host vectors
  if (use_g) {
    gaussian_.configure(image.width, image.height, params.gaussian_xy_std * position_scale);
    gaussian_cols_.assign(static_cast<std::size_t>(points) * num_classes, 0.0f);
    blur.blur = {image.width, image.height, gaussian_.radius(), num_classes, gaussian_.taps(), gaussian_.inv_sums_x(),
                 gaussian_.inv_sums_y()};
    blur.cols = gaussian_cols_.data();
    blur.weight = params.gaussian_weight;
  }
  if (use_b) {
    cuda::BilateralFeatures f;
    f.rgb = image.rgb;
    f.width = image.width;
    f.stride = image.stride;
    f.inv_xy = 1.0f / (params.bilateral_xy_std * position_scale);
    f.inv_rgb = 1.0f / params.bilateral_rgb_std;
    bilateral_.build(f, points, race_seed);
  }
  cuda::MeanFieldView v;
  v.points = points;
  v.classes = num_classes;
  v.group = cuda::mean_field_group(num_classes);
  v.unary = unary_.data();
  v.q = q;
  for (int it = 0; it < iterations; ++it) {
    // The blur's and the lattice's rows live in their own vectors, so both stay valid through the
    // update (launch_blur_columns, value by value).
    if (use_g) {
      for (std::size_t idx = 0; idx < gaussian_cols_.size(); ++idx)
        cuda::blur_column_step(blur.blur, q, gaussian_cols_.data(), idx);
      v.gaussian = blur;
    }
    if (use_b) {
      const float* rows = bilateral_.splat_blur(q, num_classes);
      v.bilateral = bilateral_.slice(rows, params.bilateral_weight);
    }
    update(v);
  }
}

// mean_field_update_kernel, lane by lane, with its shuffles as butterflies on arrays.
void EmulatedCrf::update(const cuda::MeanFieldView& v) {
  const int group = v.group;
  float m[32][cuda::kMaxClassesPerLane], peak[32], sum[32], other[32];
  for (int i = 0; i < v.points; ++i) {
    for (int lane = 0; lane < group; ++lane)
      peak[lane] = cuda::lane_messages<cuda::kCrfBilateralDim>(v, i, lane, m[lane]);
    for (int offset = group / 2; offset > 0; offset /= 2) {
      for (int lane = 0; lane < group; ++lane) other[lane] = cuda::max_of(peak[lane], peak[lane ^ offset]);
      std::copy(other, other + group, peak);
    }
    for (int lane = 0; lane < group; ++lane) sum[lane] = cuda::lane_exponentials(v, i, lane, peak[lane], m[lane]);
    for (int offset = group / 2; offset > 0; offset /= 2) {
      for (int lane = 0; lane < group; ++lane) other[lane] = cuda::add_rn(sum[lane], sum[lane ^ offset]);
      std::copy(other, other + group, sum);
    }
    for (int lane = 0; lane < group; ++lane) cuda::lane_store(v, i, lane, sum[lane], m[lane]);
  }
}

}  // namespace deeplab::test
