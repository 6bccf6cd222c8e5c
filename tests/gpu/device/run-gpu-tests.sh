#!/usr/bin/env bash
# On the lent GPU machine (docs/gpu.md): unpack the carried Debian libraries, configure for the GPU,
# build only the CUDA targets, run the host checks, the gpu-labelled tests and the kernel benchmark.
# Logs go to $OUT (the device tool brings them back). Written without access to a GPU machine:
# docs/gpu.md says what has and has not been run.
#
#   bash tests/gpu/device/run-gpu-tests.sh [CUDA_ARCH]     (default 90: H100 / H200)
set -uo pipefail
arch=${1:-90}
root=$(cd "$(dirname "$0")/../../.." && pwd)
out=${OUT:-/tmp/deeplab-gpu-out}
build=$root/build-gpu
mkdir -p "$out"
cd "$root" || exit 2

if [ ! -d .carry/debs ] || [ ! -f .carry/unpack-debs.sh ]; then
  echo "no .carry/debs or .carry/unpack-debs.sh: do the 'here, once' step of docs/gpu.md and carry .carry" >&2
  exit 2
fi
eval "$(bash .carry/unpack-debs.sh .carry/debs /opt/carry)" || exit 2

{
  nvidia-smi -L
  nvcc --version | tail -1
  cmake --version | head -1
  g++ --version | head -1
  # cuDNN is not used by these targets; it comes with PyTorch's pip install (for the inference backend).
  python3 - <<'PY'
import glob, site
hits = [h for d in site.getsitepackages() for h in glob.glob(d + "/nvidia/**/cudnn.h", recursive=True)]
print("cuDNN header:", hits[0] if hits else "not found")
PY
} 2>&1 | tee "$out/machine.txt"

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES="$arch" \
  -DDEEPLAB_BUILD_GST=OFF \
  -DOpenCV_DIR="$root/tests/gpu/device/opencv-stub" >"$out/configure.log" 2>&1 \
  || { tail -40 "$out/configure.log"; exit 3; }
grep -E "gst-deeplab|CUDA compiler" "$out/configure.log"
cmake --build "$build" -j "$(nproc)" --target deeplab_cuda_host_tests deeplab_gpu_tests deeplab-gpu-bench \
  >"$out/build.log" 2>&1 || { tail -60 "$out/build.log"; exit 4; }

status=0
"$build/tests/gpu/deeplab_cuda_host_tests" --gtest_brief=1 >"$out/host-tests.log" 2>&1 || status=5
tail -3 "$out/host-tests.log"
ctest --test-dir "$build" -L gpu --output-on-failure -V >"$out/ctest-gpu.log" 2>&1 || status=6
grep -E "tests passed|tests failed|Skipped|Failed|\*\*\*" "$out/ctest-gpu.log" | tail -40
"$build/tests/gpu/deeplab-gpu-bench" 2>&1 | tee "$out/bench.log"
exit $status
