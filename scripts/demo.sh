#!/usr/bin/env bash
# Installs what is missing, builds, fetches the default model and the samples, and segments them:
# class-map PNGs (pixel value = class id) and overlays of the stills, and an overlay video of the
# first DEEPLAB_DEMO_FRAMES (default 300) frames of a clip, through the GStreamer plugin with
# deeplab-run and configs/demo.yaml (docs/pipelines.md), in out/.
source "$(dirname "$0")/lib/common.sh"
install_missing_packages "${DEEPLAB_APT_PACKAGES[@]}"
configure_and_build
install_python_module
bash "$DEEPLAB_ROOT/scripts/fetch-models.sh" deeplabv3-mnv2-voc-513
bash "$DEEPLAB_ROOT/scripts/fetch-samples.sh"
out=$DEEPLAB_ROOT/out
mkdir -p "$out"
samples=${DEEPLAB_SAMPLE_CACHE:-$DEEPLAB_ROOT/out/samples}
for still in dog person horses eagle; do
  "$DEEPLAB_BUILD_DIR/engine/tools/deeplab-segment" --model deeplabv3-mnv2-voc-513 --input "$samples/$still.jpg" \
    --output-mask "$out/$still-mask.png" --overlay "$out/$still-overlay.png"
done
frames=${DEEPLAB_DEMO_FRAMES:-300}
log "segmenting $frames frames of one-by-one-person-detection.mp4 with deeplab-run configs/demo.yaml"
"$DEEPLAB_BUILD_DIR/pipeline/deeplab-run" "$DEEPLAB_ROOT/configs/demo.yaml" \
  --set source.path="$samples/one-by-one-person-detection.mp4" --set source.max-frames="$frames" \
  --set outputs.0.path="$out/one-by-one-person-detection-overlay.mp4"
log "done: class maps and overlays of the stills in $out, and the video $out/one-by-one-person-detection-overlay.mp4"
