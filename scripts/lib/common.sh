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
  # The Python module `deeplab` (python/, docs/python.md): pybind11 bindings for Debian's python3; its
  # tests (pytest), PyGObject GStreamer apps and mask_from_buffer (pygobject.h), the OpenCV example
  python3-dev pybind11-dev python3-pytest python3-gi python-gi-dev python3-gst-1.0 gir1.2-gstreamer-1.0
  gir1.2-gst-plugins-base-1.0 python3-opencv
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

# Makes Debian's python3 import the module built in $DEEPLAB_BUILD_DIR/python (`import deeplab`): a
# .pth file in its site folder (/usr/local/lib/python3.11/dist-packages; DEEPLAB_PYTHON_SITE overrides)
# names that folder, so the module stays the build tree's (rebuilds take effect, the plugin and the
# models are found as the tools find them). Idempotent; as root, or with sudo.
install_python_module() {
  local module_dir=$DEEPLAB_BUILD_DIR/python python=/usr/bin/python3
  [ -x "$python" ] || python=python3
  if ! compgen -G "$module_dir/deeplab/_deeplab*.so" >/dev/null; then
    log "the Python module was not built (see the configure log): not installing it"
    return 0
  fi
  local site=${DEEPLAB_PYTHON_SITE:-$("$python" -c 'import site; print(site.getsitepackages()[0])')}
  local pth=$site/gst-deeplab.pth
  if [ "$(cat "$pth" 2>/dev/null)" != "$module_dir" ]; then
    local sudo=""
    if [ "$(id -u)" -ne 0 ] && [ ! -w "$site" ]; then
      if ! command -v sudo >/dev/null; then
        log "python: not root and no sudo: use PYTHONPATH=$module_dir to import deeplab"
        return 0
      fi
      sudo=sudo
    fi
    log "python: $pth -> $module_dir"
    $sudo mkdir -p "$site"
    printf '%s\n' "$module_dir" | $sudo tee "$pth" >/dev/null
  fi
  (cd / && "$python" -c 'import deeplab') || die "$python cannot import deeplab after installing $pth"
}
