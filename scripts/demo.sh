#!/usr/bin/env bash
# Installs what is missing, builds, fetches the default model and the sample stills, and segments
# them: class-map PNGs (pixel value = class id) and overlays land in out/.
source "$(dirname "$0")/lib/common.sh"
install_missing_packages "${DEEPLAB_APT_PACKAGES[@]}"
configure_and_build
bash "$DEEPLAB_ROOT/scripts/fetch-models.sh" deeplabv3-mnv2-voc
bash "$DEEPLAB_ROOT/scripts/fetch-samples.sh"
out=$DEEPLAB_ROOT/out
mkdir -p "$out"
samples=${DEEPLAB_SAMPLE_CACHE:-$DEEPLAB_ROOT/out/samples}
for still in dog person horses eagle; do
  "$DEEPLAB_BUILD_DIR/engine/tools/deeplab-segment" --model deeplabv3-mnv2-voc --input "$samples/$still.jpg" \
    --output-mask "$out/$still-mask.png" --overlay "$out/$still-overlay.png"
done
log "done: class maps and overlays in $out"
