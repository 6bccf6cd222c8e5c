#!/usr/bin/env bash
# Fuzzes the model loader (ONNX import -> constant folding -> graph passes -> CPU network) with
# libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   scripts/fuzz.sh [SECONDS]        # default 60
#
# Configures a separate clang build in build-fuzz/ (DEEPLAB_FUZZ_BUILD_DIR overrides), builds only
# the fuzz targets, writes the seed corpus and runs fuzz_onnx_loader for SECONDS on it plus
# tests/fuzz/regressions/. New corpus entries go to build-fuzz/fuzz-work/corpus; a crash is saved
# as build-fuzz/fuzz-work/artifacts/crash-* and the script exits non-zero. Reproduce one with
#   build-fuzz/tests/fuzz/fuzz_onnx_loader ARTIFACT
# and, once fixed, copy it (minimised: add -minimize_crash=1 -runs=10000) into tests/fuzz/regressions/.
# Extra libFuzzer flags can be passed in FUZZ_FLAGS; JOBS sets the build parallelism (default 2).
set -euo pipefail

seconds=${1:-60}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${DEEPLAB_FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${JOBS:-2}

need_packages=()
command -v clang++ >/dev/null 2>&1 || need_packages+=(clang)
# Debian's clang uses LLVM's OpenMP runtime (libomp), which the engine needs.
dpkg -s libomp-dev >/dev/null 2>&1 || need_packages+=(libomp-dev)
if ((${#need_packages[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "fuzz.sh: installing ${need_packages[*]}"
    apt-get install -y --no-install-recommends "${need_packages[@]}"
  else
    echo "fuzz.sh: needs ${need_packages[*]}: sudo apt-get install ${need_packages[*]}" >&2
    exit 1
  fi
fi

mkdir -p "$build"
if ! cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DDEEPLAB_BUILD_FUZZERS=ON -DDEEPLAB_WITH_CUDA=OFF -DDEEPLAB_BUILD_GST=OFF >"$build/configure.log" 2>&1; then
  cat "$build/configure.log" >&2
  exit 1
fi
ninja -C "$build" -j"$jobs" fuzz_onnx_loader fuzz_onnx_replay

work=$build/fuzz-work
mkdir -p "$work/corpus" "$work/artifacts"
"$build/tests/fuzz/fuzz_onnx_replay" --generate "$work/seeds"

# Leak checking is off: oneDNN and the OpenMP runtime keep per-thread caches alive until exit.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
# shellcheck disable=SC2086
exec "$build/tests/fuzz/fuzz_onnx_loader" \
  -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" ${FUZZ_FLAGS:-} \
  "$work/corpus" "$work/seeds" "$root/tests/fuzz/regressions"
