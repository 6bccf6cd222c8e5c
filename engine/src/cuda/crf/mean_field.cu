#include "cuda/crf/mean_field.cuh"

#include "cuda/crf/crf_device.cuh"
#include "cuda/launch.cuh"

namespace deeplab::cuda {
namespace {

__global__ void mean_field_load_kernel(const float* probabilities, float* unary, float* q, int points, int classes,
                                       bool warm_start, float temperature) {
  const std::int64_t i = global_thread();
  if (i < points) load_step(probabilities, unary, q, classes, warm_start, static_cast<int>(i), temperature);
}

// v.group lanes per pixel. Lanes past the last pixel compute a copy of the last pixel's update
// (and write nothing) instead of returning, so that every lane of a warp takes part in the
// shuffles.
__global__ void mean_field_update_kernel(MeanFieldView v) {
  const std::int64_t t = global_thread();
  const int lane = static_cast<int>(t % v.group);
  const std::int64_t pixel = t / v.group;
  const bool valid = pixel < v.points;
  const int i = valid ? static_cast<int>(pixel) : v.points - 1;
  float m[kMaxClassesPerLane];
  float peak = lane_messages<kCrfBilateralDim>(v, i, lane, m);
  for (int offset = v.group / 2; offset > 0; offset /= 2)
    peak = max_of(peak, __shfl_xor_sync(0xffffffffu, peak, offset, v.group));
  float sum = lane_exponentials(v, i, lane, peak, m);
  for (int offset = v.group / 2; offset > 0; offset /= 2)
    sum = add_rn(sum, __shfl_xor_sync(0xffffffffu, sum, offset, v.group));
  if (valid) lane_store(v, i, lane, sum, m);
}

}  // namespace

void launch_mean_field_load(const float* probabilities, float* unary, float* q, int points, int classes,
                            bool warm_start, float temperature, cudaStream_t stream) {
  launch_1d("mean_field_load_kernel", points, kCrfBlock, stream, mean_field_load_kernel, probabilities, unary, q,
            points, classes, warm_start, temperature);
}

void launch_mean_field_update(const MeanFieldView& v, cudaStream_t stream) {
  if (v.group != mean_field_group(v.classes))
    throw Error(ErrorCode::kInternal, "launch_mean_field_update: a group of " + std::to_string(v.group) +
                                          " lanes for " + std::to_string(v.classes) + " classes");
  launch_1d("mean_field_update_kernel", static_cast<std::int64_t>(v.points) * v.group, kCrfBlock, stream,
            mean_field_update_kernel, v);
}

}  // namespace deeplab::cuda
