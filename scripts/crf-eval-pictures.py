#!/usr/bin/python3
"""Side-by-side pictures for docs/crf.md: panels (a frame, its overlays with the CRF off, full,
temporal, as deeplab-eval --overlay-dir writes them) in a row, each scaled to --panel-width with a
caption above it.

  crf-eval-pictures.py --out FILE.jpg --panel "TITLE=IMAGE" [--panel "TITLE=IMAGE" ...]
"""
import argparse
from pathlib import Path

from PIL import Image, ImageDraw

CAPTION = 18  # pixels above each panel
GAP = 4       # pixels between panels


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--panel", action="append", required=True, help="TITLE=IMAGE")
    p.add_argument("--panel-width", type=int, default=360)
    args = p.parse_args()
    panels = []
    for spec in args.panel:
        title, _, path = spec.partition("=")
        image = Image.open(path).convert("RGB")
        height = round(image.height * args.panel_width / image.width)
        panels.append((title, image.resize((args.panel_width, height), Image.LANCZOS)))
    width = sum(im.width for _, im in panels) + GAP * (len(panels) - 1)
    sheet = Image.new("RGB", (width, max(im.height for _, im in panels) + CAPTION), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    x = 0
    for title, image in panels:
        draw.text((x + 4, 3), title, fill=(0, 0, 0))
        sheet.paste(image, (x, CAPTION))
        x += image.width + GAP
    out = Path(args.out)
    sheet.save(out, quality=85, optimize=True)
    print(f"{out}: {out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
