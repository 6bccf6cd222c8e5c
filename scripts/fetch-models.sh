#!/usr/bin/env bash
# Put the model files named by models/NAME.yaml into the model cache, verified by sha256.
#
# usage: scripts/fetch-models.sh [--random] [NAME...]
#   NAME      a manifest models/NAME.yaml (default: deeplabv3-mnv2-voc-513)
#   --random  for manifests without a download (torchvision archs): export the architecture with
#             deterministic random weights into the cache (tests only; needs torch, see below)
#
# environment:
#   DEEPLAB_MODEL_CACHE   cache directory (default: <repo>/models/cache)
#   DEEPLAB_MODEL_MIRROR  directory searched for the file before downloading
#                         (default: <repo>/../shared/models when it exists)
#   DEEPLAB_PYTHON        interpreter with torch/torchvision/onnx for --random
#                         (default: /usr/bin/python3 when it exists, else python3)
#
# A file already in the cache with the right sha256 is left alone. Anything fetched goes to a
# temporary file first and is moved into the cache only after its sha256 matched the manifest.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=fetch-models.sh
DEFAULT_NAME=deeplabv3-mnv2-voc-513
CACHE=${DEEPLAB_MODEL_CACHE:-$REPO/models/cache}
if [[ -n ${DEEPLAB_MODEL_MIRROR+set} ]]; then
  MIRROR=$DEEPLAB_MODEL_MIRROR
elif [[ -d $REPO/../shared/models ]]; then
  MIRROR=$(cd "$REPO/../shared/models" && pwd)
else
  MIRROR=
fi
if [[ -n ${DEEPLAB_PYTHON:-} ]]; then
  PYTHON=$DEEPLAB_PYTHON
elif [[ -x /usr/bin/python3 ]]; then
  PYTHON=/usr/bin/python3
else
  PYTHON=python3
fi

say() { printf '%s: %s\n' "$PROG" "$*"; }
err() { printf '%s: error: %s\n' "$PROG" "$*" >&2; }

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

# yaml_scalar FILE KEY: value of a top-level "KEY: value" line, without comment or quotes.
yaml_scalar() {
  sed -n "s/^$2:[[:space:]]*//p" "$1" | head -n 1 |
    sed -e 's/[[:space:]]\{1,\}#.*$//' -e 's/[[:space:]]*$//' -e 's/^"\(.*\)"$/\1/' -e "s/^'\\(.*\\)'\$/\\1/"
}

