// Graph rewrites run after constant folding / shape inference, in this order by optimize_graph().
#pragma once

#include "graph/attrs.h"
#include "graph/graph.h"

namespace deeplab {

struct FinalResizeInfo {
  bool removed = false;
  ResizeAttrs attrs;        // of the removed Resize/Upsample
  int logits_value = -1;    // the graph output after removal (low-resolution logits)
};

void remove_identities(Graph& g);          // Identity, Dropout
void fold_batchnorm_into_conv(Graph& g);   // Conv -> BatchNormalization
void fuse_hardswish(Graph& g);             // x * HardSigmoid(x; 1/6, 0.5) -> HardSwish(x)
void fuse_conv_add(Graph& g);              // Conv -> Add(same shape) : residual post-op
void fuse_conv_activation(Graph& g);       // Conv -> Relu | Clip | Sigmoid | HardSigmoid | HardSwish
// Finds the graph output's Resize back to the network input size (possibly followed by a
// layout-only Transpose) and removes it, so the network yields logits at its own stride.
FinalResizeInfo remove_final_resize(Graph& g);
// Chooses each activation's physical layout (see Layout) and inserts Reorder nodes where an op
// needs another layout than its producer gives.
void assign_layouts(Graph& g);

struct OptimizeOptions {
  bool remove_final_resize = true;
  bool fuse = true;  // BatchNorm folding and Conv fusions (off: for tests that compare both)
};
FinalResizeInfo optimize_graph(Graph& g, const OptimizeOptions& options);

// Is `perm` the NCHW->NHWC ([0,2,3,1]) or NHWC->NCHW ([0,3,1,2]) permutation?
bool is_to_nhwc(const std::vector<std::int64_t>& perm);
bool is_to_nchw(const std::vector<std::int64_t>& perm);

}  // namespace deeplab
