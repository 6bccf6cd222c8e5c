#!/usr/bin/env bash
# Submits scripts/cluster/segment-corpus.sbatch over a list of videos (docs/cluster.md).
#
#   scripts/cluster/submit.sh [--tasks N] [--parallel M] [--gpu] [--sbatch ARG]... \
#       LIST CONFIG.yaml OUTPUT_DIR [deeplab-batch options]
#
#   --tasks N     array tasks (shards); default: one per video of LIST (a text list), at most 1000
#   --parallel M  at most M tasks at a time (the array's %M); default 10
#   --gpu         one GPU per task (--gres=gpu:1) and segmentation.device=cuda
#   --sbatch ARG  passed to sbatch (repeatable): --partition=..., --time=..., --cpus-per-task=...
# Prints the array's job id. Logs: OUTPUT_DIR/logs/segment-corpus_JOBID_TASK.log.
set -euo pipefail

tasks="" parallel=10 gpu=0 sbatch_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tasks) tasks=$2; shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    --gpu) gpu=1; shift ;;
    --sbatch) sbatch_args+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
if [ $# -lt 3 ]; then
  echo "usage: $0 [--tasks N] [--parallel M] [--gpu] [--sbatch ARG]... LIST CONFIG.yaml OUTPUT_DIR [deeplab-batch options]" >&2
  exit 2
fi
list=$1 config=$2 output_dir=$3
shift 3
if [ -z "$tasks" ]; then
  [ -f "$list" ] || { echo "$0: '$list' is not a list file: give --tasks N" >&2; exit 2; }
  videos=$(grep -cvE '^[[:space:]]*(#|$)' "$list" || true)
  tasks=$(( videos < 1000 ? videos : 1000 ))
fi
[ "$tasks" -ge 1 ] || { echo "$0: no video in '$list'" >&2; exit 2; }

extra=()
if [ "$gpu" = 1 ]; then
  sbatch_args+=(--gres=gpu:1)
  extra+=(--set segmentation.device=cuda)
fi
mkdir -p "$output_dir/logs"  # sbatch does not create the log folder
exec sbatch --parsable --array="0-$((tasks - 1))%${parallel}" --output="$output_dir/logs/%x_%A_%a.log" \
     "${sbatch_args[@]}" "$(dirname "$0")/segment-corpus.sbatch" "$list" "$config" "$output_dir" "${extra[@]}" "$@"
