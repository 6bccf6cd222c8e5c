# deeplab-segment and deeplab-bench with the dense CRF (label tools), checked by check_tool.py:
# the --crf options run on a real still and report what the CRF did; mistakes exit 2 naming the
# option. Included from tests/tools/CMakeLists.txt.
find_program(DEEPLAB_TOOLS_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)  # check_tool.py needs only the stdlib
set(CHECK_TOOL ${DEEPLAB_TOOLS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/check_tool.py)
set(SEGMENT $<TARGET_FILE:deeplab-segment>)
set(BENCH $<TARGET_FILE:deeplab-bench>)
set(STILLS ${DEEPLAB_SHARED_DIR}/media)
set(CRF_WORK_DIR ${DEEPLAB_TEST_WORK_DIR}/crf-tools)
file(MAKE_DIRECTORY ${CRF_WORK_DIR})
set(CRF_TOOLS_ENV "DEEPLAB_MODEL_CACHE=${DEEPLAB_SHARED_DIR}/models;OMP_WAIT_POLICY=PASSIVE")

function(crf_tool_test name)
  add_test(NAME tools_crf_${name} COMMAND ${CHECK_TOOL} ${ARGN})
  set_tests_properties(tools_crf_${name} PROPERTIES LABELS tools TIMEOUT 600 ENVIRONMENT "${CRF_TOOLS_ENV}"
                       PASS_REGULAR_EXPRESSION "PASS" FAIL_REGULAR_EXPRESSION "FAIL:")
endfunction()

# One still, temporal mode: its first (only) frame runs the full 10 iterations; the mask is written.
crf_tool_test(segment_temporal_still --clean ${CRF_WORK_DIR}/one-mask.png
  --stdout "crf: 10 iterations \\(from the network's probabilities\\), [0-9.]+ ms@1"
  --stdout "/dog\\.jpg: .*crf [0-9.]+\\)" --exists ${CRF_WORK_DIR}/one-mask.png --
  ${SEGMENT} --model deeplabv3-mnv2-voc --input ${STILLS}/dog.jpg --crf temporal --threads 2
  --output-mask ${CRF_WORK_DIR}/one-mask.png)
# Several stills are independent: each starts the temporal CRF afresh (10 iterations, no warm start),
# also the second of two of the same size (the engine resets by itself on a size change).
crf_tool_test(segment_temporal_each_image_afresh --clean ${CRF_WORK_DIR}/many
  --stdout "crf: 10 iterations \\(from the network's probabilities\\)@4" --stdout "warm start@0"
  --exists ${CRF_WORK_DIR}/many/masks/dog.png --exists ${CRF_WORK_DIR}/many/masks/horses.png
  --exists ${CRF_WORK_DIR}/many/overlays/person.png --
  ${SEGMENT} --model deeplabv3-mnv2-voc --input ${STILLS}/dog.jpg,${STILLS}/dog.jpg,${STILLS}/horses.jpg,${STILLS}/person.jpg
  --crf temporal --crf-scale 0.5 --threads 2 --output-mask ${CRF_WORK_DIR}/many/masks
  --overlay ${CRF_WORK_DIR}/many/overlays)
crf_tool_test(segment_crf_off_reports_no_iterations --stdout "crf 0\\.0\\)" --stdout "crf: @0" --
  ${SEGMENT} --model deeplabv3-mnv2-voc --input ${STILLS}/eagle.jpg --threads 2)

# Mistakes: exit 2, the message names the option.
crf_tool_test(segment_bad_mode --exit 2 "--stderr=--crf: 'maybe' is not one of off, full, temporal" --
  ${SEGMENT} --model deeplabv3-mnv2-voc --input ${STILLS}/dog.jpg --crf maybe)
crf_tool_test(segment_bad_scale --exit 2 "--stderr=--crf-scale: 0 must be in \\(0, 1" --
  ${SEGMENT} --model deeplabv3-mnv2-voc --input ${STILLS}/dog.jpg --crf full --crf-scale 0)
crf_tool_test(bench_bad_iterations --exit 2 "--stderr=--crf-iterations: 0 is out of range 1\\.\\.1000" --
  ${BENCH} --model deeplabv3-mnv2-voc --crf full --crf-iterations 0)
crf_tool_test(bench_mode_without_value --exit 2 "--stderr=--crf needs a value" --
  ${BENCH} --model deeplabv3-mnv2-voc --crf)

# The bench's JSON: temporal mode runs full iterations on the stream's first frame only, then
# crf-temporal-iterations; full mode runs full iterations on every frame; off has no CRF time.
crf_tool_test(bench_temporal_json
  --json crf=temporal --json crf_iterations_median=2 --json crf_first_frame_iterations=10
  --json crf_full_frames=0 --json "crf_ms_median>0" --json "crf_first_frame_ms>0" --
  ${BENCH} --model deeplabv3-mnv2-voc --frame 320x240 --iters 5 --warmup 1 --threads 2 --json --crf temporal)
crf_tool_test(bench_full_json
  --json crf=full --json crf_iterations_median=3 --json crf_full_frames=3 --json "crf_ms_median>0" --
  ${BENCH} --model deeplabv3-mnv2-voc --frame 160x120 --iters 3 --warmup 1 --threads 2 --json --crf full
  --crf-iterations 3)
crf_tool_test(bench_off_json --json crf=off --json crf_ms_median=0 --json crf_iterations_median=0 --
  ${BENCH} --model deeplabv3-mnv2-voc --iters 2 --warmup 0 --threads 2 --json)
# --frames-from: the real clip's first frames, scaled to --frame.
crf_tool_test(bench_frames_from_video
  --json frames=${DEEPLAB_SHARED_DIR}/media/one-by-one-person-detection.mp4 --json crf=temporal
  --json crf_first_frame_iterations=10 --json crf_iterations_median=2 --json "crf_ms_median>0" --
  ${BENCH} --model deeplabv3-mnv2-voc --frames-from ${DEEPLAB_SHARED_DIR}/media/one-by-one-person-detection.mp4
  --frame 192x108 --iters 4 --warmup 1 --threads 2 --json --crf temporal)
crf_tool_test(bench_frames_from_missing_video --exit 2 "--stderr=/nonexistent/clip\\.mp4: no such video file" --
  ${BENCH} --model deeplabv3-mnv2-voc --frames-from /nonexistent/clip.mp4)

# scripts/crf-report-table.py (docs/crf.md's per-model report) on fixed JSON: mIoU and flicker in
# percent in the right columns, a missing or half-written run as a dash; no folder: exit 1 naming it.
set(CRF_REPORT_TABLE ${DEEPLAB_TOOLS_PYTHON} ${CMAKE_SOURCE_DIR}/scripts/crf-report-table.py)
crf_tool_test(report_table
  "--stdout=\\| deeplab-edgetpu-cityscapes \\| 74\\.42 \\| — \\| 76\\.00 \\| — \\| — \\| — \\| 75\\.78 \\|"
  "--stdout=\\| deeplabv3-mnv2-voc \\| car-detection \\| 0\\.664 / 99\\.37 \\| — / — \\|" --
  ${CRF_REPORT_TABLE} ${CMAKE_CURRENT_SOURCE_DIR}/data/crf-report)
crf_tool_test(report_table_no_folder --exit 1 "--stderr=usage: crf-report-table\\.py DIR" --
  ${CRF_REPORT_TABLE} ${CRF_WORK_DIR}/no-such-report)

# deeplab-machine-bench (what a second core adds; scripts/crf-bench.sh records it): real rates,
# one per thread; the scalings are totals over one thread alone, so never 0 (the values themselves
# depend on the machine's load and are not checked); the core-to-core round trip is 0 where the
# process may use one CPU only.
set(MACHINE_BENCH $<TARGET_FILE:deeplab-machine-bench>)
crf_tool_test(machine_bench_json
  --json kind=machine --json threads=2 --json "read_gbps_alone>0" --json "gflops_alone>0"
  --json "read_scaling>0" --json "arithmetic_scaling>0" --json "core_round_trip_ns>-1" --stdout "\"read_gbps_together\": \\[[0-9.]+, [0-9.]+\\]" --
  ${MACHINE_BENCH} --threads 2 --mb 8 --json)
crf_tool_test(machine_bench_text --stdout "^memory read: [0-9.]+ GB/s one thread alone, [0-9.]+ GB/s for 3 threads"
  --stdout "^arithmetic: +[0-9.]+ Gflop/s one thread alone" -- ${MACHINE_BENCH} --threads 3 --mb 4)
crf_tool_test(machine_bench_bad_threads --exit 2 "--stderr=--threads: 0 is out of range 1\\.\\.256" --
  ${MACHINE_BENCH} --threads 0)
crf_tool_test(machine_bench_unknown_option --exit 2 "--stderr=--mib" -- ${MACHINE_BENCH} --mib 4)
