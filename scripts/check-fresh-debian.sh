#!/usr/bin/env bash
# check-fresh-debian.sh — the README's two commands on a truly fresh Debian 12, in a chroot.
#
# Builds (once) a `debootstrap --variant=minbase bookworm` base and keeps it as a tarball, unpacks a
# fresh copy, clones the current commit (HEAD of this repository) into it with a copy of ../shared
# beside it (read-only, as in CI), and runs, as root with a clean environment (env -i, CI=true):
#   1. scripts/test.sh   (what CI runs through .ci/run)
#   2. scripts/demo.sh   then checks the files it writes under out/ (class maps, overlays, video)
# The chroot has no CUDA toolkit, so this also proves the CPU-only build. Host settings that a fresh
# machine on the same network gets too are carried in: the Debian mirror and suites of the host's
# apt sources, apt proxy settings, extra CA certificates (/usr/local/share/ca-certificates), proxy
# variables, the npm registry/proxy/CA settings, /etc/resolv.conf.
#
# usage: scripts/check-fresh-debian.sh [--only test|demo] [--keep] [--rebuild-base] [--allow-dirty]
#   --only test|demo  run one of the two commands (on its own, from a fresh copy)
#   --keep            keep the chroot after the run (unmounted) for inspection
#   --rebuild-base    build the debootstrap base tarball again
#   --allow-dirty     run although tracked files have uncommitted changes (they are NOT tested)
#
# environment:
#   DEEPLAB_FRESH_CACHE  cache folder: base tarball, chroots, logs (default <repo>/.cache/fresh-debian)
#   DEEPLAB_SHARED       the shared folder copied beside the clone (default <repo>/../shared)
#
# Takes ~30-40 minutes on a 2-core machine (base: ~5 more the first time). Needs root. Ends with one
# line "check-fresh-debian: PASS|FAIL ..."; exit status 0 only when everything that ran passed.
set -euo pipefail
# One brace group: bash reads it whole before running it, so a commit or checkout that changes this
# file during the (long) run cannot make the running script read a shifted file.
# shellcheck disable=SC2317  # (its functions are called: from traps and run_step)
{
PROG=check-fresh-debian
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${DEEPLAB_FRESH_CACHE:-$ROOT/.cache/fresh-debian}
SHARED=${DEEPLAB_SHARED:-$ROOT/../shared}
SUITE=bookworm
INCLUDE=ca-certificates
DEMO_OUTPUTS=(dog-mask.png dog-overlay.png person-mask.png person-overlay.png horses-mask.png
  horses-overlay.png eagle-mask.png eagle-overlay.png one-by-one-person-detection-overlay.mp4)

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

ONLY='' KEEP=0 REBUILD_BASE=0 ALLOW_DIRTY=0
while (($#)); do
  case $1 in
    --only) [[ ${2:-} == test || ${2:-} == demo ]] || die "--only takes 'test' or 'demo'"; ONLY=$2; shift ;;
    --only=test|--only=demo) ONLY=${1#--only=} ;;
    --keep) KEEP=1 ;;
    --rebuild-base) REBUILD_BASE=1 ;;
    --allow-dirty) ALLOW_DIRTY=1 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done

[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot, mounts)"
[[ -d $SHARED ]] || die "no shared folder at $SHARED (set DEEPLAB_SHARED)"
SHARED=$(cd "$SHARED" && pwd)
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

# ------------------------------------------------------------------ what is tested
COMMIT=$(git -C "$ROOT" rev-parse HEAD)
SHORT=$(git -C "$ROOT" rev-parse --short=12 HEAD)
if [[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no) ]]; then
  git -C "$ROOT" status --short --untracked-files=no >&2
  if ((ALLOW_DIRTY)); then
    say "WARNING: the changes above are NOT tested: the chroot gets the committed HEAD $SHORT only"
  else
    die "uncommitted changes (above) would not be tested: commit them, or pass --allow-dirty"
  fi
fi
untracked=$(git -C "$ROOT" status --porcelain | grep -c '^??' || true)
((untracked == 0)) || say "note: $untracked untracked file(s) are not tested (only the commit is cloned)"

# ------------------------------------------------------------------ mounts and cleanup
mounts_under() { # PREFIX: mount points at or below PREFIX, deepest first
  awk -v p="$1" '{ m = $2; gsub(/\\040/, " ", m); if (m == p || index(m, p "/") == 1) print m }' \
    /proc/self/mounts | sort -r
}
exec 9>"$CACHE/.lock"
flock -n 9 || die "another check-fresh-debian run is using $CACHE (or set DEEPLAB_FRESH_CACHE)"
leftover=$(mounts_under "$CACHE")
[[ -z $leftover ]] || die "still mounted under $CACHE from an earlier run; unmount first:
$(sed 's/^/  umount /' <<<"$leftover")"

