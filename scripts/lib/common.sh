# Shared by the scripts: repository paths, logging, and installing what is missing (Debian 12).
set -euo pipefail
DEEPLAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEEPLAB_BUILD_DIR=${DEEPLAB_BUILD_DIR:-$DEEPLAB_ROOT/build}
DEEPLAB_SHARED=${DEEPLAB_SHARED:-$DEEPLAB_ROOT/../shared}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian packages the project needs: build, engine, tools, tests. Node.js (for the ONNX Runtime
# reference) is installed by scripts/install-ort.sh only when `node` is missing: machines with
# NodeSource's nodejs (which bundles npm and conflicts with Debian's npm) keep theirs.
# ocl-icd-opencl-dev: Debian's oneDNN is built with its OpenCL GPU runtime, so dnnl-config.cmake
# calls find_package(OpenCL) and configure fails without it; libdnnl-dev only *Recommends* it and
# we install with --no-install-recommends (a fresh Debian 12 stopped at "Could NOT find OpenCL").
DEEPLAB_APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  libdnnl-dev ocl-icd-opencl-dev libonnx-dev libprotobuf-dev protobuf-compiler libyaml-cpp-dev libssl-dev
  libopencv-dev libgtest-dev libgmock-dev
  # TFLite import (engine/src/tflite): flatbuffers headers, and flatc to generate the reader from the
  # project's schema subset (engine/src/tflite/tflite_schema.fbs) at build time
  libflatbuffers-dev flatbuffers-compiler
  python3-torchvision python3-onnx python3-numpy python3-pil
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
  gstreamer1.0-libav
)

# Installs the missing packages with apt-get (as root; with sudo otherwise).
install_missing_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing with apt-get: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

configure_and_build() {
  log "configuring and building in $DEEPLAB_BUILD_DIR"
  cmake -S "$DEEPLAB_ROOT" -B "$DEEPLAB_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DDEEPLAB_SHARED_DIR="$DEEPLAB_SHARED" "$@"
  cmake --build "$DEEPLAB_BUILD_DIR" -j "$(nproc)"
}
