#!/usr/bin/env bash
# bench-vs-ort.sh — CPU benchmark of our engine (deeplab-bench) against ONNX Runtime on the same
# ONNX files, same thread count, interleaved in one run. Prints a header (command line, commit,
# CPU) and a markdown table; writes every raw JSON result line to a JSONL file.
#
# Usage:
#   bash scripts/bench-vs-ort.sh [--threads N] [--iters N] [--warmup N] [--rounds N]
#                                [--out FILE] [--ort-only] [PATH:WxH[:ITERS] ...]
#
#   PATH:WxH[:ITERS]  model file and input size (W x H); ITERS overrides --iters for that model.
#                     Default list (under ${DEEPLAB_MODEL_CACHE:-models/cache}):
#                       deeplabv3_mobilenet_v3_large.onnx:520x520
#                       deeplabv3_resnet50.onnx:520x520   (10 iterations unless --iters is given)
#                       deeplab_v3_1_default_1.onnx:257x257 (NHWC [1,257,257,3])
#   --threads N   intra-op threads for both runtimes (default 2)
#   --iters N     timed iterations per run (default 20)
#   --warmup N    ORT warm-up runs (default 3); deeplab-bench uses its own warm-up default
#   --rounds N    alternate ORT/deeplab N times per model (odd rounds ORT first, even rounds
#                 deeplab first); the table shows the median of the per-round medians (default 1)
#   --out FILE    JSONL evidence file (default docs/perf/cpu-bench-<date>.jsonl; an existing
#                 default file is not overwritten: -2, -3, ... is appended)
#   --ort-only    run only the ONNX Runtime half (deeplab columns show "skipped")
#
# Environment:
#   DEEPLAB_BUILD_DIR    build tree holding engine/tools/deeplab-bench (default build)
#   DEEPLAB_BENCH        full path of the deeplab-bench binary (overrides DEEPLAB_BUILD_DIR)
#   DEEPLAB_BENCH_ARGS   extra arguments appended to every deeplab-bench call (word-split)
#   DEEPLAB_MODEL_CACHE  directory of the default model list (default models/cache)
#
# deeplab-bench contract: `deeplab-bench --model PATH --size WxH --threads N --iters N --json`
# prints one JSON line with at least "infer_ms_median" and "total_ms_median" (frame -> class map).
# ORT half: `node scripts/ort/ort-run.mjs bench --model PATH --size WxH --threads N --iters N
# --warmup N --json`; the input shape follows the model's input metadata (static NHWC/NCHW shape
# as declared; dynamic dims filled as 1,3,H,W, or 1,H,W,3 for an NHWC-declared input).
#
# JSONL lines: one {"kind":"meta",...} line, then one {"kind":"run","tool":"ort"|"deeplab",
# "model","size","threads","iters","warmup","round","rc","status","cmd","result":<raw JSON line
# exactly as the tool printed it, or null>} per run. Re-render the table with
#   node scripts/ort/ort-run.mjs report FILE.jsonl
#
# Exit status: 0 when every run succeeded; 1 when any run failed or a model was missing (the table
# and the JSONL are still written); 2 on bad arguments.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORT_RUN="$ROOT/scripts/ort/ort-run.mjs"
PROG="bench-vs-ort"

usage_die() { echo "$PROG: error: $*" >&2; echo "$PROG: see: bash scripts/bench-vs-ort.sh --help" >&2; exit 2; }
die() { echo "$PROG: error: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }

CMDLINE="bash scripts/bench-vs-ort.sh"
for a in "$@"; do CMDLINE+=" $(printf '%q' "$a")"; done

THREADS=2
ITERS=20
ITERS_SET=0
WARMUP=3
ROUNDS=1
OUT=""
ORT_ONLY=0
ENTRIES=()

need_int() { # name value min
  [[ "$2" =~ ^[0-9]+$ ]] && (("$2" >= $3)) || usage_die "$1 needs an integer >= $3, got '$2'"
}

while (($#)); do
  case "$1" in
    -h|--help) sed -n '2,44p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --threads|--iters|--warmup|--rounds|--out)
      (($# >= 2)) || usage_die "$1 needs a value"
      opt="$1"; val="$2"; shift 2 ;;
    --threads=*|--iters=*|--warmup=*|--rounds=*|--out=*)
      opt="${1%%=*}"; val="${1#*=}"; shift ;;
    --ort-only) ORT_ONLY=1; shift; continue ;;
    --) shift; ENTRIES+=("$@"); break ;;
    -*) usage_die "unknown option '$1'" ;;
    *) ENTRIES+=("$1"); shift; continue ;;
  esac
  case "$opt" in
    --threads) need_int --threads "$val" 1; THREADS="$val" ;;
    --iters) need_int --iters "$val" 1; ITERS="$val"; ITERS_SET=1 ;;
    --warmup) need_int --warmup "$val" 0; WARMUP="$val" ;;
    --rounds) need_int --rounds "$val" 1; ROUNDS="$val" ;;
    --out) [[ -n "$val" ]] || usage_die "--out needs a file name"; OUT="$val" ;;
  esac
