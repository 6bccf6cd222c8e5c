#!/usr/bin/env bash
# bench-pydensecrf.sh — the benchmark peer: Krähenbühl's densecrf (the C++ core that pydensecrf
# wraps), built outside the sources (under the build folder; its code is never committed here)
# with the driver scripts/peer/densecrf_driver.cpp, run on inputs written by
# `deeplab-crf-bench --dump DIR` (same frames, probabilities and parameters as our CRF gets).
#
# Usage: bash scripts/bench-pydensecrf.sh --build          # extract and build only
#        bash scripts/bench-pydensecrf.sh DIR              # build if needed, run on DIR: one JSON line
# Environment: DEEPLAB_BUILD_DIR (default build); PYDENSECRF_SRC: a pydensecrf checkout or bare git
# directory (default: the mirror /work/.mirror/lucasb-eyer+pydensecrf/repo, else
# build/pydensecrf/checkout cloned from https://github.com/lucasb-eyer/pydensecrf).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${DEEPLAB_BUILD_DIR:-build}"
peer="$build/pydensecrf"
driver="$peer/densecrf-driver"
src="${PYDENSECRF_SRC:-/work/.mirror/lucasb-eyer+pydensecrf/repo}"

extract() {
  rm -rf "$peer/densecrf"
  mkdir -p "$peer"
  if [ -d "$src/pydensecrf/densecrf" ]; then  # a checkout
    cp -r "$src/pydensecrf/densecrf" "$peer/densecrf"
  elif git --git-dir="$src" rev-parse HEAD >/dev/null 2>&1; then  # a bare git directory
    git --git-dir="$src" archive HEAD pydensecrf/densecrf | tar -x -C "$peer"
    mv "$peer/pydensecrf/densecrf" "$peer/densecrf" && rmdir "$peer/pydensecrf"
  else
    echo "bench-pydensecrf.sh: no pydensecrf sources at $src; clone https://github.com/lucasb-eyer/pydensecrf" \
      "and set PYDENSECRF_SRC to it" >&2
    exit 1
  fi
}

build_driver() {
  local core="$peer/densecrf"
  # The core's CRF files (not the learning code: objective/optimization need liblbfgs). -O3 and
  # -march=native: the peer gets every chance (our engine is built with target clones for AVX2).
  echo "bench-pydensecrf.sh: building $driver" >&2
  g++ -std=c++14 -O3 -march=native -DNDEBUG -w -I"$core/include" -I"$core/src" \
    "$core"/src/{densecrf,permutohedral,pairwise,unary,labelcompatibility,util}.cpp \
    scripts/peer/densecrf_driver.cpp -o "$driver"
}

if [ ! -x "$driver" ] || [ scripts/peer/densecrf_driver.cpp -nt "$driver" ]; then
  [ -d "$peer/densecrf" ] || extract
  build_driver
fi
[ "${1:-}" = "--build" ] && exit 0
[ $# -eq 1 ] || { echo "usage: bash scripts/bench-pydensecrf.sh (--build | DIR)" >&2; exit 2; }
"$driver" "$1"
