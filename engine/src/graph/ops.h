// The op table: one OpDef per op the engine knows, holding everything the engine decides per op —
// constant folding, shape inference, the layout rule (and with it the storage aliasing rule), and
// which backend kernel family runs it. The importers (ONNX, TFLite) emit Node::op names from this
// table; the backends dispatch on OpDef::kernel in one place each (cpu/kernel_table.cpp,
// cuda/network_plan.cpp). Adding an op: docs/engine.md, "Adding an op".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace deeplab {

class FoldContext;  // graph/fold_context.h

// The kernel family that runs a node, for the backends' dispatch. kNone: nothing runs it (the op
// must fold away or be removed by a pass before the backends see the graph).
enum class OpKernel {
  kNone,
  kConv,        // Conv
  kPool,        // MaxPool, AveragePool
  kGlobalPool,  // GlobalAveragePool, GlobalMaxPool
  kResize,      // Resize, Upsample
  kUnary,       // an Activation (OpDef::activation) over contiguous data
  kBinary,      // OpDef::binary, numpy broadcasting over any layouts
  kBatchNorm,   // a BatchNormalization not folded into a conv
  kConcat,
  kTranspose,
  kRelayout,    // Reorder, Reshape, Flatten, Squeeze, Unsqueeze: copy in logical order (or alias)
  kPad,         // Pad (constant): the fill value, then the input copied inside
};

// How assign_layouts() chooses the output's physical layout, and (kTranspose, kReshape, kReorder)
// when the memory plan lets the output share its input's storage (alias_source).
enum class LayoutRule {
  kFollowInput,   // output as input 0
  kChannelsLast,  // input 0 converted to channels-last, output channels-last (Conv, pools, BN)
  kResize,        // channels-last unless the scaled axes are already the middle ones (NHWC logical)
  kBinary,        // as an operand of the output's shape, else plain
  kConcat,        // every input converted to input 0's layout
  kTranspose,     // NCHW<->NHWC permutations of the other layout alias their input
  kReshape,       // plain input (converted unless the layouts coincide), plain output; aliases
  kPlain,         // plain input and output (Softmax)
  kReorder,       // the layout conversion assign_layouts inserts; aliases when the strides agree
};

enum class BinaryKind { kAdd, kSub, kMul, kDiv, kMax, kMin };

// A small constant tensor for folding shape arithmetic (and the odd constant float expression).
struct ConstTensor {
  bool is_int = false;
  std::vector<std::int64_t> shape;
  std::vector<double> data;
  std::int64_t count() const;
};

// Evaluates a node whose inputs are all constant (see graph/fold_context.h).
using FoldFn = ConstTensor (*)(const FoldContext& c);
// Shape of output 0 of a node that runs; every input shape is known.
using ShapeFn = std::vector<std::int64_t> (*)(const Graph& g, const Node& n);

struct OpDef {
  std::string name;
  FoldFn fold = nullptr;       // nullptr: never folded
  bool fold_on_shape = false;  // folds once input 0's shape is known (Shape), not its data
  ShapeFn shape = nullptr;     // nullptr: the engine cannot run it ("not supported by this engine")
  bool float_inputs = false;   // the kernels read every input, constants too, as float
  bool extra_outputs = false;  // outputs after the first may be used (Dropout's mask)
  bool identity = false;       // output equals input 0; removed by remove_identities()
  LayoutRule layout = LayoutRule::kFollowInput;
  OpKernel kernel = OpKernel::kNone;
  Activation::Kind activation = Activation::kNone;  // kUnary ops, and what a conv may fuse
  BinaryKind binary = BinaryKind::kAdd;                   // kBinary ops
  bool reduce_max = false;     // pools: max, not average
  bool upsample = false;       // Upsample (opsets 7, 9): scales only, asymmetric coordinates

  explicit OpDef(std::string op_name) : name(std::move(op_name)) {}
  // Builders for the table (graph/ops.cpp).
  OpDef& folds(FoldFn f) { fold = f; return *this; }
  OpDef& runs(ShapeFn f, OpKernel k, LayoutRule l = LayoutRule::kFollowInput) {
    shape = f;
    kernel = k;
    layout = l;
    return *this;
  }
};

// The entry for `op`, or nullptr for an op the engine does not know.
const OpDef* op_def(const std::string& op);
// The entry for the node's op; a node whose op is unknown gets an empty entry (runs nothing).
const OpDef& op_def(const Node& n);

// Every entry, in table order (for docs and tests).
const std::vector<OpDef>& op_table();

}  // namespace deeplab
