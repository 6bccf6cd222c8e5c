#!/usr/bin/env python3
"""Segment one image with the Python module: a class-map PNG (value = class id) and an overlay.

    python3 docs/examples/segment_image.py photo.jpg --mask mask.png --overlay overlay.png
    python3 docs/examples/segment_image.py ../shared/media/dog.jpg --model deeplabv3-mnv2-voc --crf full

Prints the classes found and their share of the image. docs/python.md explains the API.
"""
import argparse

import numpy as np
from PIL import Image

import deeplab


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image")
    parser.add_argument("--model", default="deeplabv3-mnv2-voc-513")
    parser.add_argument("--crf", default="off", choices=["off", "full"])
    parser.add_argument("--mask", help="class-map PNG to write")
    parser.add_argument("--overlay", help="overlay PNG to write")
    args = parser.parse_args()

    rgb = np.asarray(Image.open(args.image).convert("RGB"))  # HxWx3 uint8, what segment() reads
    with deeplab.Segmenter(args.model, crf=args.crf) as segmenter:
        result = segmenter.segment(rgb)
    ids, counts = np.unique(result.class_map, return_counts=True)
    for class_id, count in zip(ids, counts):
        print(f"{result.class_names[class_id]}: {100.0 * count / result.class_map.size:.1f} %")
    print(f"{result.width}x{result.height}, {result.times['total_ms']:.1f} ms")
    if args.mask:
        Image.fromarray(result.class_map).save(args.mask)
    if args.overlay:
        colours = result.palette[result.class_map]  # HxWx3: each pixel's class colour
        Image.fromarray((0.5 * rgb + 0.5 * colours).astype(np.uint8)).save(args.overlay)


if __name__ == "__main__":
    main()
