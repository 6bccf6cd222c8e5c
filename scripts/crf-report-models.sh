#!/usr/bin/env bash
# Issue 13's per-model CRF report (docs/crf.md, "Per-model parameters: the whole report"): for each
# shipped model, the CRF off / with DeepLab's parameters (configs/crf/deeplab.yaml) / with the
# model's own tuned crf: block, full and temporal, measured by deeplab-eval:
#   camvid: mIoU on the 83 CamVid validation frames the tuner never saw (files 120..202 of
#           ../shared/eval/camvid, file order), CRF at the frame's size; temporal = --sequence;
#   video:  flicker and TC on the first $MAX_FRAMES frames of each shared clip, CRF at
#           --crf-scale $CLIP_SCALE, in each model's classes (VOC: voc.yaml; Cityscapes:
#           camvid11-cityscapes.yaml, its 19 classes folded into CamVid's 11);
#   warm1:  the camvid temporal runs again with one iteration per warm frame instead of two
#           (--crf-temporal-iterations 1): the accuracy cost of halving a warm frame's mean field.
# Raw JSON and the exact commands (with the load average before each) go to $OUT; then
# scripts/crf-report-table.py $OUT prints the tables.
#
#   scripts/crf-report-models.sh [BUILD_DIR]      # STEPS="camvid video" (default both); MODELS="..."
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
SHARED=${DEEPLAB_SHARED_DIR:-$ROOT/../shared}
OUT=${OUT:-$ROOT/docs/perf/crf-report-$(date -u +%F)}
SCRATCH=${SCRATCH:-$ROOT/out/crf-report}
MAX_FRAMES=${MAX_FRAMES:-75}
CLIP_SCALE=${CLIP_SCALE:-0.5}
THREADS=${THREADS:-2}
STEPS=${STEPS:-camvid video warm1}
MODELS=${MODELS:-deeplab-edgetpu-cityscapes deeplabv3-mnv2-voc-513 deeplabv3-mnv2-voc}
CLIPS=${CLIPS:-one-by-one-person-detection car-detection bottle-detection}
EVAL=$BUILD/engine/tools/deeplab-eval
CAMVID=$SHARED/eval/camvid
DEEPLAB_PARAMS=$ROOT/configs/crf/deeplab.yaml
export OMP_WAIT_POLICY=PASSIVE
export DEEPLAB_MODEL_CACHE=${DEEPLAB_MODEL_CACHE:-$ROOT/models/cache}

[ -x "$EVAL" ] || { echo "crf-report-models.sh: $EVAL missing (cmake --build build --target deeplab-eval)" >&2; exit 2; }
mkdir -p "$OUT" "$SCRATCH"
COMMANDS=$OUT/commands.txt
{
  echo "# produced by STEPS='$STEPS' MODELS='$MODELS' scripts/crf-report-models.sh $*" | sed "s|$ROOT/||g"
  echo "# commit $(git -C "$ROOT" rev-parse HEAD)$(git -C "$ROOT" diff --quiet HEAD -- engine || echo ' (engine/ modified)')"
  echo "# $(date -u +%FT%TZ), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
} >> "$COMMANDS"

# run OUTPUT.json COMMAND...: records the command and the load, keeps the JSON.
# shellcheck source=scripts/lib/crf-run.sh
source "$ROOT/scripts/lib/crf-run.sh"

class_map() {  # class_map MODEL camvid|video
  case "$1:$2" in
    deeplab-edgetpu-cityscapes:camvid) echo "$ROOT/configs/eval/camvid-cityscapes.yaml" ;;
    deeplab-edgetpu-cityscapes:video) echo "$ROOT/configs/eval/camvid11-cityscapes.yaml" ;;
    *:camvid) echo "$ROOT/configs/eval/camvid-voc.yaml" ;;
    *) echo "$ROOT/configs/eval/voc.yaml" ;;
  esac
}

# The five settings of one model: off; DeepLab's parameters and the model's block, full and temporal.
# settings OUT_PREFIX ARGS...: ARGS select the frames (images or a clip). With OVERLAYS=DIR set, each
# run also writes its overlays into DIR-SETTING (the pictures' panels).
settings() {
  local prefix=$1
  shift
  run "$prefix-off.json" "$EVAL" "$@" --crf off ${OVERLAYS:+--overlay-dir "$OVERLAYS-off"}
  for mode in full temporal; do
    run "$prefix-deeplab-$mode.json" "$EVAL" "$@" --crf "$mode" --crf-params "$DEEPLAB_PARAMS" \
        ${OVERLAYS:+--overlay-dir "$OVERLAYS-deeplab-$mode"}
    run "$prefix-tuned-$mode.json" "$EVAL" "$@" --crf "$mode" ${OVERLAYS:+--overlay-dir "$OVERLAYS-tuned-$mode"}
  done
}

# The validation frames as a folder of links (deeplab-eval takes a folder; --limit takes a prefix).
VAL=$SCRATCH/camvid-val
validation_frames() {
  rm -rf "$VAL"
  mkdir -p "$VAL/images" "$VAL/labels"
  find "$CAMVID/images" -maxdepth 1 -name '*.png' -printf '%f\n' | LC_ALL=C sort | tail -n +121 | while read -r f; do
    ln -s "$CAMVID/images/$f" "$VAL/images/$f"
    ln -s "$CAMVID/labels/$f" "$VAL/labels/$f"
  done
  [ "$(find "$VAL/images" -name '*.png' | wc -l)" = 83 ] || { echo "expected 83 validation frames" >&2; exit 1; }
}
camvid_args() {  # camvid_args MODEL
  echo --model "$1" --class-map "$(class_map "$1" camvid)" --images "$VAL/images" --labels "$VAL/labels" \
      --sequence --threads "$THREADS" --json
}

if [[ " $STEPS " == *" camvid "* ]]; then
  validation_frames
  # shellcheck disable=SC2046  # the paths have no spaces (checked by the links above)
  for model in $MODELS; do settings "$OUT/camvid-$model" $(camvid_args "$model"); done
fi

if [[ " $STEPS " == *" warm1 "* ]]; then
  validation_frames
  for model in $MODELS; do
    # shellcheck disable=SC2046
    run "$OUT/camvid-$model-deeplab-temporal-warm1.json" "$EVAL" $(camvid_args "$model") --crf temporal \
        --crf-params "$DEEPLAB_PARAMS" --crf-temporal-iterations 1
    # shellcheck disable=SC2046
    run "$OUT/camvid-$model-tuned-temporal-warm1.json" "$EVAL" $(camvid_args "$model") --crf temporal \
        --crf-temporal-iterations 1
  done
fi

if [[ " $STEPS " == *" video "* ]]; then
  for model in $MODELS; do
    for clip in $CLIPS; do
      OVERLAYS=$SCRATCH/overlays/$model-$clip settings "$OUT/video-$model-$clip" --model "$model" --class-map "$(class_map "$model" video)" \
          --video "$SHARED/media/$clip.mp4" --max-frames "$MAX_FRAMES" --crf-scale "$CLIP_SCALE" \
          --threads "$THREADS" --json
    done
  done
fi
echo "done: $OUT" >&2
