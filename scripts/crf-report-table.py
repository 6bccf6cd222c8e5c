#!/usr/bin/python3
"""Markdown tables from scripts/crf-report-models.sh's JSON (docs/crf.md, "The whole report"):

  crf-report-table.py DIR

CamVid: mIoU (%) per model for off / DeepLab's / tuned, full and temporal (and temporal with one
iteration per warm frame, when DIR has those runs). Clips: flicker (% of pixels whose class changes
between consecutive frames) and TC pixel agreement (%) per model and clip for the same settings.
"""
import json
import sys
from pathlib import Path

SETTINGS = ["off", "deeplab-full", "tuned-full", "deeplab-temporal", "tuned-temporal"]
HEADERS = ["off", "DeepLab's, full", "tuned, full", "DeepLab's, temporal", "tuned, temporal"]
MODELS = ["deeplab-edgetpu-cityscapes", "deeplabv3-mnv2-voc-513", "deeplabv3-mnv2-voc"]
CLIPS = ["one-by-one-person-detection", "car-detection", "bottle-detection"]


def load(path):
    """The run's JSON, or None while it is missing or still being written."""
    text = path.read_text() if path.exists() else ""
    return json.loads(text) if text.strip() else None


def cell(run, key, digits=2):
    return "—" if run is None else f"{100 * run[key]:.{digits}f}"


def camvid_table(root):
    warm1 = any(root.glob("camvid-*-warm1.json"))
    extra = ["DeepLab's, temporal, 1 warm iteration", "tuned, temporal, 1 warm iteration"] if warm1 else []
    print("| model | " + " | ".join(HEADERS + extra) + " |")
    print("| --- |" + " ---: |" * (len(HEADERS) + len(extra)))
    for model in MODELS:
        names = SETTINGS + (["deeplab-temporal-warm1", "tuned-temporal-warm1"] if warm1 else [])
        runs = [load(root / f"camvid-{model}-{name}.json") for name in names]
        print(f"| {model} | " + " | ".join(cell(r, "miou") for r in runs) + " |")


def clip_table(root):
    print("| model | clip | " + " | ".join(HEADERS) + " |")
    print("| --- | --- |" + " ---: |" * len(HEADERS))
    for model in MODELS:
        for clip in CLIPS:
            runs = [load(root / f"video-{model}-{clip}-{name}.json") for name in SETTINGS]
            cells = [f"{cell(r, 'flicker', 3)} / {cell(r, 'tc_pixel_agreement', 2)}" for r in runs]
            print(f"| {model} | {clip} | " + " | ".join(cells) + " |")


def main():
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_dir():
        sys.exit("usage: crf-report-table.py DIR (the JSON of scripts/crf-report-models.sh)")
    root = Path(sys.argv[1])
    print("CamVid, 83 validation frames, mIoU %:\n")
    camvid_table(root)
    print("\nClips, flicker % / TC pixel agreement %:\n")
    clip_table(root)


if __name__ == "__main__":
    main()
