#!/usr/bin/env python3
"""deeplab-crf-tune end to end on a few CamVid frames: it writes a crf: block, deeplab-eval loads it
(--crf-params) and, on the frames it was tuned on, the CRF with it is not worse than no CRF.

  check_crf_tune.py --tune BIN --eval BIN --work DIR --frames N -- COMMON ARGS (--model, --class-map, --images, --labels)

Prints PASS or FAIL lines; exits 1 on FAIL.
"""
import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

# On the tuning frames the tuner scores at the CRF's working size, deeplab-eval at the frame's:
# labels upsampled from the working size may move a few boundary pixels either way.
TOLERANCE = 0.003


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def run(cmd):
    print("$ " + " ".join(cmd), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"exit {r.returncode}: {r.stderr[-2000:]}")
    return r


def read_block(path):
    """The crf: block's key: value lines (the tuner writes a flat block)."""
    text = Path(path).read_text()
    if not re.search(r"^crf:\s*$", text, re.M):
        fail(f"{path} has no crf: block:\n{text}")
    return {k: float(v) for k, v in re.findall(r"^  (\w+): ([-0-9.e]+)\s*$", text, re.M)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tune", required=True)
    ap.add_argument("--eval", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("common", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    common = [a for a in args.common if a != "--"]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    block_path = work / "tuned.yaml"
    block_path.unlink(missing_ok=True)
    n = args.frames

    r = run([args.tune, *common, "--tune-frames", f"0:{n}", "--validate-frames", f"{n}:{n + 2}", "--crf-scale", "0.25",
             "--quick", "--rounds", "1", "--threads", "2", "--output", str(block_path)])
    for pattern in (rf"best on the {n} tuning images: mIoU", r"search +\[#+ *\] +\d+/\d+ +best [0-9.]+ \(off [0-9.]+\)"):
        if not re.search(pattern, r.stderr):
            fail(f"stderr lacks /{pattern}/: {r.stderr[-1500:]}")
    for pattern in (r"validation, 2 images, mIoU: +off +DeepLab +(model's +)?tuned", r"\n  full +[0-9.]+",
                    r"\n  temporal \(in order\) +[0-9.]+"):
        if not re.search(pattern, r.stdout):
            fail(f"stdout lacks /{pattern}/:\n{r.stdout}")
    block = read_block(block_path)
    keys = {"iterations", "bilateral_weight", "bilateral_xy_std", "bilateral_rgb_std", "gaussian_weight",
            "gaussian_xy_std", "unary_temperature"}
    if set(block) != keys:
        fail(f"the block's keys {sorted(block)} are not {sorted(keys)}")
    print(f"ok: {block_path}: {block}")

    base = [args.eval, *common, "--limit", str(n), "--json", "--threads", "2"]
    off = json.loads(run(base + ["--crf", "off"]).stdout)
    tuned = json.loads(run(base + ["--crf", "full", "--crf-scale", "0.25", "--crf-params", str(block_path)]).stdout)
    used = tuned["crf_options"]
    for key, value in block.items():
        if abs(used[key] - value) > 1e-3 * max(1.0, abs(value)):
            fail(f"deeplab-eval ran {key} = {used[key]}, the file says {value}")
    print("ok: deeplab-eval --crf-params runs the file's parameters")
    if tuned["miou"] < off["miou"] - TOLERANCE:
        fail(f"tuned CRF mIoU {tuned['miou']:.4f} < no CRF {off['miou']:.4f} on the tuning frames")
    print(f"ok: mIoU on the {n} tuning frames: off {off['miou']:.4f}, tuned CRF {tuned['miou']:.4f}")
    print("PASS")


if __name__ == "__main__":
    main()
