# The tools on bad and oversized input (label tools), as a user would meet them: every numeric
# option range-checked (an unchecked --threads 100000 died with SIGSEGV in libgomp), out of memory
# a clear message and exit 2 (it was an abort, rc 134), a 4K or 8K frame's CRF capped at 1080p by
# default, a truncated still named in a warning. Included from tests/tools/CMakeLists.txt.
set(BAD_DIR ${DEEPLAB_TEST_WORK_DIR}/bad-inputs)
add_test(NAME tools_bad_inputs_make COMMAND ${DEEPLAB_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/make_bad_inputs.py
         ${STILLS}/dog.jpg ${BAD_DIR})
set_tests_properties(tools_bad_inputs_make PROPERTIES LABELS tools FIXTURES_SETUP bad_inputs TIMEOUT 300
                     PASS_REGULAR_EXPRESSION "PASS")

function(bad_input_test name)
  crf_tool_test(${name} ${ARGN})
  set_tests_properties(tools_crf_${name} PROPERTIES FIXTURES_REQUIRED bad_inputs)
endfunction()

# Numeric options: out of range is exit 2 naming the option and the range, for each tool.
bad_input_test(segment_threads_too_many --exit 2 "--stderr=--threads: 100000 is out of range 0\\.\\.1024" --
  ${SEGMENT} --model deeplabv3-mnv2-voc --input ${STILLS}/dog.jpg --threads 100000)
bad_input_test(segment_threads_negative --exit 2 "--stderr=--threads: -5 is out of range 0\\.\\.1024" --
  ${SEGMENT} --model deeplabv3-mnv2-voc --input ${STILLS}/dog.jpg --threads -5)
bad_input_test(segment_threads_not_a_number --exit 2 "--stderr=--threads: '2x' is not an integer" --
  ${SEGMENT} --model deeplabv3-mnv2-voc --input ${STILLS}/dog.jpg --threads 2x)
bad_input_test(bench_iters_zero --exit 2 "--stderr=--iters: 0 is out of range 1\\.\\." --
  ${BENCH} --model deeplabv3-mnv2-voc --iters 0)
bad_input_test(bench_warmup_negative --exit 2 "--stderr=--warmup: -1 is out of range 0\\.\\." --
  ${BENCH} --model deeplabv3-mnv2-voc --warmup -1)
bad_input_test(bench_in_flight_three --exit 2 "--stderr=--in-flight: 3 is out of range 1\\.\\.2" --
  ${BENCH} --model deeplabv3-mnv2-voc --in-flight 3)
bad_input_test(eval_limit_negative --exit 2 "--stderr=--limit: -3 is out of range 0\\.\\." --
  ${EVAL} ${EVAL_DATA} --limit -3)
bad_input_test(crf_max_pixels_negative --exit 2 "--stderr=--crf-max-pixels: -1 is out of range 0\\.\\." --
  ${SEGMENT} --model deeplabv3-mnv2-voc --input ${STILLS}/dog.jpg --crf full --crf-max-pixels -1)

# A truncated still is segmented (what is there) with a warning naming the file; a truncated PNG
# that cannot be decoded is an error that says why.
bad_input_test(segment_truncated_jpeg "--stderr=warning: .*dog-cut\\.jpg: truncated JPEG" --
  ${SEGMENT} --model deeplabv3-mnv2-voc --input ${BAD_DIR}/dog-cut.jpg --threads 2)
bad_input_test(segment_complete_jpeg_no_warning "--stderr=truncated@0" --
  ${SEGMENT} --model deeplabv3-mnv2-voc --input ${STILLS}/dog.jpg --threads 2)

# A 4K frame with the CRF at its defaults: the CRF works at 1920x1080 and the mask is 4K.
bad_input_test(segment_uhd_crf_capped --clean ${BAD_DIR}/uhd-mask.png
  --stdout "uhd\\.png: 3840x2160" --stdout "crf: 10 iterations" --exists ${BAD_DIR}/uhd-mask.png --
  ${SEGMENT} --model deeplabv3-mnv2-voc --input ${BAD_DIR}/uhd.png --crf full --threads 2
  --output-mask ${BAD_DIR}/uhd-mask.png)
# No cap on a 10000x10000 frame with DeepLab's smoothness kernel (std 1): its buffers cannot be had
# under a 6 GB address-space limit (they would need ~30 GB): out of memory, named, exit 2. (Until the
# smoothness kernel became a separable blur, crf/gaussian_blur.h, its lattice's 16-bit range refused
# this size before any buffer was allocated; the blur has no range limit.)...
bad_input_test(segment_huge_crf_smoothness_out_of_memory --exit 2
  "--stderr=out of memory .*dense CRF at 10000x10000" --
  /bin/sh -c "ulimit -v 6000000 && exec \"$0\" \"$@\"" ${SEGMENT} --model deeplabv3-mnv2-voc
  --input ${BAD_DIR}/huge.png --crf full --crf-max-pixels 0 --crf-gaussian-weight 3 --crf-gaussian-xy-std 1
  --threads 2)
# ...and without that kernel: the same (not an abort).
bad_input_test(segment_huge_crf_out_of_memory --exit 2
  "--stderr=out of memory .*dense CRF at 10000x10000" --
  /bin/sh -c "ulimit -v 6000000 && exec \"$0\" \"$@\"" ${SEGMENT} --model deeplabv3-mnv2-voc
  --input ${BAD_DIR}/huge.png --crf full --crf-max-pixels 0 --crf-gaussian-weight 0 --threads 2)
