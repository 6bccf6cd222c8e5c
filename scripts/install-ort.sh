#!/usr/bin/env bash
# install-ort.sh — install ONNX Runtime (CPU), our reference runtime and speed peer, for
# scripts/ort/ort-run.mjs and scripts/bench-vs-ort.sh.
#
# Idempotent: runs `npm ci --ignore-scripts` in scripts/ort only when node_modules is missing or
# stale (package.json / package-lock.json / Node.js major changed since the last install), then
# checks that onnxruntime-node imports (ESM) and runs a tiny model, and prints the ORT version.
# --ignore-scripts matters: onnxruntime-node's postinstall tries to download GPU providers and
# fails without network; the CPU library ships inside the npm package.
#
# Installs nodejs and npm with apt-get when they are missing (needs root).
#
# Usage: bash scripts/install-ort.sh [--force]     (--force: reinstall node_modules)
# Exit status: 0 ok, 1 on any failure (with one "install-ort: error: ..." line on stderr).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORT_DIR="$ROOT/scripts/ort"
STAMP="$ORT_DIR/node_modules/.gst-deeplab-install-stamp"
MIN_NODE_MAJOR=16

log() { echo "install-ort: $*" >&2; }
die() { echo "install-ort: error: $*" >&2; exit 1; }

FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$arg' (usage: bash scripts/install-ort.sh [--force])" ;;
  esac
done

[[ -f "$ORT_DIR/package.json" && -f "$ORT_DIR/package-lock.json" ]] ||
  die "missing $ORT_DIR/package.json or package-lock.json"

# ------------------------------------------------------------------ node + npm
apt_lists_present() {
  compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null 2>&1
}

apt_install() {
  [[ "$(id -u)" -eq 0 ]] || die "$* not found and not root: install them (apt-get install $*) or rerun as root"
  command -v apt-get >/dev/null 2>&1 || die "$* not found and apt-get is not available"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt_lists_present; then
    log "apt lists are empty: apt-get update"
    apt-get update -qq || die "apt-get update failed"
  fi
  log "apt-get install $*"
  if ! apt-get install -y -qq --no-install-recommends "$@" >/dev/null; then
    log "install failed with the current lists: apt-get update and retry"
    apt-get update -qq || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null || die "apt-get install $* failed"
  fi
}

missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  apt_install "${missing[@]}"
  hash -r
fi
command -v node >/dev/null 2>&1 || die "node still not found after installing nodejs"
command -v npm >/dev/null 2>&1 || die "npm still not found after installing npm"

NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
[[ "$NODE_MAJOR" =~ ^[0-9]+$ ]] && ((NODE_MAJOR >= MIN_NODE_MAJOR)) ||
  die "Node.js $(node --version 2>/dev/null || echo '?') is too old: need >= $MIN_NODE_MAJOR"

# ------------------------------------------------------------------ node_modules
want_stamp() {
  {
    cat "$ORT_DIR/package.json" "$ORT_DIR/package-lock.json"
    echo "node-major=$NODE_MAJOR"
    echo "platform=$(uname -s)-$(uname -m)"
  } | sha256sum | cut -d' ' -f1
}

is_fresh() {
  [[ -d "$ORT_DIR/node_modules/onnxruntime-node" && -f "$STAMP" ]] &&
    [[ "$(cat "$STAMP")" == "$(want_stamp)" ]]
}

npm_install() {
  log "npm ci --ignore-scripts in scripts/ort ($1)"
  if ! (cd "$ORT_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2); then
    die "npm ci failed in $ORT_DIR (is the npm registry reachable?)"
  fi
  want_stamp >"$STAMP"
}

# ------------------------------------------------------------------ verification
# Imports onnxruntime-node as ESM from scripts/ort, checks the CPU backend by running a tiny
# embedded model (y = Relu(x), x: float32 [1,4]) and prints the ORT version on stdout.
TINY_MODEL_B64='CAdCBAoAEA06OwoMCgF4EgF5IgRSZWx1EgFnWhMKAXgSDgoMCAESCAoCCAEKAggEYhMKAXkSDgoMCAESCAoCCAEKAggE'
verify() {
  (cd "$ORT_DIR" && TINY_MODEL_B64="$TINY_MODEL_B64" node --input-type=module -e "
    const m = await import('onnxruntime-node');
    const ort = m.default ?? m;
    const model = Buffer.from(process.env.TINY_MODEL_B64, 'base64');
    const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, logSeverityLevel: 3 });
    const r = await s.run({ x: new ort.Tensor('float32', Float32Array.from([-1, 0, 2, -3]), [1, 4]) });
    const y = Array.from(r.y.data);
    if (y.join(',') !== '0,0,2,0') throw new Error('tiny model gave ' + y.join(','));
    const v = (ort.env && ort.env.versions && ort.env.versions.node) || 'unknown';
    console.log(v);
  ")
}

if ((FORCE)); then
  npm_install "forced"
elif [[ ! -d "$ORT_DIR/node_modules" ]]; then
  npm_install "node_modules missing"
elif ! is_fresh; then
  npm_install "node_modules stale"
else
  log "node_modules up to date"
fi

ERR_FILE="$(mktemp)"
trap 'rm -f "$ERR_FILE"' EXIT
if ! VERSION="$(verify 2>"$ERR_FILE")"; then
  log "onnxruntime-node failed to load: $(tr '\n' ' ' <"$ERR_FILE" | cut -c1-300)"
  npm_install "reinstall after failed check"
  VERSION="$(verify 2>"$ERR_FILE")" ||
    die "onnxruntime-node does not load after reinstall: $(tr '\n' ' ' <"$ERR_FILE" | cut -c1-300)"
fi

echo "onnxruntime-node $VERSION (node $(node --version), $ORT_DIR/node_modules)"
