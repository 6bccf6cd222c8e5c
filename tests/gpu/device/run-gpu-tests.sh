#!/usr/bin/env bash
# On the lent GPU machine (docs/gpu.md): unpack the carried Debian libraries, configure against the
# cuDNN of PyTorch's pip install, build the CUDA targets, run the host checks, the gpu-labelled
# tests (kernels, CUDA network vs CPU backend, whole networks, Segmenter) and the benchmarks. Logs go
# to $OUT (the device tool brings them back). Written without access to a GPU machine: docs/gpu.md
# says what has and has not been run.
#
#   bash tests/gpu/device/run-gpu-tests.sh [CUDA_ARCH] [PHASE ...]
#
# CUDA_ARCH: default 90 (H100 / H200). PHASEs, in this order, default all but bench:
#   build   configure + build deeplab_cuda_host_tests, deeplab_gpu_tests, deeplab-gpu-bench,
#           deeplab-gpu-pipeline-bench
#   models  torchvision exports for the whole-network tests (random weights, 321x321, with inputs)
#           into build-gpu/test-data/torch; carried ones (.carry/models/*) are used as they are
#   host    deeplab_cuda_host_tests
#   gpu     ctest -L gpu (every GPU test), then deeplab-gpu-bench (kernel timings)
#   bench   scripts/gpu-bench.sh: the Segmenter on CUDA vs PyTorch (eager, torch.compile)
#   crf     the CUDA dense CRF alone (after build): its host tests, its GPU tests (CrfGpuTest.*) and
#           deeplab-gpu-bench's timings (docs/crf.md, "CUDA")
#   pipeline  the Segmenter on CUDA (after build): the CRF on the device vs the CPU CRF, two frames in
#           flight vs one (GpuSegmenter.*), and deeplab-gpu-pipeline-bench --in-flight 1|2 at 1080p
# The machine keeps build-gpu between calls while it stays warm, so the phases can be split over
# calls of the device tool (each at most 10 minutes). DEEPLAB_COMMIT names the commit in the logs.
set -uo pipefail
arch=${1:-90}
shift || true
phases=("$@")
[ ${#phases[@]} -gt 0 ] || phases=(build models host gpu)
root=$(cd "$(dirname "$0")/../../.." && pwd)
out=${OUT:-/tmp/deeplab-gpu-out}
build=$root/build-gpu
models_dir=$build/test-data/torch
mkdir -p "$out"
cd "$root" || exit 2
want() { local p; for p in "${phases[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }

if [ ! -d .carry/debs ] || [ ! -f .carry/unpack-debs.sh ]; then
  echo "no .carry/debs or .carry/unpack-debs.sh: do the 'here, once' step of docs/gpu.md and carry .carry" >&2
  exit 2
fi
eval "$(bash .carry/unpack-debs.sh .carry/debs /opt/carry)" || exit 2

# cuDNN: the one inside PyTorch's pip install (nvidia-cudnn-cu*), headers and libcudnn*.so.9.
cudnn_root=$(python3 - <<'PY'
import glob, os, site, sys
dirs = site.getsitepackages() + [site.getusersitepackages()]
for d in dirs:
    for h in glob.glob(os.path.join(d, "nvidia", "cudnn", "include", "cudnn_version.h")):
        print(os.path.dirname(os.path.dirname(h)))
        sys.exit(0)
PY
)
[ -n "$cudnn_root" ] || cudnn_root=/usr/local/cuda
export LD_LIBRARY_PATH="$cudnn_root/lib:${LD_LIBRARY_PATH:-}"

{
  echo "commit: ${DEEPLAB_COMMIT:-unknown}; phases: ${phases[*]}"
  nvidia-smi -L
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  nvcc --version | tail -1
  cmake --version | head -1
  g++ --version | head -1
  echo "cuDNN root: $cudnn_root"
  grep -hE "#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) " "$cudnn_root/include/cudnn_version.h" 2>/dev/null
  ls "$cudnn_root/lib" 2>/dev/null | head -20
  python3 -c "import torch, torchvision; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version(), 'torchvision', torchvision.__version__)" 2>&1
  python3 -c "import onnx; print('onnx', onnx.__version__)" 2>&1
} >"$out/machine-$(date -u +%H%M%S).txt" 2>&1
status=0

if want build; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CUDA_ARCHITECTURES="$arch" \
    -DDEEPLAB_BUILD_GST=OFF \
    -DCUDNN_ROOT="$cudnn_root" \
    -DOpenCV_DIR="$root/tests/gpu/device/opencv-stub" >"$out/configure.log" 2>&1 \
    || { tail -40 "$out/configure.log"; exit 3; }
  grep -E "gst-deeplab|CUDA compiler" "$out/configure.log"
  cmake --build "$build" -j "$(nproc)" --target deeplab_cuda_host_tests deeplab_gpu_tests deeplab-gpu-bench \
    deeplab-gpu-pipeline-bench >"$out/build.log" 2>&1 || { tail -60 "$out/build.log"; exit 4; }
fi

if want models; then
  mkdir -p "$models_dir"
  [ -d .carry/models ] && cp -n .carry/models/* "$models_dir"/ 2>/dev/null
  for a in deeplabv3_mobilenet_v3_large lraspp_mobilenet_v3_large deeplabv3_resnet50 fcn_resnet50 \
           deeplabv3_resnet101 deeplabv1_largefov deeplabv2_aspp; do
    [ -f "$models_dir/$a.onnx" ] && continue
    python3 scripts/export-torchvision.py "$a" --random --reference --size 321x321 --out-dir "$models_dir" \
      >>"$out/export.log" 2>&1 || echo "export of $a failed (export.log); its whole-network test will skip"
  done
  ls -la "$models_dir" | tee "$out/models.txt"
fi

if want host; then
  "$build/tests/gpu/deeplab_cuda_host_tests" --gtest_brief=1 >"$out/host-tests.log" 2>&1 || status=5
  tail -3 "$out/host-tests.log"
fi

# The CRF-stage and pipeline tests' real frames (deeplab-gpu-frames, made where OpenCV is; docs/gpu.md).
[ -d .carry/frames ] && export DEEPLAB_GPU_FRAMES_DIR="$root/.carry/frames"

if want gpu; then
  DEEPLAB_GPU_MODELS_DIR="$models_dir" ctest --test-dir "$build" -L gpu --output-on-failure -V \
    >"$out/ctest-gpu.log" 2>&1 || status=6
  grep -E "tests passed|tests failed|Skipped|Failed|\*\*\*|fp32:|fp16:|segmenter|gpu-crf-stage|gpu-pipeline" \
    "$out/ctest-gpu.log" | tail -120
  "$build/tests/gpu/deeplab-gpu-bench" 2>&1 | tee "$out/bench.log"
fi

if want bench; then
  DEEPLAB_COMMIT=${DEEPLAB_COMMIT:-unknown} bash scripts/gpu-bench.sh --build "$build" --out "$out/gpu-bench.json" \
    2>"$out/gpu-bench.log" | tee "$out/gpu-bench.md" || status=7
  tail -5 "$out/gpu-bench.log"
fi

if want pipeline; then
  # The CRF on the device after the network and two frames in flight (Segmenter on CUDA), then the
  # pipeline benchmark with 1 and 2 frames in flight on the real model.
  "$build/tests/gpu/deeplab_gpu_tests" --gtest_filter='GpuSegmenter.*' >"$out/pipeline-tests.log" 2>&1 || status=9
  grep -E "^\[gpu-|FAILED|PASSED|SKIPPED|Failure" "$out/pipeline-tests.log" | tail -80
  for n in 1 2; do
    for p in fp16 fp32; do
      "$build/tests/gpu/deeplab-gpu-pipeline-bench" --model models/cache/deeplab_v3_1_default_1.onnx --device cuda \
        --precision $p --frame 1920x1080 --in-flight $n --json 2>&1 | tail -1 | tee -a "$out/pipeline-bench.jsonl"
    done
  done
fi

if want crf; then
  "$build/tests/gpu/deeplab_cuda_host_tests" --gtest_filter='CudaCrf*' >"$out/crf-host-tests.log" 2>&1 || status=8
  tail -3 "$out/crf-host-tests.log"
  "$build/tests/gpu/deeplab_gpu_tests" --gtest_filter='CrfGpuTest.*' >"$out/crf-gpu-tests.log" 2>&1 || status=8
  grep -E "^\[crf-gpu\]|FAILED|PASSED|SKIPPED|Failure" "$out/crf-gpu-tests.log" | tail -60
  "$build/tests/gpu/deeplab-gpu-bench" --runs 30 >"$out/crf-bench.log" 2>&1 || status=8
  grep -iE "crf|device:" "$out/crf-bench.log"
fi
exit $status