done

if ((${#ENTRIES[@]} == 0)); then
  CACHE="${DEEPLAB_MODEL_CACHE:-$ROOT/models/cache}"
  HEAVY_ITERS=""
  ((ITERS_SET)) || HEAVY_ITERS=":10"
  ENTRIES=(
    "$CACHE/deeplabv3_mobilenet_v3_large.onnx:520x520"
    "$CACHE/deeplabv3_resnet50.onnx:520x520$HEAVY_ITERS"
    "$CACHE/deeplab_v3_1_default_1.onnx:257x257"
  )
fi

# Parse PATH:WxH[:ITERS] from the right, so that PATH may itself contain ':'.
M_PATH=(); M_SIZE=(); M_ITERS=()
for e in "${ENTRIES[@]}"; do
  if [[ "$e" =~ ^(.+):([0-9]+x[0-9]+)(:([0-9]+))?$ ]]; then
    M_PATH+=("${BASH_REMATCH[1]}")
    M_SIZE+=("${BASH_REMATCH[2]}")
    it="${BASH_REMATCH[4]:-$ITERS}"
    need_int "iterations in '$e'" "$it" 1
    M_ITERS+=("$it")
  else
    usage_die "bad model entry '$e': expected PATH:WxH or PATH:WxH:ITERS (e.g. models/cache/m.onnx:520x520)"
  fi
done

# ------------------------------------------------------------------ tools
ORT_VERSION_LINE="$(bash "$ROOT/scripts/install-ort.sh" 2>/dev/null)" ||
  die "ONNX Runtime is not usable: run 'bash scripts/install-ort.sh' to see why"

DL_BENCH="${DEEPLAB_BENCH:-${DEEPLAB_BUILD_DIR:-$ROOT/build}/engine/tools/deeplab-bench}"
DL_EXTRA=()
if [[ -n "${DEEPLAB_BENCH_ARGS:-}" ]]; then read -r -a DL_EXTRA <<<"$DEEPLAB_BENCH_ARGS"; fi
if ((!ORT_ONLY)) && [[ ! -x "$DL_BENCH" ]]; then
  die "deeplab-bench not found or not executable: $DL_BENCH (build it, set DEEPLAB_BUILD_DIR or DEEPLAB_BENCH, or pass --ort-only)"
fi

# ------------------------------------------------------------------ output file
if [[ -z "$OUT" ]]; then
  base="$ROOT/docs/perf/cpu-bench-$(date +%F)"
  OUT="$base.jsonl"
  n=2
  while [[ -e "$OUT" ]]; do OUT="$base-$n.jsonl"; n=$((n + 1)); done
fi
mkdir -p "$(dirname "$OUT")" || die "cannot create directory for $OUT"
: >"$OUT" || die "cannot write $OUT"

COMMIT="$(git -C "$ROOT" rev-parse --verify -q HEAD 2>/dev/null || echo unknown)"
DIRTY=""
if [[ "$COMMIT" != unknown ]] && [[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
  DIRTY=" (+ uncommitted changes to tracked files)"
fi
CPU_LINE="$(lscpu 2>/dev/null | grep 'Model name' || echo 'Model name: unknown')"
DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

echo "# gst-deeplab CPU inference vs ONNX Runtime"
echo
echo '```'
echo "\$ $CMDLINE"
echo "\$ git rev-parse HEAD"
echo "$COMMIT$DIRTY"
echo "\$ lscpu | grep 'Model name'"
echo "$CPU_LINE"
echo "date: $DATE   nproc: $(nproc 2>/dev/null || echo '?')"
echo "$ORT_VERSION_LINE"
echo "deeplab-bench: $( ((ORT_ONLY)) && echo 'skipped (--ort-only)' || echo "$DL_BENCH")"
echo "threads=$THREADS iters=$ITERS warmup(ORT)=$WARMUP rounds=$ROUNDS"
echo "raw JSON lines: ${OUT#"$ROOT"/}"
echo '```'
echo

# JSON helpers run in node (always present: ORT needs it).
# envelope TOOL MODEL SIZE THREADS ITERS WARMUP ROUND RC STATUS CMD STDOUT_FILE STDERR_FILE
# prints one "run" line; the tool's last stdout line that parses as a JSON object is spliced in
# verbatim as "result"; prints status "ok" or a short failure reason.
ENVELOPE_JS='
const fs = require("fs");
const [tool, model, size, threads, iters, warmup, round, rc, status0, cmd, outF, errF, jsonl] = process.argv.slice(1);
let raw = null, status = status0;
if (outF) {
  const lines = fs.readFileSync(outF, "utf8").split("\n").map((l) => l.trim()).filter((l) => l.startsWith("{"));
  for (let i = lines.length - 1; i >= 0 && raw === null; i--) {
    try { const o = JSON.parse(lines[i]); if (o && typeof o === "object" && !Array.isArray(o)) raw = lines[i]; } catch {}
  }
}
const code = Number(rc);
if (!status) {
  const err = errF ? fs.readFileSync(errF, "utf8").split("\n").map((l) => l.trim()).filter(Boolean) : [];
  const last = err.length ? err[err.length - 1].slice(0, 200) : "";
  if (code !== 0) status = `failed (rc=${code})${last ? ": " + last : ""}`;
  else if (raw === null) status = "failed: no JSON line on stdout";
  else if (typeof JSON.parse(raw).infer_ms_median !== "number") status = "failed: no infer_ms_median";
  else status = "ok";
}
const head = JSON.stringify({ kind: "run", tool, model, size, threads: Number(threads), iters: Number(iters),
  warmup: warmup === "" ? null : Number(warmup), round: Number(round), rc: code, status, cmd });
fs.appendFileSync(jsonl, head.slice(0, -1) + `,"result":${raw === null ? "null" : raw}}` + "\n");
const med = raw === null ? null : JSON.parse(raw).infer_ms_median;
process.stdout.write(status === "ok" ? `ok ${med} ms` : status);
'
META_JS='
const [cmd, commit, dirty, cpu, date, ortLine, dl, threads, iters, warmup, rounds, jsonl] = process.argv.slice(1);
require("fs").appendFileSync(jsonl, JSON.stringify({ kind: "meta", date, command: cmd, commit,
  dirty: dirty !== "", cpu, ort: ortLine, deeplab_bench: dl, threads: Number(threads), iters: Number(iters),
  warmup: Number(warmup), rounds: Number(rounds) }) + "\n");
'

node -e "$META_JS" "$CMDLINE" "$COMMIT" "$DIRTY" "$CPU_LINE" "$DATE" "$ORT_VERSION_LINE" \
  "$( ((ORT_ONLY)) && echo skipped || echo "$DL_BENCH")" "$THREADS" "$ITERS" "$WARMUP" "$ROUNDS" "$OUT"

TMP_OUT="$(mktemp)"
TMP_ERR="$(mktemp)"
trap 'rm -f "$TMP_OUT" "$TMP_ERR"' EXIT

FAILED=0
quote_cmd() { local s="" a; for a in "$@"; do s+="${s:+ }$(printf '%q' "$a")"; done; printf '%s' "$s"; }

run_tool() { # tool model size iters round
  local tool="$1" model="$2" size="$3" iters="$4" round="$5" rc=0 warm="" res
  local -a cmd
  if [[ "$tool" == ort ]]; then
    cmd=(node "$ORT_RUN" bench --model "$model" --size "$size" --threads "$THREADS" --iters "$iters"
      --warmup "$WARMUP" --json)
    warm="$WARMUP"
  else
    cmd=("$DL_BENCH" --model "$model" --size "$size" --threads "$THREADS" --iters "$iters" --json
      ${DL_EXTRA[@]+"${DL_EXTRA[@]}"})
  fi
  "${cmd[@]}" >"$TMP_OUT" 2>"$TMP_ERR" || rc=$?
  res="$(node -e "$ENVELOPE_JS" "$tool" "$model" "$size" "$THREADS" "$iters" "$warm" "$round" "$rc" "" \
    "$(quote_cmd "${cmd[@]}")" "$TMP_OUT" "$TMP_ERR" "$OUT")"
  [[ "$res" == ok* ]] || FAILED=1
  log "  round $round $tool: $res"
}

record_skip() { # tool model size iters round status
  node -e "$ENVELOPE_JS" "$1" "$2" "$3" "$THREADS" "$4" "" "$5" -1 "$6" "" "" "" "$OUT" >/dev/null
}

for i in "${!M_PATH[@]}"; do
  model="${M_PATH[$i]}" size="${M_SIZE[$i]}" iters="${M_ITERS[$i]}"
  log "[$((i + 1))/${#M_PATH[@]}] $(basename "$model") $size threads=$THREADS iters=$iters"
  if [[ ! -f "$model" ]]; then
    log "  missing model file: $model"
    record_skip ort "$model" "$size" "$iters" 1 "missing model"
    record_skip deeplab "$model" "$size" "$iters" 1 "missing model"
    FAILED=1
    continue
  fi
  for ((r = 1; r <= ROUNDS; r++)); do
    if ((ORT_ONLY)); then
      run_tool ort "$model" "$size" "$iters" "$r"
      ((r == 1)) && record_skip deeplab "$model" "$size" "$iters" "$r" "skipped"
    elif ((r % 2 == 1)); then
      run_tool ort "$model" "$size" "$iters" "$r"
      run_tool deeplab "$model" "$size" "$iters" "$r"
    else
      run_tool deeplab "$model" "$size" "$iters" "$r"
      run_tool ort "$model" "$size" "$iters" "$r"
    fi
  done
done

node "$ORT_RUN" report "$OUT" || die "cannot render the table from $OUT"
echo
echo "Medians in ms over --iters timed runs after warm-up (median of per-round medians when" \
  "--rounds > 1); ratio > 1 means deeplab is faster than ONNX Runtime."
((FAILED == 0)) || { log "some runs failed or models were missing: see the table and $OUT"; exit 1; }
