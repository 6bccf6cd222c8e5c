# Finds the engine's dependencies, each with a message that names the Debian package to install.
function(deeplab_require found what package)
  if(NOT ${found})
    message(FATAL_ERROR "gst-deeplab needs ${what}, which was not found. "
                        "On Debian 12: apt-get install ${package}  (or run scripts/test.sh, which installs it)")
  endif()
endfunction()

find_package(Threads REQUIRED)

find_package(dnnl CONFIG QUIET)
deeplab_require(dnnl_FOUND "oneDNN" "libdnnl-dev")

find_package(ONNX CONFIG QUIET)
deeplab_require(ONNX_FOUND "ONNX protobuf definitions" "libonnx-dev libprotobuf-dev")
find_package(Protobuf QUIET)
deeplab_require(Protobuf_FOUND "protobuf" "libprotobuf-dev protobuf-compiler")

find_package(yaml-cpp CONFIG QUIET)
deeplab_require(yaml-cpp_FOUND "yaml-cpp" "libyaml-cpp-dev")

find_package(OpenMP QUIET)
deeplab_require(OpenMP_CXX_FOUND "OpenMP" "libgomp1 (g++) or libomp-dev (clang)")

find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs)
deeplab_require(OpenCV_FOUND "OpenCV (core, imgproc, imgcodecs) for the command-line tools" "libopencv-dev")

find_package(OpenSSL QUIET)
deeplab_require(OpenSSL_FOUND "OpenSSL (libcrypto, for model sha256 checks)" "libssl-dev")

# CUDA: optional here (nothing CUDA runs on a machine without a GPU, but it must compile and link).
set(DEEPLAB_HAVE_CUDA OFF)
if(DEEPLAB_WITH_CUDA)
  if(NOT CUDAToolkit_ROOT AND EXISTS /usr/local/cuda)
    set(CUDAToolkit_ROOT /usr/local/cuda)
  endif()
  find_package(CUDAToolkit QUIET)
  if(CUDAToolkit_FOUND)
    set(DEEPLAB_HAVE_CUDA ON)
    message(STATUS "gst-deeplab: CUDA toolkit ${CUDAToolkit_VERSION} found (${CUDAToolkit_BIN_DIR})")
  else()
    message(STATUS "gst-deeplab: no CUDA toolkit found; building the CPU backend only")
  endif()
endif()
