#!/usr/bin/env bash
# gpu-bench.sh — on a GPU machine: our Segmenter on CUDA (fp16 and fp32; deeplab-gpu-pipeline-bench,
# which times what deeplab-bench --device cuda times, stage by stage, but builds without OpenCV) and
# PyTorch on the same GPU (scripts/bench-gpu-vs-torch.py: eager fp16 channels-last, torch.compile),
# same models (random weights), same network input size, same frames, in one run. Prints a markdown
# table and writes everything (command, commit, GPU, every raw JSON line) to one JSON file.
#
# Usage:
#   bash scripts/gpu-bench.sh [--build DIR] [--out FILE] [--iters N] [--warmup N]
#                             [--models a,b] [--size WxH] [--frames WxH,WxH] [--precisions fp16,fp32]
#                             [--in-flight 1,2] [--torch-modes eager,compile] [--compile-mode MODE]
#
#   --build DIR       build tree with tests/gpu/deeplab-gpu-pipeline-bench (default build-gpu)
#   --out FILE        JSON evidence (default docs/perf/gpu/gpu-bench-<date>.json)
#   --models          default deeplabv3_resnet50,deeplabv3_mobilenet_v3_large
#   --size WxH        network input size (default 520x520)
#   --frames          frame sizes (default 520x520,1920x1080)
#   --precisions      deeplab-bench precisions (default fp16,fp32)
#   --in-flight       frames in flight (Segmenter::submit/collect; default 1,2): frames/s and latency each
#   --torch-modes     default eager,compile ("" skips PyTorch)
#
# Models: DIR/bench-models/MODEL.onnx, exported with random weights by
# bench-gpu-vs-torch.py --export-onnx when missing (torch + torchvision needed, not onnx).
# Environment: DEEPLAB_COMMIT names the commit when the tree has no .git (the device machine);
# PYTHON picks the interpreter (default python3).
# Exit status: 0 when every run succeeded, 1 when one failed (the table and JSON still written), 2 on
# bad arguments.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROG=gpu-bench
PYTHON=${PYTHON:-python3}
die() { echo "$PROG: error: $*" >&2; exit 2; }

BUILD=build-gpu
OUT=""
ITERS=50
WARMUP=10
MODELS=deeplabv3_resnet50,deeplabv3_mobilenet_v3_large
SIZE=520x520
FRAMES=520x520,1920x1080
PRECISIONS=fp16,fp32
IN_FLIGHT=1,2
TORCH_MODES=eager,compile
COMPILE_MODE=max-autotune-no-cudagraphs
CMDLINE="bash scripts/gpu-bench.sh"
for a in "$@"; do CMDLINE+=" $(printf '%q' "$a")"; done
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --iters) ITERS=${2:?}; shift 2 ;;
    --warmup) WARMUP=${2:?}; shift 2 ;;
    --models) MODELS=${2:?}; shift 2 ;;
    --size) SIZE=${2:?}; shift 2 ;;
    --frames) FRAMES=${2:?}; shift 2 ;;
    --precisions) PRECISIONS=${2:?}; shift 2 ;;
    --in-flight) IN_FLIGHT=${2:?}; shift 2 ;;
    --torch-modes) TORCH_MODES=${2-}; shift 2 ;;
    --compile-mode) COMPILE_MODE=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
cd "$ROOT" || exit 2
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
BENCH="$BUILD/tests/gpu/deeplab-gpu-pipeline-bench"
[ -x "$BENCH" ] || die "$BENCH not built (cmake --build $BUILD --target deeplab-gpu-pipeline-bench)"
command -v nvidia-smi >/dev/null || die "nvidia-smi not found: this script runs on a GPU machine"
DATE=$(date -u +%Y-%m-%d)
[ -n "$OUT" ] || OUT="$ROOT/docs/perf/gpu/gpu-bench-$DATE.json"
mkdir -p "$(dirname "$OUT")"
COMMIT=${DEEPLAB_COMMIT:-$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)}
GPU=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)
MODELS_DIR="$BUILD/bench-models"
RAW=$(mktemp)
trap 'rm -f "$RAW"' EXIT
status=0

