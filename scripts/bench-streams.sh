#!/usr/bin/env bash
# bench-streams.sh — many streams, one engine (issue 15): N streams of the shared clips (stream k
# plays clip k modulo three), shared + batched (one BatchingEngine, batch N, deeplab/batching.h)
# against N separate Segmenters, each configuration in a process of its own
# (deeplab-bench-streams), interleaved per N. Prints a header and a markdown table (aggregate
# frames/s, per-stream latency median / p95, peak RSS); writes every raw JSON line to a JSONL file.
#
# Usage: bash scripts/bench-streams.sh [--model NAME] [--streams "1 2 4 8"] [--threads N]
#                                      [--frames N] [--timeout MS] [--out FILE]
#                                      [--device cpu|cuda] [--precision fp32|fp16]
# Defaults: deeplabv3-mnv2-voc (257x257), 1 2 4 8 streams, 2 threads (per Segmenter and for the
# shared engine), 30 measured frames per stream, 10 ms batch timeout, device cpu, fp32, out
# build/bench-streams.jsonl ($OUT/bench-streams-DEVICE.jsonl when OUT is set, as on the lent GPU
# machine). The clips come from ${DEEPLAB_SHARED_DIR:-../shared}/media.
# --device cuda: the same table on the GPU (N separate CUDA Segmenters vs one CUDA batching engine,
# batch N); on a machine without a GPU (nvidia-smi lists none) it says so and exits 0, running
# nothing. The tool needs OpenCV's videoio (the lent GPU box has none: see docs/gpu.md).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${DEEPLAB_BUILD_DIR:-build}"
media="${DEEPLAB_SHARED_DIR:-../shared}/media"
model=deeplabv3-mnv2-voc streams="1 2 4 8" threads=2 frames=30 timeout=10 out="" device=cpu precision=fp32
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --streams) streams="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --frames) frames="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    --precision) precision="$2"; shift 2 ;;
    *) echo "bench-streams.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$device" in cpu|cuda) ;; *) echo "bench-streams.sh: --device must be cpu or cuda, got '$device'" >&2; exit 2 ;; esac
if [ "$device" = cuda ] && ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  echo "bench-streams.sh: --device cuda: no GPU on this machine (nvidia-smi lists none); skipped, nothing run"
  exit 0
fi
if [ -z "$out" ]; then
  if [ -n "${OUT:-}" ]; then out="$OUT/bench-streams-$device.jsonl"
  elif [ "$device" = cpu ]; then out="$build/bench-streams.jsonl"
  else out="$build/bench-streams-$device.jsonl"; fi
fi
tool="$build/engine/tools/deeplab-bench-streams"
[ -x "$tool" ] || { echo "bench-streams.sh: build $tool first (cmake --build $build --target deeplab-bench-streams)" >&2; exit 2; }
clips="$media/car-detection.mp4,$media/bottle-detection.mp4,$media/one-by-one-person-detection.mp4"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

echo "# bench-streams.sh: model $model, device $device $precision, threads $threads, $frames frames per stream, batch timeout $timeout ms"
echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$out"
for n in $streams; do
  for mode in separate shared; do
    "$tool" --model "$model" --clips "$clips" --streams "$n" --mode "$mode" --batch "$n" --timeout "$timeout" \
      --threads "$threads" --frames "$frames" --device "$device" --precision "$precision" --json 2>/dev/null | tee -a "$out" > /dev/null
  done
done
/usr/bin/python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print("| streams | mode | batch | aggregate frames/s | latency median ms | latency p95 ms | network call median ms | peak RSS MiB |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['streams']} | {r['mode']} | {r['batch']} | {r['aggregate_fps']:.1f} | {r['latency_ms_median']:.1f} "
          f"| {r['latency_ms_p95']:.1f} | {r['network_ms_median']:.1f} | {r['peak_rss_mib']:.0f} |")
PY
