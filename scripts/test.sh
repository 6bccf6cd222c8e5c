#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (ctest). GPU tests report "skipped" on a
# machine without a GPU. Extra arguments go to ctest (e.g. -L unit, -R parity_ort).
source "$(dirname "$0")/lib/common.sh"
install_missing_packages "${DEEPLAB_APT_PACKAGES[@]}"
bash "$DEEPLAB_ROOT/scripts/install-ort.sh"
bash "$DEEPLAB_ROOT/scripts/fetch-models.sh" deeplabv3-mnv2-voc-513 deeplab-edgetpu-cityscapes deeplabv3-mnv2-voc
configure_and_build
install_python_module
log "running the tests"
cd "$DEEPLAB_BUILD_DIR"
ctest --output-on-failure -j "$(nproc)" --timeout 900 "$@"
