#!/usr/bin/env python3
"""Runs deeplab-eval and checks what it did: the exit status, stderr, and the JSON it printed.

  check_eval.py [--exit N] [--stderr REGEX] [--json images|video] [--count N] [--miou LO,HI]
                [--tc LO,HI] [--flicker LO,HI] [--crf MODE] [--warm N] [--present CLASS] [--mismatch-dir DIR --camvid DIR]
                -- deeplab-eval ARGS...

--mismatch-dir builds DIR/images/x.png (a CamVid frame) and DIR/labels/x.png (a label of another
size) before running, for the label-size-mismatch test. Prints PASS or FAIL lines; exits 1 on FAIL.
"""
import argparse
import json
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def in_range(name, value, bounds):
    lo, hi = (float(v) for v in bounds.split(","))
    if value is None or not (lo <= value <= hi):
        fail(f"{name} = {value}, expected within [{lo}, {hi}]")
    print(f"ok: {name} = {value:.4f} within [{lo}, {hi}]")


def write_gray_png(path, width, height):
    """An all-zero 8-bit grayscale PNG (no imaging library needed)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(width) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
                           + chunk(b"IEND", b""))


def make_mismatch(directory, camvid):
    directory = Path(directory)
    shutil.rmtree(directory, ignore_errors=True)
    (directory / "images").mkdir(parents=True)
    (directory / "labels").mkdir(parents=True)
    first = sorted((Path(camvid) / "images").glob("*.png"))[0]
    shutil.copy(first, directory / "images" / "x.png")
    write_gray_png(directory / "labels" / "x.png", 100, 80)


def check_images(report, args):
    for key in ("miou", "pixel_acc", "per_class", "images", "pixels", "ignored_pixels", "crf", "crf_ms_mean"):
        if key not in report:
            fail(f"JSON has no '{key}'")
    if args.count is not None and report["images"] != args.count:
        fail(f"images = {report['images']}, expected {args.count}")
    names = [c["name"] for c in report["per_class"]]
    if names != ["background", "car", "person"]:
        fail(f"per_class names {names}")
    if sum(c["pixels"] for c in report["per_class"]) != report["pixels"]:
        fail("per_class pixels do not add up to pixels")
    # 480x360 frames: every pixel is either counted or ignored.
    if report["pixels"] + report["ignored_pixels"] != report["images"] * 480 * 360:
        fail("pixels + ignored_pixels != images * 480 * 360")
    ious = [c["iou"] for c in report["per_class"] if c["iou"] is not None]
    if abs(sum(ious) / len(ious) - report["miou"]) > 1e-5:
        fail("miou is not the mean of the per-class IoUs")
    in_range("pixel_acc", report["pixel_acc"], "0.5,1")
    if args.miou:
        in_range("miou", report["miou"], args.miou)


def check_video(report, args):
    for key in ("flicker", "tc", "tc_pixel_agreement", "frames", "pairs", "per_class", "crf", "crf_ms_mean"):
        if key not in report:
            fail(f"JSON has no '{key}'")
    if args.count is not None and (report["frames"] != args.count or report["pairs"] != args.count - 1):
        fail(f"frames/pairs = {report['frames']}/{report['pairs']}, expected {args.count}/{args.count - 1}")
    frame_pixels = report["width"] * report["height"]
    if sum(c["pixels"] for c in report["per_class"]) != report["frames"] * frame_pixels:
        fail("per_class pixels do not add up to frames * width * height")
    if args.flicker:
        in_range("flicker", report["flicker"], args.flicker)
    if args.tc:
        in_range("tc", report["tc"], args.tc)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--exit", type=int, default=0)
    p.add_argument("--stderr")
    p.add_argument("--json", choices=["images", "video"])
    p.add_argument("--count", type=int)
    p.add_argument("--miou")
    p.add_argument("--tc")
    p.add_argument("--flicker")
    p.add_argument("--crf")
    p.add_argument("--warm", type=int, help="exactly this many frames warm-started by the temporal CRF")
    p.add_argument("--present", help="this evaluation class must be predicted somewhere")
    p.add_argument("--mismatch-dir")
    p.add_argument("--camvid")
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.mismatch_dir:
        make_mismatch(args.mismatch_dir, args.camvid)

    run = subprocess.run(command, capture_output=True, text=True)
    sys.stderr.write(run.stderr)
    if run.returncode != args.exit:
        fail(f"exit status {run.returncode}, expected {args.exit}\nstdout: {run.stdout[:2000]}")
    if args.stderr and not re.search(args.stderr, run.stderr):
        fail(f"stderr does not match /{args.stderr}/")
    if args.json:
        try:
            report = json.loads(run.stdout)
        except json.JSONDecodeError as e:
            fail(f"stdout is not one JSON object ({e}): {run.stdout[:500]}")
        print(json.dumps({k: v for k, v in report.items() if k != "crf_options"}))
        if args.crf and report["crf"] != args.crf:
            fail(f"crf = {report['crf']}, expected {args.crf}")
        if args.crf and args.crf != "off" and not report["crf_ms_mean"] > 0:
            fail("the CRF is on but crf_ms_mean is not positive")
        if args.warm is not None and report["crf_warm_started_frames"] != args.warm:
            fail(f"crf_warm_started_frames = {report['crf_warm_started_frames']}, expected {args.warm}")
        (check_images if args.json == "images" else check_video)(report, args)
        if args.present:
            entry = next((c for c in report["per_class"] if c["name"] == args.present), None)
            if entry is None or entry.get("predicted_pixels", entry["pixels"]) == 0 or entry["iou"] is None:
                fail(f"class {args.present} is not predicted anywhere: {entry}")
    print("PASS")


if __name__ == "__main__":
    main()
