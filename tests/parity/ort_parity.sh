#!/usr/bin/env bash
# Our CPU engine vs ONNX Runtime on one still, for the real NHWC TF model (input 257x257, x/127.5-1):
# full-resolution logits (final Upsample kept) and the native-resolution class map (removed).
#   ort_parity.sh RUN_NETWORK MODEL.onnx IMAGE WORKDIR
set -euo pipefail
run_network=$1 model=$2 image=$3 work=$4
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mkdir -p "$work"
name=$(basename "$image" .jpg)
[ -f "$model" ] || { echo "missing model $model" >&2; exit 1; }
/usr/bin/python3 - "$image" "$work/$name.input.npy" <<'PY'
import sys
import numpy as np
from PIL import Image
image = Image.open(sys.argv[1]).convert("RGB").resize((257, 257), Image.BILINEAR)
x = np.asarray(image).astype(np.float32) / 127.5 - 1.0
np.save(sys.argv[2], x[None].astype(np.float32))
PY
node "$root/scripts/ort/ort-run.mjs" run --model "$model" --input "$work/$name.input.npy" \
  --output "$work/$name.ort.npy" --threads 2
"$run_network" --model "$model" --input "$work/$name.input.npy" --reference "$work/$name.ort.npy" \
  --keep-final-resize --nhwc --min-agreement 0.999 --rel-tol 1e-4
"$run_network" --model "$model" --input "$work/$name.input.npy" --reference "$work/$name.ort.npy" \
  --nhwc --min-agreement 0.999
