#!/usr/bin/env bash
# The whole GPU check in one call of the device tool (docs/gpu.md, "On the lent GPU machine"): at most
# 10 minutes, every phase under its own `timeout`, every log written to $OUT as it goes (at most 8
# files come back, none in a sub-folder):
#
#   1 unpack + configure   the carried Debian packages into /tmp, cuDNN from PyTorch's wheel (or the
#                          toolkit), sm_90, no GStreamer, the OpenCV stand-in        -> build.log
#   2 build                the four CUDA targets with every core                       -> build.log
#     (meanwhile, in the background: the torchvision exports for the whole-network
#      tests and the benchmark's models)                                               -> exports.log
#   3 host tests           deeplab_cuda_host_tests, sharded over the cores, in the
#                          background while the GPU tests run                         -> host-tests.log
#   4 GPU tests            deeplab_gpu_tests run directly (no ctest, no process per
#                          test), DEEPLAB_GPU_REQUIRED=1 (a missing input fails): the
#                          kernels and the network's op cases first, then whole
#                          networks, the Segmenter, the CRF                           -> gpu-tests.log
#   5 benchmarks           deeplab-gpu-bench, deeplab-gpu-pipeline-bench on the real
#                          model, deeplab-gpu-streams-bench (1/2/4/8 streams, separate
#                          vs shared + batched), gpu-bench.sh short form against PyTorch eager;
#                          torch.compile only when time is left         -> bench.log, gpu-bench.json
#   summary.txt: the machine, each phase's status and time, the lines that matter. cudnn.log: cuDNN's
#   warnings and errors (CUDNN_LOGLEVEL_DBG=2), so that a refused call explains itself.
#
# Usage: bash tests/gpu/device/run-gpu-tests.sh [--dry-run] [--local] [--budget S] [--build DIR]
#                                               [--arch N] [--archs a,b]
#   --dry-run  print the phases, their commands and time limits, and check the carried inputs and
#              their size (here, before the call); runs nothing
#   --local    the development machine: no unpack, the existing build tree is reused when configured,
#              missing GPU inputs skip (DEEPLAB_GPU_REQUIRED unset), the benchmarks skip without a GPU
#   --budget S seconds for everything (default 570: the tool's limit is 600)
#   --build    build tree (default build-gpu)     --arch  CUDA architecture (default 90)
#   --archs    torchvision exports for the whole-network tests (default: the three below)
# Environment: OUT (default /tmp/deeplab-gpu-out), DEEPLAB_COMMIT (the device has no .git), PYTHON.
# Exit status: 0 all passed; 1 a phase failed (see summary.txt); 2 bad arguments or missing inputs;
# 3 configure failed or no cuDNN; 4 build failed.
set -uo pipefail

CARRY=(.carry models/cache/deeplab_v3_1_default_1.onnx)  # what the device call carries (docs/gpu.md)
CARRY_LIMIT_MIB=48                                       # "well under" the tool's 64 MiB
ARCHS=deeplabv3_mobilenet_v3_large,lraspp_mobilenet_v3_large,deeplabv3_resnet50
BENCH_MODELS=deeplabv3_mobilenet_v3_large,deeplabv3_resnet50
REAL_MODEL=models/cache/deeplab_v3_1_default_1.onnx

dry=0 local_run=0 budget=570 build=build-gpu arch=90
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry=1; shift ;;
    --local) local_run=1; shift ;;
    --budget) budget=${2:?}; shift 2 ;;
    --build) build=${2:?}; shift 2 ;;
    --arch) arch=${2:?}; shift 2 ;;
    --archs) ARCHS=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
    *) echo "run-gpu-tests.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root" || exit 2