BASE_TMP='' STEP_PID=''
STAMP=$(date +%Y%m%d-%H%M%S)
RUN_DIR=$CACHE/runs/$STAMP-$SHORT
CHROOT=$RUN_DIR/root
LOGS=$CACHE/logs/$STAMP-$SHORT
mkdir -p "$LOGS"

kill_tree() { # PID: the process and its descendants (started by this run)
  local c
  for c in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$c"; done
  kill -9 "$1" 2>/dev/null || true
}
kill_chroot_processes() { # processes whose root is the chroot (started by this run)
  local p r
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    if [[ $r == "$CHROOT" ]]; then kill -9 "${p#/proc/}" 2>/dev/null || true; fi
  done
}
unmount_all() { # PREFIX
  local m
  while read -r m; do
    [[ -n $m ]] || continue
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || say "cannot unmount $m"
  done <<<"$(mounts_under "$1")"
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $STEP_PID ]]; then kill_tree "$STEP_PID"; fi
  if [[ -d $CHROOT ]]; then kill_chroot_processes; fi
  unmount_all "$CACHE"
  if [[ -n $(mounts_under "$CACHE") ]]; then
    say "something is still mounted under $CACHE: left everything in place"
  else
    if [[ -n $BASE_TMP && -d $BASE_TMP ]]; then rm -rf --one-file-system "$BASE_TMP"; fi
    if [[ -d $RUN_DIR ]]; then
      if ((KEEP)); then say "chroot kept (unmounted): $CHROOT"; else rm -rf --one-file-system "$RUN_DIR"; fi
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
CURRENT_STEP=start
interrupted() { # SIGNAL-NAME EXIT-STATUS
  say "$1 during step $CURRENT_STEP; logs: $LOGS"
  echo "$PROG: FAIL $CURRENT_STEP ($1) @ $SHORT"
  exit "$2"
}
trap 'interrupted interrupted 130' INT
trap 'interrupted terminated 143' TERM

# ------------------------------------------------------------------ steps, timing, summary
declare -A TIME=()
SUMMARY=()
fmt_time() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

fail() { # STEP LOG [WHAT]: print the step's last lines, the summary line, and exit 1
  local step=$1 log=$2 what=${3:-}
  if [[ -f $log ]]; then
    say "last lines of $log:"
    tail -n 40 "$log" | sed 's/^/  | /' >&2
  fi
  say "logs: $LOGS"
  echo "$PROG: FAIL $step${TIME[$step]:+ ${TIME[$step]}}${what:+ ($what)}${SUMMARY[*]:+ after ${SUMMARY[*]}} @ $SHORT"
  exit 1
}

# run_step NAME COMMAND...: runs the command in a subshell with errexit, output in $LOGS/NAME.log,
# times it, and fails the whole run on error. In the background + wait, so that INT/TERM are
# handled at once (the trap kills the step's processes, then unmounts).
run_step() {
  local name=$1 log=$LOGS/$1.log t0 rc=0
  shift
  say "step $name ..."
  CURRENT_STEP=$name
  t0=$SECONDS
  set +e
  (set -e; "$@") >"$log" 2>&1 &
  STEP_PID=$!
  wait "$STEP_PID"
  rc=$?
  set -e
  STEP_PID=
  TIME[$name]=$(fmt_time $((SECONDS - t0)))
  say "step $name: $([[ $rc -eq 0 ]] && echo ok || echo "FAILED (exit $rc)") in ${TIME[$name]}"
  ((rc == 0)) || fail "$name" "$log" "exit $rc"
}

