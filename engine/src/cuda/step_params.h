// The parameters of each CUDA network step, read from the graph on the host (cuda/cuda_steps.cpp
// adds the device pointers). Plain C++: the unit tests run the per-element code of cuda/net_ops.h
// with exactly these parameters on the CPU and compare with the CPU backend.
#pragma once

#include <cstdint>
#include <vector>

#include "cuda/net_ops.h"
#include "graph/graph.h"
#include "postprocess/interpolate.h"

namespace deeplab::cuda {

// Strides (elements, per logical dim) of an operand: constants are uploaded row-major, activations
// live in their physical layout.
std::vector<std::int64_t> operand_strides(const Graph& g, int value);

// One input of a Concat: copied along `params` from the input into the output at `dst_offset`
// elements.
struct ConcatPart {
  int value = -1;
  CopyParams params;
  std::int64_t dst_offset = 0;
};
std::vector<ConcatPart> concat_parts(const Graph& g, const Node& n);

// Transpose (perm, default reversed) from the input's layout into the output's.
CopyParams transpose_params(const Graph& g, const Node& n);
// Reorder and reshapes that do not alias: logical element order kept.
CopyParams relayout_params(const Graph& g, const Node& n);

BinaryParams binary_params(const Graph& g, const Node& n);
PoolParams pool_params(const Graph& g, const Node& n);

struct GlobalPoolShape {
  int batch = 1, channels = 0;
  std::int64_t pixels = 0;
  bool max = false;
};
GlobalPoolShape global_pool_shape(const Graph& g, const Node& n);

// The CPU's ResizeKernel geometry (make_resample_geometry over the node's two spatial axes).
ResampleGeometry resize_geometry(const Graph& g, const Node& n);
// ResizeParams over `geo` with host pointers to its tables (the host tests; the GPU step points
// at device copies instead).
ResizeParams resize_params(const ResampleGeometry& geo, int batch = 1);

// A standalone BatchNormalization as y = x * scale[c] + shift[c] (the CPU's BatchNormKernel).
struct ChannelAffine {
  int channels = 0;
  std::int64_t count = 0;
  std::vector<float> scale, shift;
};
ChannelAffine batchnorm_affine(const Graph& g, const Node& n);

}  // namespace deeplab::cuda
