#pragma once

#include <cstddef>
#include <string>

#include "graph/graph.h"

namespace deeplab {

// Parses an ONNX model into the engine's graph IR. Constant nodes and initializers become constant
// values; nothing is folded or fused yet. Throws deeplab::Error (kNotFound, kIo, kModelCorrupt,
// kUnsupported) naming the file and, where it applies, the node or op.
Graph import_onnx_file(const std::string& path);
Graph import_onnx_bytes(const void* data, std::size_t size, const std::string& source_name);

}  // namespace deeplab
