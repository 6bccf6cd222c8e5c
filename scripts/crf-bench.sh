#!/usr/bin/env bash
# crf-bench.sh — CPU time of the dense CRF (deeplab-crf-bench): full and temporal mode, 21 classes,
# 10 iterations (temporal: 2), at 480x360 and 1920x1080, with 1 and 2 threads, on CamVid frames in
# file order (../shared/eval/camvid/images; at 1920x1080 they are upscaled 4x, smoother than a
# native 1080p frame, so the appearance lattice has fewer vertices than it would there).
# Writes every JSON line to docs/perf/crf-cpu-<date>.jsonl (with a header line: commit, CPU, load)
# and prints them.
#
# Usage: bash scripts/crf-bench.sh [--out FILE] [--images DIR]
# Environment: DEEPLAB_BUILD_DIR (default build) holds engine/tools/deeplab-crf-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${DEEPLAB_BUILD_DIR:-build}"
bench="$build/engine/tools/deeplab-crf-bench"
images="../shared/eval/camvid/images"
out="docs/perf/crf-cpu-$(date +%Y-%m-%d).jsonl"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --images) images="$2"; shift 2 ;;
    *) echo "crf-bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$bench" ] || { echo "crf-bench.sh: $bench not built (cmake --build $build --target deeplab-crf-bench)" >&2; exit 1; }
[ -d "$images" ] || { echo "crf-bench.sh: no images in $images" >&2; exit 1; }
export OMP_WAIT_POLICY=PASSIVE
mkdir -p "$(dirname "$out")"
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
printf '{"kind": "meta", "commit": "%s", "cpu": "%s", "cores": %s, "load": "%s"}\n' \
  "$(git rev-parse --short HEAD)" "$cpu" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out"
for size in 480x360:6 1920x1080:2; do
  for threads in 1 2; do
    "$bench" --images "$images" --size "${size%%:*}" --frames "${size##*:}" --threads "$threads" --json | tee -a "$out"
  done
done
