#!/usr/bin/env python3
"""Coral's own ground-truth check of a segmentation model (google-coral/test_data's test images and
masks, in ../shared/models/coral-testdata): runs deeplab-segment on IMAGE, compares the class map with
MASK as Coral's test does, score = equal pixels / (2 x pixels - equal pixels) over all pixels (the
mask's 255 'ignore' pixels count as unequal, as there), and passes at score >= MIN.

usage: check_coral.py SEGMENT MODEL IMAGE MASK MIN WORKDIR
Prints 'SKIP:' and exits 77 only when a shared file is absent."""
import os
import subprocess
import sys

import numpy as np
from PIL import Image


def main():
    segment, model, image, mask, minimum, work = sys.argv[1:7]
    for path in (image, mask):
        if not os.path.exists(path):
            print(f"SKIP: {path} is absent")
            return 77
    os.makedirs(work, exist_ok=True)
    out = os.path.join(work, f"{model}.{os.path.basename(image)}.png")
    result = subprocess.run([segment, "--model", model, "--input", image, "--output-mask", out, "--threads", "2"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        print(f"FAIL: deeplab-segment exited {result.returncode}: {result.stderr.strip()}")
        return 1
    predicted = np.asarray(Image.open(out))
    truth = np.asarray(Image.open(mask))
    if truth.ndim == 3:
        truth = truth[..., 0]
    if predicted.shape != truth.shape:
        print(f"FAIL: class map {predicted.shape} vs mask {truth.shape}")
        return 1
    equal = int(np.count_nonzero(predicted == truth))
    pixels = truth.size
    score = equal / (2 * pixels - equal)
    verdict = "PASS" if score >= float(minimum) else "FAIL"
    present = ", ".join(f"{c}:{n}" for c, n in zip(*np.unique(predicted, return_counts=True)))
    print(f"{verdict}: {model} on {os.path.basename(image)}: Coral score {score:.4f} (min {float(minimum):.2f}); "
          f"{100 * equal / pixels:.2f} % of {pixels} pixels equal; predicted classes {present}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
