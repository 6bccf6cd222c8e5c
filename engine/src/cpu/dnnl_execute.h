// Running a oneDNN primitive on every frame without allocating.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <vector>

namespace deeplab {

// Executes `primitive` with a C argument list the kernel built once (at bind time):
// dnnl::primitive::execute(stream, map) would build a vector on every call, and a frame of an
// unchanged size must not allocate. Throws dnnl::error with `what` on failure.
inline void execute_with_args(const dnnl::primitive& primitive, dnnl::stream& stream,
                              const std::vector<dnnl_exec_arg_t>& args, const char* what) {
  dnnl::error::wrap_c_api(
      dnnl_primitive_execute(primitive.get(), stream.get(), static_cast<int>(args.size()), args.data()), what);
}

}  // namespace deeplab
