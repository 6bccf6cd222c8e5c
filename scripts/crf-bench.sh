#!/usr/bin/env bash
# crf-bench.sh — CPU time of the dense CRF (deeplab-crf-bench): full and temporal mode, 21 classes,
# 10 iterations (temporal: 2), at 480x360, 1920x1080 and 1920x1080 with crf-scale 0.5 (the CRF at
# 960x540), with 1 and 2 threads, on CamVid frames in file order (../shared/eval/camvid/images; at
# 1920x1080 they are upscaled from 960x720, smoother than a native 1080p frame, so the appearance lattice has
# fewer vertices than it would there). With --peer, densecrf (pydensecrf's C++ core, built by
# scripts/bench-pydensecrf.sh) runs on the same inputs (frames, probabilities, parameters) once per
# size (it is single-threaded) and every line gets the peer's times and peer / ours ratios.
# Writes every JSON line (each with /proc/loadavg at its start) to docs/perf/crf-cpu-<date>.jsonl
# after a header line (commit, CPU, load), and prints a summary table with the goals of issue 13.
# deeplab-machine-bench runs before and after the cases ("kind": "machine" lines): how much a second
# core added to memory bandwidth and to arithmetic at that moment, the bounds on the CRF's 2-thread
# speed-up (on a shared virtual machine they change from minute to minute).
#
# Usage: bash scripts/crf-bench.sh [--peer] [--quick] [--out FILE] [--images DIR]
#   --quick: 480x360 and the crf-scale 0.5 case only, fewer frames (a few minutes with --peer)
# Environment: DEEPLAB_BUILD_DIR (default build) holds engine/tools/deeplab-crf-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${DEEPLAB_BUILD_DIR:-build}"
bench="$build/engine/tools/deeplab-crf-bench"
machine="$build/engine/tools/deeplab-machine-bench"
images="../shared/eval/camvid/images"
out="docs/perf/crf-cpu-$(date +%Y-%m-%d).jsonl"
peer=0
cases="480x360:1:6 1920x1080:1:2 1920x1080:0.5:4"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --images) images="$2"; shift 2 ;;
    --peer) peer=1; shift ;;
    --quick) cases="480x360:1:4 1920x1080:0.5:3"; shift ;;
    *) echo "crf-bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for tool in "$bench" "$machine"; do
  [ -x "$tool" ] || { echo "crf-bench.sh: $tool not built (cmake --build $build --target $(basename "$tool"))" >&2; exit 1; }
done
[ -d "$images" ] || { echo "crf-bench.sh: no images in $images" >&2; exit 1; }
[ "$peer" = 1 ] && bash scripts/bench-pydensecrf.sh --build
export OMP_WAIT_POLICY=PASSIVE
mkdir -p "$(dirname "$out")"
load() { cut -d' ' -f1-3 /proc/loadavg; }
with_load() { sed "s/}\$/, \"load\": \"$1\"}/"; }
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
printf '{"kind": "meta", "commit": "%s", "cpu": "%s", "cores": %s, "load": "%s"}\n' \
  "$(git rev-parse --short HEAD)" "$cpu" "$(nproc)" "$(load)" | tee "$out"
machine_line() { l="$(load)"; "$machine" --threads 2 --json | sed "s/^{/{\"when\": \"$1\", /" | with_load "$l" | tee -a "$out"; }
machine_line before
for c in $cases; do
  IFS=: read -r size scale frames <<<"$c"
  dump="" peer_inputs="$build/pydensecrf/inputs-$size-$scale"
  if [ "$peer" = 1 ]; then
    dump="$peer_inputs"
    rm -rf "$dump"
  fi
  for threads in 1 2; do
    l="$(load)"
    "$bench" --images "$images" --size "$size" --crf-scale "$scale" --frames "$frames" --threads "$threads" \
      ${dump:+--dump "$dump"} --json | with_load "$l" | tee -a "$out"
    dump=""  # the inputs do not depend on the thread count
  done
  if [ "$peer" = 1 ]; then
    l="$(load)"
    bash scripts/bench-pydensecrf.sh "$peer_inputs" | sed "s/^{/{\"size\": \"$size\", \"crf_scale\": $scale, /" |
      with_load "$l" | tee -a "$out"
  fi
done
machine_line after
/usr/bin/python3 scripts/lib/crf_bench_summary.py "$out"
