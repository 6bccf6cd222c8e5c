# Sourced by scripts/crf-eval-report.sh and scripts/crf-report-models.sh, which set ROOT (the
# checkout), SHARED (../shared) and COMMANDS (the commands file beside the JSON).
# run OUTPUT.json COMMAND...: appends the load average and the command (paths relative to the
# checkout) to $COMMANDS, runs it and keeps its stdout (the JSON) in OUTPUT.json.
run() {
  local out=$1
  shift
  echo "# load average $(cut -d' ' -f1-3 /proc/loadavg)" >> "$COMMANDS"
  echo "$(printf '%q ' "$@")> ${out#$ROOT/}" | sed "s|$ROOT/||g; s|$SHARED|../shared|g" >> "$COMMANDS"
  echo "== ${out#$ROOT/}" >&2
  "$@" > "$out"
}