# checkpoint_url FILE: the url inside the top-level "checkpoint:" block, if any.
checkpoint_url() {
  awk '/^checkpoint:/ { inside = 1; next }
       inside && /^[^[:space:]#]/ { inside = 0 }
       inside && /^[[:space:]]+url:/ {
         sub(/^[[:space:]]+url:[[:space:]]*/, ""); sub(/[[:space:]]+#.*$/, ""); gsub(/"/, ""); print; exit
       }' "$1"
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

TMP=
cleanup() { if [[ -n $TMP ]]; then rm -f -- "$TMP"; fi; }
trap cleanup EXIT

download() { # URL DEST
  if command -v curl >/dev/null 2>&1; then
    curl -fL --progress-bar --retry 2 --connect-timeout 20 --max-time 1800 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget --tries=3 --timeout=20 -O "$2" "$1"
  else
    err "neither curl nor wget is installed; cannot download $1"
    return 1
  fi
}

# fetch_verified NAME FILE URL SHA: mirror or download into a temp file, verify, move into cache.
fetch_verified() {
  local name=$1 file=$2 url=$3 sha=$4 dest=$CACHE/$2 from actual
  if [[ -f $dest ]]; then
    actual=$(sha256_of "$dest")
    if [[ $actual == "$sha" ]]; then
      say "$name: $file already in $CACHE (sha256 ok)"
      return 0
    fi
    say "$name: cached $file has sha256 $actual, expected $sha; fetching it again"
  fi
  TMP=$(mktemp "$CACHE/.$file.XXXXXX")
  if [[ -n $MIRROR && -f $MIRROR/$file ]]; then
    from="mirror $MIRROR/$file"
    cp -- "$MIRROR/$file" "$TMP"
  elif [[ -n $url ]]; then
    from=$url
    say "$name: downloading $url"
    if ! download "$url" "$TMP"; then
      err "$name: download of $file failed: $url"
      rm -f -- "$TMP"; TMP=
      return 1
    fi
  else
    err "$name: $file is not in the mirror (${MIRROR:-none}) and the manifest has no url"
    rm -f -- "$TMP"; TMP=
    return 1
  fi
  actual=$(sha256_of "$TMP")
  if [[ $actual != "$sha" ]]; then
    err "$name: sha256 mismatch for $file (from $from): expected $sha, got $actual"
    rm -f -- "$TMP"; TMP=
    return 1
  fi
  chmod 644 "$TMP"
  mv -f -- "$TMP" "$dest"
  TMP=
  # licence texts kept beside the model in the mirror travel with it (e.g. NAME.LICENSE-*.txt)
  if [[ -n $MIRROR ]]; then
    local lic
    for lic in "$MIRROR/${file%.*}".LICENSE*; do
      if [[ -f $lic ]]; then install -m 644 -- "$lic" "$CACHE/"; fi
    done
  fi
  say "$name: $file -> $dest (from $from, sha256 ok)"
}

# local_export NAME FILE MANIFEST: a file users make themselves (torchvision archs): check the
# cache, export with random weights (--random), or say how to make it.
local_export() {
  local name=$1 file=$2 manifest=$3 dest=$CACHE/$2 ckpt_url expected
  if [[ -f $dest && -f $CACHE/$name.yaml ]]; then
    expected=$(yaml_scalar "$CACHE/$name.yaml" sha256)
    if [[ -n $expected && $(sha256_of "$dest") == "$expected" ]]; then
      say "$name: $file already in $CACHE (sha256 matches $CACHE/$name.yaml)"
      return 0
    fi
  fi
  if [[ $RANDOM_WEIGHTS == 1 ]]; then
    say "$name: exporting with RANDOM weights (tests only) into $CACHE"
    if ! "$PYTHON" "$REPO/scripts/export-torchvision.py" "$name" --random --out-dir "$CACHE"; then
      err "$name: random-weight export failed (interpreter $PYTHON; set DEEPLAB_PYTHON)"
      return 1
    fi
    return 0
  fi
  ckpt_url=$(checkpoint_url "$manifest")
  err "$name: $file cannot be downloaded; make it from the official checkpoint:"
  {
    if [[ -n $ckpt_url ]]; then
      printf '  1. download the checkpoint:  curl -fLO %s\n' "$ckpt_url"
      printf '  2. export it:                %s scripts/export-torchvision.py %s --checkpoint %s --out-dir %s\n' \
        "$PYTHON" "$name" "${ckpt_url##*/}" "$CACHE"
    else
      printf '  export it:  %s scripts/export-torchvision.py %s --random --out-dir %s\n' "$PYTHON" "$name" "$CACHE"
    fi
    printf '  or, for tests only (random weights):  scripts/fetch-models.sh --random %s\n' "$name"
  } >&2
  return 1
}

fetch_one() {
  local name=$1 manifest file url sha
  if [[ ! $name =~ ^[A-Za-z0-9._-]+$ ]]; then
    err "bad model name '$name'"
    return 1
  fi
  manifest=$REPO/models/$name.yaml
  if [[ ! -f $manifest ]]; then
    local known=() m
    for m in "$REPO"/models/*.yaml; do
      if [[ -f $m ]]; then known+=("$(basename "$m" .yaml)"); fi
    done
    err "no manifest models/$name.yaml; known: ${known[*]:-none}"
    return 1
  fi
  file=$(yaml_scalar "$manifest" file)
  url=$(yaml_scalar "$manifest" url)
  sha=$(yaml_scalar "$manifest" sha256)
  if [[ -z $file || $file == */* ]]; then
    err "$name: manifest $manifest has no usable 'file:' (got '$file')"
    return 1
  fi
  if [[ -n $sha ]]; then
    if [[ ! $sha =~ ^[0-9a-f]{64}$ ]]; then
      err "$name: manifest sha256 '$sha' is not 64 lowercase hex digits"
      return 1
    fi
    fetch_verified "$name" "$file" "$url" "$sha"
  else
    local_export "$name" "$file" "$manifest"
  fi
}

RANDOM_WEIGHTS=0
NAMES=()
for arg in "$@"; do
  case $arg in
    -h|--help) usage; exit 0 ;;
    --random) RANDOM_WEIGHTS=1 ;;
    -*) err "unknown option '$arg' (see --help)"; exit 2 ;;
    *) NAMES+=("$arg") ;;
  esac
done
if [[ ${#NAMES[@]} -eq 0 ]]; then NAMES=("$DEFAULT_NAME"); fi

if [[ -n $MIRROR && ! -d $MIRROR ]]; then
  say "warning: mirror directory $MIRROR does not exist; ignoring it"
  MIRROR=
fi
mkdir -p -- "$CACHE"

failed=0
for name in "${NAMES[@]}"; do
  fetch_one "$name" || failed=$((failed + 1))
done
if [[ $failed -gt 0 ]]; then
  err "$failed of ${#NAMES[@]} model(s) not available"
  exit 1
fi
