# deeplab_add_gst_test_binary(NAME LABEL SOURCES... [DEFINITIONS ...] [LIBRARIES ...] [DEPENDS ...])
# (Below tests/support/gst/ because the unit tests compile every tests/support/*.cpp, without GStreamer.)
# A gtest binary for the GStreamer side (labels gst, pipeline): tests/support/gst/gst_test_main.cpp as its
# main() (plugin in this build tree, a registry file in this build folder, the shared models as the
# model cache), the common compile definitions and warnings, and test discovery with LABEL.
# The environment is set by main() rather than by ctest because gtest_discover_tests cannot pass a
# multi-variable ENVIRONMENT property in CMake 3.25 (the list is flattened into separate arguments),
# and so that a binary run by hand behaves as under ctest.
function(deeplab_add_gst_test_binary name label)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEFINITIONS;LIBRARIES;DEPENDS" ${ARGN})
  add_executable(${name} ${PROJECT_SOURCE_DIR}/tests/support/gst/gst_test_main.cpp ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBRARIES} GTest::gtest)
  target_compile_definitions(${name} PRIVATE
    DEEPLAB_SHARED_DIR="${DEEPLAB_SHARED_DIR}"
    DEEPLAB_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    DEEPLAB_GST_PLUGIN_DIR="${PROJECT_BINARY_DIR}/gst-plugin"
    DEEPLAB_TEST_REGISTRY="${CMAKE_CURRENT_BINARY_DIR}/gst-registry.bin"
    ${ARG_DEFINITIONS})
  target_compile_options(${name} PRIVATE -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
  add_dependencies(${name} gstdeeplab ${ARG_DEPENDS})
  gtest_discover_tests(${name} PROPERTIES LABELS ${label} TIMEOUT 300 DISCOVERY_TIMEOUT 60)
endfunction()
