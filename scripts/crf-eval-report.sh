#!/usr/bin/env bash
# Re-runs every measurement behind docs/crf.md "## Evaluation" and writes the raw JSON to
# docs/perf/crf/ (and the side-by-side pictures to docs/img/):
#   - CamVid (203 frames, ../shared/eval/camvid): mIoU with the CRF off / full / temporal;
#   - the same frames with an oracle unary (their own labels through an output stride), CRF off / full;
#   - CRF time per frame on the CPU at 480x360 and 1920x1080, full and temporal (deeplab-bench);
#   - flicker and TC on the shared clips (first $MAX_FRAMES frames) for off / full / temporal.
#
#   scripts/crf-eval-report.sh [BUILD_DIR]          # BUILD_DIR: default build/
# Needs deeplab-eval and deeplab-bench built in BUILD_DIR, the shared folder beside the checkout, and
# /usr/bin/python3 with Pillow (Debian's python3-pil) and gst-launch-1.0 with an H.264 decoder for
# the pictures. Takes about 25 minutes on 2 cores.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
SHARED=${DEEPLAB_SHARED_DIR:-$ROOT/../shared}
OUT=$ROOT/docs/perf/crf
IMG=$ROOT/docs/img
SCRATCH=${SCRATCH:-$ROOT/out/crf-eval}
MAX_FRAMES=${MAX_FRAMES:-150}
THREADS=${THREADS:-2}
EVAL=$BUILD/engine/tools/deeplab-eval
BENCH=$BUILD/engine/tools/deeplab-bench
CAMVID=$SHARED/eval/camvid
export OMP_WAIT_POLICY=PASSIVE
# The default model's file comes from the shared folder when the cache has none.
export DEEPLAB_MODEL_CACHE=${DEEPLAB_MODEL_CACHE:-$SHARED/models}