# ------------------------------------------------------------------ the host's Debian sources
# Stanzas/lines of the host's apt sources for this suite (and -updates, -security) signed by the
# Debian archive keyring (or unsigned): third-party repositories are not part of a fresh Debian.
host_debian_sources() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk -v suite="$SUITE" 'BEGIN { RS = ""; ORS = "\n" }
      { s = ""; n = split($0, l, "\n")
        for (i = 1; i <= n; i++) if (l[i] !~ /^[[:space:]]*#/) s = s l[i] "\n"
        if (s ~ ("\nSuites:[^\n]*" suite)) \
          if (s !~ /Signed-By:/ || s ~ /Signed-By:[^\n]*debian-archive-keyring/) \
            if (s !~ /\nEnabled:[[:space:]]*no/) print s }' "$f"
  done
}
host_debian_list_lines() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -E "^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[^[:space:]]+[[:space:]]+$SUITE(-updates|-security|/updates)?[[:space:]]" |
    grep -vE 'signed-by=' || true
}
# The mirror for debootstrap: the host's URI that serves the plain suite.
host_mirror() {
  local m
  m=$(host_debian_sources | awk -v suite="$SUITE" 'BEGIN { RS = "" }
    { if ($0 ~ ("Suites:([^\n]*[[:space:]])?" suite "([[:space:]]|$)")) {
        match($0, /URIs:[[:space:]]*[^[:space:]\n]+/); u = substr($0, RSTART, RLENGTH)
        sub(/URIs:[[:space:]]*/, "", u); print u; exit } }')
  [[ -n $m ]] || m=$(host_debian_list_lines | awk -v suite="$SUITE" '{ for (i = 2; i < NF; i++)
    if ($(i + 1) == suite && $i !~ /^\[/) { print $i; exit } }' | head -n 1)
  echo "${m:-http://deb.debian.org/debian}"
}
MIRROR=$(host_mirror)

# ------------------------------------------------------------------ steps
ensure_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 && return 0
  say "installing debootstrap on the host"
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
}

BASE_TAR=$CACHE/base-$SUITE-minbase.tar
BASE_KEY="$SUITE minbase include=$INCLUDE mirror=$MIRROR"
build_base() {
  rm -rf --one-file-system "$BASE_TMP"
  debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$BASE_TMP" "$MIRROR"
  unmount_all "$BASE_TMP"
  rm -rf "$BASE_TMP"/var/cache/apt/archives/*.deb
  tar --numeric-owner -C "$BASE_TMP" -cf "$BASE_TAR.tmp" .
  mv -f "$BASE_TAR.tmp" "$BASE_TAR"
  echo "$BASE_KEY" >"$BASE_TAR.key"
  rm -rf --one-file-system "$BASE_TMP"
}

# Copies of the host's network set-up that a fresh machine on the same network gets too.
configure_chroot() {
  mkdir -p "$CHROOT"
  tar --numeric-owner -C "$CHROOT" -xf "$BASE_TAR"
  # apt sources: the host's Debian entries (mirror, -updates, -security)
  rm -f "$CHROOT/etc/apt/sources.list"
  host_debian_sources >"$CHROOT/etc/apt/sources.list.d/debian.sources"
  host_debian_list_lines >"$CHROOT/etc/apt/sources.list"
  if [[ ! -s $CHROOT/etc/apt/sources.list.d/debian.sources && ! -s $CHROOT/etc/apt/sources.list ]]; then
    echo "deb $MIRROR $SUITE main" >"$CHROOT/etc/apt/sources.list"
  fi
  # apt settings about reaching the mirror (proxy, validity/date checks of a snapshot mirror)
  local f
  for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
    if [[ -f $f ]] && grep -qiE '^[^#/]*(proxy|Check-Valid-Until|Check-Date)' "$f"; then
      cp -- "$f" "$CHROOT/$f"
    fi
  done
  # extra CA certificates (update-ca-certificates runs in the chroot, step "setup")
  if [[ -d /usr/local/share/ca-certificates ]]; then
    mkdir -p "$CHROOT/usr/local/share/ca-certificates"
    cp -a /usr/local/share/ca-certificates/. "$CHROOT/usr/local/share/ca-certificates/"
  fi
  cp -L /etc/resolv.conf "$CHROOT/etc/resolv.conf"
  # npm: registry, proxy and CA settings of the host's npmrc files
  local npmrc
  for npmrc in /etc/npmrc /usr/etc/npmrc /usr/local/etc/npmrc "${HOME:-/root}/.npmrc"; do
    [[ -f $npmrc ]] && grep -E '^[[:space:]]*(registry|@[^=]*:registry|proxy|https-proxy|noproxy|cafile|ca|strict-ssl)[[:space:]]*=' "$npmrc"
  done | sort -u >"$CHROOT/root/.npmrc" || true
  # no daemons started by package installs inside the chroot
  printf '#!/bin/sh\nexit 101\n' >"$CHROOT/usr/sbin/policy-rc.d"
  chmod 755 "$CHROOT/usr/sbin/policy-rc.d"
  # the commit, and the shared folder beside it (read-only, as in CI)
  mkdir -p "$CHROOT/ci"
  git clone -q --no-checkout "$ROOT" "$CHROOT/ci/gst-deeplab"
  git -C "$CHROOT/ci/gst-deeplab" -c advice.detachedHead=false checkout -q --detach "$COMMIT"
  cp -a "$SHARED" "$CHROOT/ci/shared"
  chmod -R a-w "$CHROOT/ci/shared"
}

mount_chroot() {
  mount -t proc proc "$CHROOT/proc"
  mount --bind /sys "$CHROOT/sys"
  mount --bind /dev "$CHROOT/dev"
  mount --bind /dev/pts "$CHROOT/dev/pts"
  mount -t tmpfs -o mode=1777 shm "$CHROOT/dev/shm"
}

# The clean environment: what a root login on a fresh machine has, plus the host's proxy settings.
CHROOT_ENV=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
  CI=true "TERM=${TERM:-dumb}")
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  if [[ -n ${!v:-} ]]; then CHROOT_ENV+=("$v=${!v}"); fi
done
if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
  CHROOT_ENV+=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
fi

in_chroot() { # COMMAND (a bash -c string), run in the clone as root with the clean environment
  chroot "$CHROOT" /usr/bin/env -i "${CHROOT_ENV[@]}" /bin/bash -c "cd /ci/gst-deeplab && $1" </dev/null
}

check_outputs() {
  local out=$CHROOT/ci/gst-deeplab/out f bad=0 magic
  for f in "${DEMO_OUTPUTS[@]}"; do
    if [[ ! -s $out/$f ]]; then echo "missing or empty: out/$f"; bad=1; continue; fi
    case $f in
      *.png) magic=$(head -c 8 "$out/$f" | od -An -tx1 | tr -d ' \n')
             [[ $magic == 89504e470d0a1a0a ]] || { echo "not a PNG: out/$f"; bad=1; } ;;
      *.mp4) magic=$(head -c 8 "$out/$f" | tail -c 4)
             [[ $magic == ftyp ]] || { echo "not an MP4: out/$f"; bad=1; } ;;
    esac
    echo "ok: out/$f ($(stat -c %s "$out/$f") bytes)"
  done
  return "$bad"
}

# ------------------------------------------------------------------ run
say "testing commit $SHORT of $ROOT; cache $CACHE; mirror $MIRROR; logs $LOGS"
T_ALL=$SECONDS
run_step host-debootstrap ensure_debootstrap
if ((REBUILD_BASE)) || [[ ! -f $BASE_TAR || $(cat "$BASE_TAR.key" 2>/dev/null) != "$BASE_KEY" ]]; then
  BASE_TMP=$CACHE/base.tmp
  run_step base build_base
else
  say "base: $BASE_TAR (cached; --rebuild-base builds it again)"
fi
run_step chroot configure_chroot
mount_chroot
run_step setup in_chroot 'update-ca-certificates'

tests=
if [[ $ONLY != demo ]]; then
  run_step test.sh in_chroot './scripts/test.sh'
  total=$(sed -n 's/.*tests passed, [0-9]* tests failed out of \([0-9]*\).*/\1/p' "$LOGS/test.sh.log" | tail -n 1)
  skipped=$(grep -c '(Skipped)' "$LOGS/test.sh.log" || true)
  [[ -n $total ]] || fail test.sh "$LOGS/test.sh.log" "no ctest summary line"
  tests="$total tests${skipped:+, $skipped skipped}"
  tests=${tests%, 0 skipped}
  SUMMARY+=("test.sh ${TIME[test.sh]} ($tests)")
fi
if [[ $ONLY != test ]]; then
  run_step demo.sh in_chroot './scripts/demo.sh'
  SUMMARY+=("demo.sh ${TIME[demo.sh]}")
  run_step outputs check_outputs
  SUMMARY[-1]+=" outputs ok"
  # Issue 14's promise: after the README's commands, Debian's python3 imports the module from any folder.
  run_step python in_chroot 'cd / && python3 -c "import deeplab, numpy; s = deeplab.Segmenter(); frame = numpy.zeros((240, 320, 3), numpy.uint8); print(s.segment(frame).class_map.shape)"'
  grep -q '^(240, 320)$' "$LOGS/python.log" || fail python "$LOGS/python.log" "no class map shape printed"
  SUMMARY+=("python import ok")
fi

say "logs: $LOGS"
say "total $(fmt_time $((SECONDS - T_ALL)))"
echo "$PROG: PASS ${SUMMARY[*]}${ONLY:+ (--only $ONLY)} @ $SHORT"
}; exit
