#!/usr/bin/env bash
# The TFLite importer vs ONNX Runtime on the float ONNX rebuild of the same TFLite model
# (../shared/models/reference-onnx/, made by a converter outside this project), on one image:
# full-resolution logits (final RESIZE_BILINEAR kept) and the native-resolution class map (removed,
# upsampled by the engine's post-processing). Both see the same float input, pixel/128 - 1 at 513x513.
#   tflite_parity.sh RUN_NETWORK MODEL.tflite REFERENCE.onnx IMAGE WORKDIR
# Skips (exit 77) only when a shared file is absent.
set -euo pipefail
run_network=$1 model=$2 reference=$3 image=$4 work=$5
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
for f in "$model" "$reference" "$image"; do
  [ -f "$f" ] || { echo "SKIP: $f is absent"; exit 77; }
done
mkdir -p "$work"
name=$(basename "$model" .tflite).$(basename "${image%.*}")
/usr/bin/python3 - "$image" "$work/$name.nhwc.npy" "$work/$name.nchw.npy" <<'PY'
import sys
import numpy as np
from PIL import Image
image = Image.open(sys.argv[1]).convert("RGB").resize((513, 513), Image.BILINEAR)
x = (np.asarray(image).astype(np.float32) - 128.0) / 128.0
np.save(sys.argv[2], x[None].astype(np.float32))
np.save(sys.argv[3], np.ascontiguousarray(x.transpose(2, 0, 1)[None]).astype(np.float32))
PY
node "$root/scripts/ort/ort-run.mjs" run --model "$reference" --input "$work/$name.nchw.npy" \
  --output "$work/$name.ort.nchw.npy" --threads 2
# The imported graph keeps TFLite's NHWC for its input and its logits.
/usr/bin/python3 -c "import sys, numpy as np; np.save(sys.argv[2], np.ascontiguousarray(np.load(sys.argv[1]).transpose(0, 2, 3, 1)))" \
  "$work/$name.ort.nchw.npy" "$work/$name.ort.npy"
# Tolerance: logits within 2e-2 x the largest |logit|, argmax agreement >= 99.5 % (issue 12).
# Both run the same float network (the engine on the reference ONNX itself matches ORT to 1e-6 of
# the largest logit), but the rebuild's constants are not exactly TFLite's (q - zero_point) * scale,
# which the importer uses: they differ by a per-tensor factor (first convolution: weights x 0.999995,
# bias x 0.9978), which compounds over ~60 layers. Measured: 0.39 % .. 0.94 % of the largest |logit|
# over the stills and Coral's images, 99.59 % .. 99.99 % argmax agreement (the lowest: the Cityscapes
# model on horses.jpg, out of its domain, full of near-ties). 2e-2 is about twice the worst.
"$run_network" --model "$model" --input "$work/$name.nhwc.npy" --reference "$work/$name.ort.npy" \
  --keep-final-resize --nhwc --min-agreement 0.995 --rel-tol 2e-2 --threads 2
"$run_network" --model "$model" --input "$work/$name.nhwc.npy" --reference "$work/$name.ort.npy" \
  --nhwc --min-agreement 0.995 --threads 2