mkdir -p "$OUT" "$IMG" "$SCRATCH"
COMMANDS=$OUT/commands${STEPS:+-${STEPS// /-}}.txt
{
  echo "# docs/perf/crf: produced by STEPS='${STEPS:-camvid bench video oracle oracle-sweep pictures}' scripts/crf-eval-report.sh $*" | sed "s|$ROOT/||g"
  echo "# commit $(git -C "$ROOT" rev-parse HEAD)$(git -C "$ROOT" diff --quiet HEAD -- engine || echo ' (engine/ modified)')"
  echo "# $(date -u +%FT%TZ), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# environment: OMP_WAIT_POLICY=$OMP_WAIT_POLICY DEEPLAB_MODEL_CACHE=$DEEPLAB_MODEL_CACHE"
} > "$COMMANDS"

# run OUTPUT.json COMMAND...: records the command, runs it, keeps its JSON.
# shellcheck source=scripts/lib/crf-run.sh
source "$ROOT/scripts/lib/crf-run.sh"

STEPS=${STEPS:-camvid bench video oracle oracle-sweep pictures}  # a subset reruns only those parts

# 1. CamVid accuracy. Without --sequence each frame is its own stream (temporal = full there);
#    with it, the frames run in file-name order as one stream (two sequences, 1 s apart).
CAMVID_ARGS=(--model deeplabv3-mnv2-voc --class-map "$ROOT/configs/eval/camvid-voc.yaml"
             --images "$CAMVID/images" --labels "$CAMVID/labels" --threads "$THREADS" --json)
if [[ " $STEPS " == *" camvid "* ]]; then
  run "$OUT/camvid-off.json" "$EVAL" "${CAMVID_ARGS[@]}" --crf off --overlay-dir "$SCRATCH/camvid-off"
  run "$OUT/camvid-full.json" "$EVAL" "${CAMVID_ARGS[@]}" --crf full --overlay-dir "$SCRATCH/camvid-full"
  run "$OUT/camvid-full-sequence.json" "$EVAL" "${CAMVID_ARGS[@]}" --crf full --sequence
  run "$OUT/camvid-temporal-sequence.json" "$EVAL" "${CAMVID_ARGS[@]}" --crf temporal --sequence \
      --overlay-dir "$SCRATCH/camvid-temporal"
fi

# 2. CRF time per frame (CPU) at two sizes: the person clip's first frames scaled to the size (real
#    motion, so that temporal frames warm-start from a different previous frame). crf_ms_median is a
#    warm frame's cost in temporal mode; keyframes every 30 frames add to the mean over a stream
#    (crf_ms_mean of the video runs in 3.). Other jobs on a shared 2-core machine move single runs
#    by +-20%, so full and temporal alternate, three times over, with one thread (the steadier), and
#    once with two.
bench() {  # bench MODE SIZE THREADS SUFFIX
  local iters
  iters=$([ "$2" = 480x360 ] && echo 16 || echo 6)
  run "$OUT/bench-$1-$2-t$3$4.json" "$BENCH" --model deeplabv3-mnv2-voc --device cpu --threads "$3" \
      --frames-from "$SHARED/media/one-by-one-person-detection.mp4" --frame "$2" --iters "$iters" --warmup 2 \
      --crf "$1" --json
}
if [[ " $STEPS " == *" bench "* ]]; then
  for size in 480x360 1920x1080; do
    for rep in 1 2 3; do
      for mode in full temporal; do bench "$mode" "$size" 1 "-r$rep"; done
    done
    for mode in full temporal; do bench "$mode" "$size" 2 ""; done
  done
fi

# 3. Temporal stability on the shared clips, in VOC's own classes.
if [[ " $STEPS " == *" video "* ]]; then
  for clip in one-by-one-person-detection car-detection bottle-detection; do
    for mode in off full temporal; do
      run "$OUT/video-$clip-$mode.json" "$EVAL" --model deeplabv3-mnv2-voc --class-map "$ROOT/configs/eval/voc.yaml" \
          --video "$SHARED/media/$clip.mp4" --max-frames "$MAX_FRAMES" --threads "$THREADS" --json --crf "$mode"
    done
  done
fi

# 3b. The CRF on an oracle unary (no network): CamVid's own labels seen through output stride 8, 16
#     and 32 (deeplab-eval --oracle-unary), without and with the full CRF (DeepLab's parameters, and
#     the two kernel weights at 1), all 203 frames in the car/person/background classes.
if [[ " $STEPS " == *" oracle "* ]]; then
  ORACLE_ARGS=(--class-map "$ROOT/configs/eval/camvid-voc.yaml" --images "$CAMVID/images" --labels "$CAMVID/labels"
               --threads "$THREADS" --json)
  for stride in 8 16 32; do
    run "$OUT/oracle-s$stride-off.json" "$EVAL" "${ORACLE_ARGS[@]}" --oracle-unary "$stride:5" --crf off
    run "$OUT/oracle-s$stride-full.json" "$EVAL" "${ORACLE_ARGS[@]}" --oracle-unary "$stride:5" --crf full
    run "$OUT/oracle-s$stride-full-w1.json" "$EVAL" "${ORACLE_ARGS[@]}" --oracle-unary "$stride:5" --crf full \
        --crf-bilateral-weight 1 --crf-gaussian-weight 1
  done
fi
if [[ " $STEPS " == *" oracle-sweep "* ]]; then
  ORACLE_ARGS=(--class-map "$ROOT/configs/eval/camvid-voc.yaml" --images "$CAMVID/images" --labels "$CAMVID/labels"
               --threads "$THREADS" --json)
  # A sweep of the appearance kernel on the first 40 frames (stride 16, Gaussian weight 1): one JSON
  # object per line.
  SWEEP=$OUT/oracle-sweep-s16.jsonl
  : > "$SWEEP"
  for weight in 1 2 4; do
    for xy in 10 20 40; do
      for rgb in 3 8 15; do
        args=("${ORACLE_ARGS[@]}" --limit 40 --oracle-unary 16:5 --crf full --crf-gaussian-weight 1
              --crf-bilateral-weight "$weight" --crf-bilateral-xy-std "$xy" --crf-bilateral-rgb-std "$rgb")
        echo "$(printf '%q ' "$EVAL" "${args[@]}")>> ${SWEEP#$ROOT/}" | sed "s|$ROOT/||g; s|$SHARED|../shared|g" >> "$COMMANDS"
        "$EVAL" "${args[@]}" >> "$SWEEP"
      done
    done
  done
  run "$OUT/oracle-sweep-s16-off.json" "$EVAL" "${ORACLE_ARGS[@]}" --limit 40 --oracle-unary 16:5 --crf off
fi

# 4. Pictures: frame | CRF off | CRF full | CRF temporal at one frame of each clip (CC BY 4.0, so they
#    can be committed), from deeplab-eval runs that stop at that frame (the temporal run has carried
#    its state through the frames before it); the frame itself decoded by GStreamer. CamVid is
#    research-only: its side-by-sides (overlays from 1.) go to $SCRATCH, not docs/.
note() {  # records a command that writes no JSON
  printf '%q ' "$@" | sed "s|$ROOT/||g; s|$SHARED|../shared|g; s| \$||" >> "$COMMANDS"
  echo >> "$COMMANDS"
}
picture() {  # picture OUT.jpg IMAGE OFF FULL TEMPORAL (the four panels)
  note /usr/bin/python3 scripts/crf-eval-pictures.py --out "$1" --panel "image=$2" --panel "CRF off=$3" \
      --panel "CRF full=$4" --panel "CRF temporal=$5"
  /usr/bin/python3 "$ROOT/scripts/crf-eval-pictures.py" --out "$1" --panel "image=$2" --panel "CRF off=$3" \
      --panel "CRF full=$4" --panel "CRF temporal=$5"
}
clip_picture() {  # clip_picture CLIP FRAME
  local clip=$1 frame=$2 dir=$SCRATCH/pictures/$1 name
  name=$(printf frame_%05d.png "$frame")
  rm -rf "$dir"
  mkdir -p "$dir/image"
  note gst-launch-1.0 -q filesrc location="$SHARED/media/$clip.mp4" ! decodebin ! videoconvert \
      ! identity eos-after=$((frame + 2)) ! pngenc ! multifilesink location="$dir/image/frame_%05d.png"
  gst-launch-1.0 -q filesrc location="$SHARED/media/$clip.mp4" ! decodebin ! videoconvert \
      ! identity eos-after=$((frame + 2)) ! pngenc ! multifilesink location="$dir/image/frame_%05d.png"
  for mode in off full temporal; do
    note "$EVAL" --model deeplabv3-mnv2-voc --class-map "$ROOT/configs/eval/voc.yaml" --video "$SHARED/media/$clip.mp4" \
        --max-frames $((frame + 1)) --threads "$THREADS" --crf "$mode" --overlay-dir "$dir/$mode"
    "$EVAL" --model deeplabv3-mnv2-voc --class-map "$ROOT/configs/eval/voc.yaml" --video "$SHARED/media/$clip.mp4" \
        --max-frames $((frame + 1)) --threads "$THREADS" --crf "$mode" --overlay-dir "$dir/$mode" > /dev/null
  done
  picture "$IMG/crf-$clip-$frame.jpg" "$dir/image/$name" "$dir/off/$name" "$dir/full/$name" "$dir/temporal/$name"
}
if [[ " $STEPS " == *" pictures "* ]]; then
  clip_picture one-by-one-person-detection 70
  clip_picture bottle-detection 60
  clip_picture car-detection 75
  for name in 0001TP_008880 0001TP_009810 0001TP_009270; do
    if [ -f "$SCRATCH/camvid-off/$name.png" ]; then
      picture "$SCRATCH/crf-camvid-$name.jpg" "$CAMVID/images/$name.png" "$SCRATCH/camvid-off/$name.png" \
          "$SCRATCH/camvid-full/$name.png" "$SCRATCH/camvid-temporal/$name.png"
    fi
  done
fi
echo "done: $OUT" >&2