case "$build" in /*) ;; *) build=$root/$build ;; esac
out=${OUT:-/tmp/deeplab-gpu-out}
work=$(mktemp -d /tmp/deeplab-gpu-work.XXXXXX)
models_dir=$build/test-data/torch
PYTHON=${PYTHON:-python3}
jobs=$(nproc)
start=$(date +%s)
status=0
IFS=, read -r -a arch_list <<<"$ARCHS"

# ---------------------------------------------------------------------------------------------
left() { echo $(( budget - ($(date +%s) - start) )); }
# A phase's time limit: its own cap, but never past the budget (minus what later phases need).
limit() { local cap=$1 reserve=${2:-0} l; l=$(( $(left) - reserve )); [ "$l" -lt "$cap" ] && cap=$l; [ "$cap" -lt 1 ] && cap=1; echo "$cap"; }
say() { echo "$*" | tee -a "$out/summary.txt"; }
# run NAME CAP LOG CMD...: the command under `timeout`, its output appended to LOG; one summary line.
run() {
  local name=$1 cap=$2 log=$3 t0 rc; shift 3
  t0=$(date +%s)
  local cmdline="$*"
  echo "== $name (limit ${cap}s): ${cmdline:0:240}" >>"$log"
  timeout -k 5 "$cap" "$@" >>"$log" 2>&1; rc=$?
  local verdict=ok; [ $rc -eq 124 ] || [ $rc -eq 137 ] && verdict="TIMED OUT after ${cap}s"
  [ $rc -ne 0 ] && [ "$verdict" = ok ] && verdict="FAILED (exit $rc)"
  say "[$name] $verdict in $(( $(date +%s) - t0 ))s ($(basename "$log"))"
  return $rc
}

# ---------------------------------------------------------------------------------------------
check_carry() {
  local ok=0 bytes=0 b p
  for p in "${CARRY[@]}"; do
    if [ -e "$p" ]; then b=$(du -sb "$p" | cut -f1); bytes=$((bytes + b)); echo "carry $p: $((b / 1048576)) MiB ($b bytes)"
    else echo "carry $p: MISSING"; ok=1; fi
  done
  echo "carry total: $((bytes / 1048576)) MiB (limit here ${CARRY_LIMIT_MIB} MiB, the tool's 64 MiB)"
  [ $bytes -le $((CARRY_LIMIT_MIB * 1048576)) ] || { echo "carry too large"; ok=1; }
  local n; n=$(ls .carry/debs/*.deb 2>/dev/null | wc -l)
  echo ".carry/debs: $n packages$(for d in libonnx-dev libdnnl-dev libyaml-cpp-dev libprotobuf-dev protobuf-compiler libgtest-dev libflatbuffers-dev flatbuffers-compiler; do ls .carry/debs/${d}_*.deb >/dev/null 2>&1 || printf ' (no %s)' "$d"; done)"
  [ "$n" -gt 0 ] || ok=1
  [ -f .carry/unpack-debs.sh ] || { echo ".carry/unpack-debs.sh: MISSING (cp ../shared/device/unpack-debs.sh .carry/)"; ok=1; }
  n=$(ls .carry/frames/*.ppm 2>/dev/null | wc -l)
  echo ".carry/frames: $n PPMs (GpuSegmenter.*)"; [ "$n" -gt 0 ] || ok=1
  [ -d .carry/models ] && echo ".carry/models: $(ls .carry/models | tr '\n' ' ')"
  return $ok
}

if [ $dry -eq 1 ]; then
  echo "dry run: nothing is executed. Budget ${budget}s; OUT=$out; build $build; sm_$arch."
  cat <<EOF
1 unpack + configure (limit 90s): bash .carry/unpack-debs.sh .carry/debs /tmp/deeplab-carry; cuDNN from
  site-packages/nvidia/**/cudnn_version.h, else the toolkit's; cmake -DCMAKE_CUDA_ARCHITECTURES=$arch
  -DDEEPLAB_BUILD_GST=OFF -DCUDNN_ROOT=... -DDEEPLAB_REQUIRE_CUDNN=ON -DOpenCV_DIR=tests/gpu/device/opencv-stub
  -DDEEPLAB_SHARED_DIR=/tmp/deeplab-shared (holding only $REAL_MODEL)
  background: export-torchvision.py ${arch_list[*]} --random --reference --size 321x321 (limit 240s),
  bench-gpu-vs-torch.py --export-onnx $build/bench-models --models $BENCH_MODELS --size 520x520
2 build (limit 240s): cmake --build -j $jobs deeplab_cuda_host_tests deeplab_gpu_tests deeplab-gpu-bench deeplab-gpu-pipeline-bench
  deeplab-gpu-streams-bench
3 host tests (background, limit 150s): deeplab_cuda_host_tests in $jobs shards
4 GPU tests (DEEPLAB_GPU_REQUIRED=1, CUDNN_LOGLEVEL_DBG=2 -> cudnn.log), each pass limited, all <= 300s:
  a kernels + network op cases: PreprocessGpu*:UpsampleGpu*:GpuTest.*:GpuNetwork.* but the real model (120s)
  b whole networks: ${arch_list[*]} + the real model + the Segmenter at 1080p (120s)
  c GpuSegmenter.* (CRF on the device, two frames in flight; frames from .carry/frames) (90s)
  d CrfGpuTest.* (60s)