IFS=, read -r -a model_list <<<"$MODELS"
IFS=, read -r -a frame_list <<<"$FRAMES"
IFS=, read -r -a precision_list <<<"$PRECISIONS"
IFS=, read -r -a in_flight_list <<<"$IN_FLIGHT"

missing=()
for m in "${model_list[@]}"; do [ -f "$MODELS_DIR/$m.onnx" ] || missing+=("$m"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "$PROG: exporting ${missing[*]} (random weights) into $MODELS_DIR" >&2
  (IFS=,; "$PYTHON" scripts/bench-gpu-vs-torch.py --export-onnx "$MODELS_DIR" --models "${missing[*]}" --size "$SIZE") \
    || { echo "$PROG: export failed" >&2; status=1; }
fi

for m in "${model_list[@]}"; do
  for f in "${frame_list[@]}"; do
    for p in "${precision_list[@]}"; do
     for n in "${in_flight_list[@]}"; do
      cmd=("$BENCH" --model "$MODELS_DIR/$m.onnx" --device cuda --precision "$p" --size "$SIZE" --frame "$f"
           --iters "$ITERS" --warmup "$WARMUP" --in-flight "$n" --json)
      echo "$PROG: ${cmd[*]}" >&2
      if line=$("${cmd[@]}" 2>&1 | tail -1) && [ "${line:0:1}" = "{" ]; then
        printf '{"tool":"deeplab","precision":"%s","result":%s}\n' "$p" "$line" >>"$RAW"
      else
        echo "$PROG: failed: $line" >&2
        printf '{"tool":"deeplab","precision":"%s","model":"%s","frame":"%s","error":%s}\n' "$p" "$m" "$f" \
          "$("$PYTHON" -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$line")" >>"$RAW"
        status=1
      fi
     done
    done
  done
done

if [ -n "$TORCH_MODES" ]; then
  echo "$PROG: PyTorch ($TORCH_MODES)" >&2
  "$PYTHON" scripts/bench-gpu-vs-torch.py --models "$MODELS" --size "$SIZE" --frames "$FRAMES" --modes "$TORCH_MODES" \
    --compile-mode "$COMPILE_MODE" --iters "$ITERS" --warmup "$WARMUP" \
    | while read -r line; do printf '{"tool":"torch","result":%s}\n' "$line"; done >>"$RAW" || status=1
fi

"$PYTHON" - "$RAW" "$OUT" "$CMDLINE" "$COMMIT" "$GPU" "$DATE" <<'PY' || status=1
import json, sys
raw, out, command, commit, gpu, date = sys.argv[1:]
rows = [json.loads(l) for l in open(raw) if l.strip()]
with open(out, "w") as f:
    json.dump({"kind": "gpu-bench", "command": command, "commit": commit, "gpu": gpu, "date": date,
               "runs": rows}, f, indent=1)
    f.write("\n")
print("GPU: %s; commit %s; %s\n" % (gpu, commit, command))
print("| model | frame | runtime | network ms | frame -> class map ms | upload | pre | upsample+argmax | download | in flight | frames/s |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    res = r.get("result")
    if res is None:
        print("| %s | %s | deeplab %s | failed | | | | | | | |" % (r.get("model"), r.get("frame"), r.get("precision")))
        continue
    frame = "%dx%d" % tuple(res["frame"])
    name = res["model"].split("/")[-1].replace(".onnx", "")
    if r["tool"] == "deeplab":
        print("| %s | %s | deeplab cuda %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %d | %.1f |" % (
            name, frame, r["precision"], res["infer_ms_median"], res["total_ms_median"], res.get("upload_ms_median", 0),
            res["preprocess_ms_median"], res["postprocess_ms_median"], res.get("download_ms_median", 0),
            res.get("in_flight", 1), res.get("fps", 0)))
    else:
        print("| %s | %s | torch %s | %.3f | %.3f | | | | | | |" % (
            name, frame, res["mode"], res["network_ms_median"], res["total_ms_median"]))
print("\nwrote %s" % out)
PY
exit $status
