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

# TFLite import (engine/src/tflite): the flatbuffers headers, and flatc to generate the reader of the
# project's own schema subset (engine/src/tflite/tflite_schema.fbs) at build time.
find_path(DEEPLAB_FLATBUFFERS_INCLUDE_DIR flatbuffers/flatbuffers.h)
deeplab_require(DEEPLAB_FLATBUFFERS_INCLUDE_DIR "the flatbuffers headers (TFLite import)" "libflatbuffers-dev")
find_program(DEEPLAB_FLATC flatc)
deeplab_require(DEEPLAB_FLATC "flatc, the flatbuffers schema compiler (TFLite import)" "flatbuffers-compiler")

find_package(OpenSSL QUIET)
deeplab_require(OpenSSL_FOUND "OpenSSL (libcrypto, for model sha256 checks)" "libssl-dev")

# CUDA: optional here (nothing CUDA runs on a machine without a GPU, but it must compile and link).
set(DEEPLAB_HAVE_CUDA OFF)
if(DEEPLAB_WITH_CUDA)
  if(NOT CUDAToolkit_ROOT AND EXISTS /usr/local/cuda)
    set(CUDAToolkit_ROOT /usr/local/cuda)
  endif()
  find_package(CUDAToolkit QUIET)
  if(CUDAToolkit_FOUND AND EXISTS "${CUDAToolkit_NVCC_EXECUTABLE}")
    set(DEEPLAB_HAVE_CUDA ON)
    # Kernels (engine/src/cuda): sm_80 (A100) and sm_90 (H100/H200) unless told otherwise.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND NOT DEFINED ENV{CUDAARCHS})
      set(CMAKE_CUDA_ARCHITECTURES "80;90" CACHE STRING "CUDA architectures the kernels are built for")
    endif()
    if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
      set(CMAKE_CUDA_COMPILER "${CUDAToolkit_NVCC_EXECUTABLE}")
    endif()
    # The shared runtime everywhere (deeplab_engine links CUDA::cudart): one CUDA runtime per process.
    set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
    enable_language(CUDA)
    message(STATUS "gst-deeplab: CUDA toolkit ${CUDAToolkit_VERSION} found (${CUDAToolkit_BIN_DIR})")
  else()
    message(STATUS "gst-deeplab: no CUDA toolkit found; building the CPU backend only")
  endif()
endif()

# GStreamer (the plugin in gst-plugin/ and its tests): through pkg-config, one module at a time so that
# the message names the Debian package that provides the missing one.
option(DEEPLAB_BUILD_GST "Build the GStreamer plugin (deeplabseg, deeplaboverlay, deeplabmask)" ON)
set(DEEPLAB_GST_MIN_VERSION 1.20)
macro(deeplab_require_gst prefix module package)
  pkg_check_modules(${prefix} QUIET IMPORTED_TARGET GLOBAL ${module}>=${DEEPLAB_GST_MIN_VERSION})
  deeplab_require(${prefix}_FOUND "${module} >= ${DEEPLAB_GST_MIN_VERSION} (pkg-config module)" "${package}")
endmacro()
if(DEEPLAB_BUILD_GST)
  find_package(PkgConfig QUIET)
  deeplab_require(PKG_CONFIG_FOUND "pkg-config (to find GStreamer)" "pkg-config")
  deeplab_require_gst(GST gstreamer-1.0 libgstreamer1.0-dev)
  deeplab_require_gst(GST_BASE gstreamer-base-1.0 libgstreamer1.0-dev)
  deeplab_require_gst(GST_VIDEO gstreamer-video-1.0 libgstreamer-plugins-base1.0-dev)
  message(STATUS "gst-deeplab: GStreamer ${GST_VERSION} found; building the plugin")
endif()
