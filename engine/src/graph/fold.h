#pragma once

#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace deeplab {

// Fixes the graph input to `input_shape` (dynamic dims take these values; fixed dims must agree),
// then walks the nodes in order: every node whose inputs are all constant (including Shape of a
// tensor whose shape is now known) is evaluated and replaced by its constant result; every other
// node gets its output shapes inferred. Throws kUnsupported naming the first op the engine cannot
// run, kModelCorrupt for inconsistent shapes.
void fold_constants_and_infer_shapes(Graph& g, const std::vector<std::int64_t>& input_shape);

// Shapes produced by broadcasting a and b (numpy rules); throws kModelCorrupt via `where`.
std::vector<std::int64_t> broadcast_shapes(const std::vector<std::int64_t>& a,
                                           const std::vector<std::int64_t>& b, const std::string& where);

}  // namespace deeplab