5 benchmarks (what is left, at least 30s kept for the summary): deeplab-gpu-bench --runs 20;
  deeplab-gpu-pipeline-bench $REAL_MODEL fp16/fp32 x in-flight 1/2 at 1920x1080;
  deeplab-gpu-streams-bench $REAL_MODEL fp32, 1/2/4/8 streams, separate vs shared (batch N) (issue 15);
  gpu-bench.sh --models $BENCH_MODELS --frames 1920x1080 --precisions fp16,fp32 --in-flight 1,2
  --torch-modes eager --iters 20 --warmup 5; then --torch-modes compile --compile-mode default when >= 150s are left
EOF
  check_carry; rc=$?
  [ $rc -eq 0 ] && echo "dry run: the carried inputs are complete" || echo "dry run: carried inputs incomplete (docs/gpu.md, step 1)"
  exit $rc
fi

mkdir -p "$out"
: >"$out/summary.txt"
say "run-gpu-tests.sh: commit ${DEEPLAB_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}, budget ${budget}s, $(date -u +%FT%TZ)"

# ---- 1. unpack + configure ----
if [ $local_run -eq 0 ]; then
  check_carry >>"$out/summary.txt" 2>&1 || say "warning: carried inputs incomplete (above); going on"
  [ -f .carry/unpack-debs.sh ] || { say "no .carry/unpack-debs.sh: do step 1 of docs/gpu.md"; exit 2; }
  # The unpacker's output is the environment: a failure must stop here (eval "$(...)" would not).
  env_lines=$(timeout 60 bash .carry/unpack-debs.sh .carry/debs /tmp/deeplab-carry 2>>"$out/build.log") \
    || { say "unpacking .carry/debs failed (build.log)"; exit 2; }
  eval "$env_lines"
fi
# cuDNN: PyTorch's wheel (nvidia/cudnn or another nvidia/* folder), else the toolkit's.
cudnn_root=$("$PYTHON" - <<'PY' 2>/dev/null
import glob, os, site
dirs = site.getsitepackages() + [site.getusersitepackages()]
for d in dirs:
    for h in sorted(glob.glob(os.path.join(d, "nvidia", "**", "cudnn_version.h"), recursive=True)):
        print(os.path.dirname(os.path.dirname(h)))
        raise SystemExit(0)
PY
)
nvcc_dir=$(dirname "$(command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)")
cuda_home=$(cd "$nvcc_dir/.." && pwd)
[ -n "$cudnn_root" ] || cudnn_root=$cuda_home
if ! ls "$cudnn_root"/include/cudnn_version.h >/dev/null 2>&1 || ! ls "$cudnn_root"/lib*/libcudnn.so* >/dev/null 2>&1; then
  say "no cuDNN 9 found (PyTorch's site-packages/nvidia, $cuda_home): nothing to test"; exit 3
fi
# cuDNN 9 dlopens its sub-libraries, libcublasLt.so.13 and libnvrtc.so.13 at run time: cuDNN's lib,
# the toolkit's, and every lib folder of the NVIDIA wheels.
wheel_libs=$("$PYTHON" -c 'import glob, os, site
for d in site.getsitepackages() + [site.getusersitepackages()]:
    for l in sorted(glob.glob(os.path.join(d, "nvidia", "**", "lib"), recursive=True)):
        if glob.glob(os.path.join(l, "*.so*")): print(l)' 2>/dev/null | tr '\n' ':')
export LD_LIBRARY_PATH="$(ls -d "$cudnn_root"/lib* | tr '\n' ':')$cuda_home/lib64:$cuda_home/targets/x86_64-linux/lib:${wheel_libs}${LD_LIBRARY_PATH:-}"
export CUDNN_LOGLEVEL_DBG=2 CUDNN_LOGDEST_DBG=$out/cudnn.log
export DEEPLAB_GPU_MODELS_DIR=$models_dir
[ -d .carry/frames ] && export DEEPLAB_GPU_FRAMES_DIR=$root/.carry/frames
[ $local_run -eq 0 ] && export DEEPLAB_GPU_REQUIRED=1
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -2
  echo "nvcc: $("$nvcc_dir/nvcc" --version | tail -1); $(cmake --version | head -1); $(g++ --version | head -1); $jobs cores"
  echo "cuDNN: $cudnn_root ($(grep -hE '#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) ' "$cudnn_root/include/cudnn_version.h" | awk '{printf "%s ", $3}'))"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  "$PYTHON" -c "import torch, torchvision; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version(), 'torchvision', torchvision.__version__)" 2>&1 | tail -1
  "$PYTHON" -c "import onnx; print('onnx', onnx.__version__)" 2>&1 | tail -1
} >>"$out/summary.txt" 2>&1

