#!/usr/bin/env bash
# Fetches the sample stills (public domain, pjreddie/darknet data/) and a sample clip (CC BY 4.0,
# "Sample videos by Intel IoT DevKit") into out/samples, checking sha256; without network, copies
# them from the mirror ($DEEPLAB_MEDIA_MIRROR, default ../shared/media).
source "$(dirname "$0")/lib/common.sh"
dest=${DEEPLAB_SAMPLE_CACHE:-$DEEPLAB_ROOT/out/samples}
mirror=${DEEPLAB_MEDIA_MIRROR:-$DEEPLAB_SHARED/media}
stills=https://raw.githubusercontent.com/pjreddie/darknet/f6afaabcdf85f77e7aff2ec55c020c0e297c77f9/data
videos=https://raw.githubusercontent.com/intel-iot-devkit/sample-videos/57978890822836f2b4743852f04f62fc511757e4
declare -A sha=(
  [one-by-one-person-detection.mp4]=a5964aa259099a482a8b360ffc2c57b5a30f84d5919236a4dad01f8e929ac07c
  [dog.jpg]=5a9522051c3cec2bbd2f6323fccba32e8fbf3ddcc2b3e2fd46b04c720bc6f866
  [person.jpg]=cdcbab947e46110fc2b77784ac54ddbbab2640f1e44cb5e91fc8984a9793a7d1
  [horses.jpg]=c8f0a677a1356569e2ce71d2fa88c1030c0ae57ecf5e14170e02d9a86a20dcb4
  [eagle.jpg]=f95f57297fd51a6c5ddceb5ed6916fa759d1d65f402fee34c05b31a9608755c0
)
mkdir -p "$dest"
for file in dog.jpg person.jpg horses.jpg eagle.jpg one-by-one-person-detection.mp4; do
  case $file in *.mp4) base=$videos ;; *) base=$stills ;; esac
  target=$dest/$file
  if [ -f "$target" ] && echo "${sha[$file]}  $target" | sha256sum -c --quiet - 2>/dev/null; then continue; fi
  tmp=$(mktemp "$dest/.$file.XXXXXX")
  if [ -f "$mirror/$file" ]; then
    cp "$mirror/$file" "$tmp"
  elif ! curl -fsSL --retry 2 --max-time 60 -o "$tmp" "$base/$file"; then
    rm -f "$tmp"
    die "cannot download $base/$file and no mirror copy in $mirror"
  fi
  if ! echo "${sha[$file]}  $tmp" | sha256sum -c --quiet - 2>/dev/null; then
    rm -f "$tmp"
    die "$file: sha256 mismatch (expected ${sha[$file]})"
  fi
  mv "$tmp" "$target"
done
log "samples in $dest"