# ../shared does not travel: the tests' shared folder holds just the carried real model.
shared=/tmp/deeplab-shared
mkdir -p "$shared/models" && cp -f "$REAL_MODEL" "$shared/models/" 2>/dev/null
configure=(cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$arch"
           -DDEEPLAB_BUILD_GST=OFF -DCUDNN_ROOT="$cudnn_root" -DDEEPLAB_REQUIRE_CUDNN=ON
           -DOpenCV_DIR="$root/tests/gpu/device/opencv-stub" -DDEEPLAB_SHARED_DIR="$shared")
if [ $local_run -eq 1 ] && [ -f "$build/CMakeCache.txt" ]; then
  say "[configure] --local: reusing $build as configured"
else
  run configure "$(limit 90)" "$out/build.log" "${configure[@]}" || { tail -30 "$out/build.log" >>"$out/summary.txt"; exit 3; }
fi
grep -E "gst-deeplab: (CUDA|cuDNN)" "$out/build.log" >>"$out/summary.txt" 2>/dev/null

# Exports in the background (CPU only; they need no build): the whole-network tests' models (with
# their inputs) and the benchmark's.
exports() {
  mkdir -p "$models_dir"
  [ -d .carry/models ] && cp -n .carry/models/* "$models_dir"/ 2>/dev/null
  local a
  for a in "${arch_list[@]}"; do
    [ -f "$models_dir/$a.onnx" ] && { echo "$a: carried or already there"; continue; }
    nice "$PYTHON" scripts/export-torchvision.py "$a" --random --reference --size 321x321 --out-dir "$models_dir" \
      || echo "export of $a FAILED"
  done
  [ $local_run -eq 1 ] && return 0
  nice "$PYTHON" scripts/bench-gpu-vs-torch.py --export-onnx "$build/bench-models" --models "$BENCH_MODELS" --size 520x520 \
    || echo "benchmark export FAILED"
}
export_cap=$(limit 240 200)
(run exports "$export_cap" "$out/exports.log" bash -c "$(declare -f exports say run); $(declare -p models_dir arch_list local_run PYTHON build BENCH_MODELS out); exports") &
export_pid=$!

# ---- 2. build ----
run build "$(limit 240 200)" "$out/build.log" cmake --build "$build" -j "$jobs" --target deeplab_cuda_host_tests \
  deeplab_gpu_tests deeplab-gpu-bench deeplab-gpu-pipeline-bench deeplab-gpu-streams-bench \
  || { grep -E "error|FAILED" "$out/build.log" | head -20 >>"$out/summary.txt"; kill "$export_pid" 2>/dev/null; exit 4; }
grep -c "warning:" "$out/build.log" | xargs echo "build warnings:" >>"$out/summary.txt"
ldd "$build/tests/gpu/deeplab_gpu_tests" | grep -E "cudnn|cudart|not found" >>"$out/summary.txt"

# ---- 3. host tests, sharded, in the background ----
host_tests() {
  local k pids=() rc=0
  for ((k = 0; k < jobs; k++)); do
    GTEST_TOTAL_SHARDS=$jobs GTEST_SHARD_INDEX=$k "$build/tests/gpu/deeplab_cuda_host_tests" --gtest_brief=1 \
      >"$work/host-$k.log" 2>&1 & pids+=($!)
  done
  for k in "${!pids[@]}"; do wait "${pids[$k]}" || rc=1; cat "$work/host-$k.log"; done
  return $rc
}
host_cap=150; [ $local_run -eq 1 ] && host_cap=400  # 2 cores here: about 2 minutes of CPU, shared
(run "host tests ($jobs shards)" "$(limit $host_cap 60)" "$out/host-tests.log" bash -c \
  "$(declare -f host_tests); $(declare -p jobs build work); host_tests") &
host_pid=$!

# ---- 4. GPU tests, the binary directly ----
gpu=$build/tests/gpu/deeplab_gpu_tests
gpu_pass() {  # NAME CAP FILTER
  run "gpu tests: $1" "$(limit "$2" 60)" "$out/gpu-tests.log" "$gpu" --gtest_filter="$3" --gtest_color=no || status=1
}
gpu_pass "kernels + op cases" 120 'GpuTest.*:PreprocessGpu*:UpsampleGpu*:GpuNetwork.*-GpuNetwork.SharedRealModel*:GpuNetwork.Segmenter*'
wait "$export_pid" || status=1
grep -E "^wrote |carried or already there|FAILED|Traceback|[Ee]rror:" "$out/exports.log" | tail -8 >>"$out/summary.txt"
whole="GpuNetwork.SharedRealModel*:GpuNetwork.Segmenter*"
for a in "${arch_list[@]}"; do whole+=":*GpuWholeNetwork.*/$a"; done
gpu_pass "whole networks" 120 "$whole"
gpu_pass "Segmenter (CRF, in flight)" 90 'GpuSegmenter.*'
gpu_pass "CRF" 60 'CrfGpuTest.*'
wait "$host_pid" || status=1
grep -hE "^\[ +(PASSED|FAILED|SKIPPED) +\]|test suites? ran" "$out/gpu-tests.log" | head -60 >>"$out/summary.txt"
grep -hE "fp32:|fp16:|\[gpu-" "$out/gpu-tests.log" | head -40 >>"$out/summary.txt"

# ---- 5. benchmarks ----
if [ $local_run -eq 1 ] && ! command -v nvidia-smi >/dev/null; then
  say "[benchmarks] skipped: no nvidia-smi (--local on a machine without a GPU)"
else
  run "kernel bench" "$(limit 40 30)" "$out/bench.log" "$build/tests/gpu/deeplab-gpu-bench" --runs 20 || status=1
  for n in 1 2; do
    for p in fp16 fp32; do
      run "pipeline bench $p in-flight $n" "$(limit 30 30)" "$out/bench.log" "$build/tests/gpu/deeplab-gpu-pipeline-bench" \
        --model "$REAL_MODEL" --device cuda --precision $p --frame 1920x1080 --in-flight $n --iters 30 --warmup 5 --json \
        || status=1
    done
  done
  # Issue 15: N streams of the real model, N separate CUDA Segmenters vs one shared batching engine
  # (batch N), fp32, frames of four sizes; one JSON line each.
  for n in 1 2 4 8; do
    for mode in separate shared; do
      run "streams bench $n $mode" "$(limit 20 30)" "$out/bench.log" "$build/tests/gpu/deeplab-gpu-streams-bench" \
        --model "$REAL_MODEL" --device cuda --streams $n --mode $mode --frames 30 --warmup 3 --json || status=1
    done
  done
  grep -h '^{' "$out/bench.log" >>"$out/summary.txt"
  short=(--build "$build" --models "$BENCH_MODELS" --frames 1920x1080 --precisions fp16,fp32 --in-flight 1,2 --iters 20 --warmup 5)
  DEEPLAB_COMMIT=${DEEPLAB_COMMIT:-unknown} run "gpu-bench (eager)" "$(limit 150 30)" "$out/bench.log" \
    bash scripts/gpu-bench.sh "${short[@]}" --torch-modes eager --out "$out/gpu-bench.json" || status=1
  if [ "$(left)" -ge 150 ]; then
    DEEPLAB_COMMIT=${DEEPLAB_COMMIT:-unknown} run "gpu-bench (torch.compile)" "$(limit 200 30)" "$out/bench.log" \
      bash scripts/gpu-bench.sh "${short[@]}" --precisions fp16 --in-flight 1 --torch-modes compile --compile-mode default \
      --out "$work/gpu-bench-compile.json" || status=1
    [ -f "$work/gpu-bench-compile.json" ] && { echo "== gpu-bench-compile.json"; cat "$work/gpu-bench-compile.json"; } >>"$out/bench.log"
  else
    say "[gpu-bench (torch.compile)] skipped: $(left)s left"
  fi
  grep -E "^\|" "$out/bench.log" | tail -24 >>"$out/summary.txt"
fi

# cuDNN's log can grow: keep the first and last 4 MiB.
if [ -f "$out/cudnn.log" ] && [ "$(stat -c %s "$out/cudnn.log")" -gt $((8 << 20)) ]; then
  { head -c $((4 << 20)) "$out/cudnn.log"; echo; echo "... (cut) ..."; tail -c $((4 << 20)) "$out/cudnn.log"; } >"$work/cudnn.log"
  mv "$work/cudnn.log" "$out/cudnn.log"
fi
say "done in $(( $(date +%s) - start ))s, status $status; files: $(ls "$out" | tr '\n' ' ')"
rm -rf "$work"
exit $status
