#!/usr/bin/env python3
"""A YAML pipeline (docs/pipelines.md) whose frames and class maps come to a Python callback.

    python3 docs/examples/pipeline_callback.py ../shared/media/bottle-detection.mp4 --set source.max-frames=20
    python3 docs/examples/pipeline_callback.py --set 'source={type: camera, device: /dev/video0}'

For each frame it prints the share of the frame each class covers and the mean colour of the
person pixels, reading the frame (RGB) and the class map in place. Ctrl-C stops the run.
"""
import argparse

import numpy as np

import deeplab

CONFIG = """
source:
  type: file
  path: video.mp4            # replaced by the command-line argument
segmentation:
  threads: 2
outputs:
  - type: appsink
    name: app
    format: RGB
    drop: false              # every frame reaches the callback (a live robot would keep drop: true)
"""


def on_frame(frame):
    mask = frame.mask
    if mask is None:
        print(f"frame {frame.index}: no class map")
        return
    ids, counts = np.unique(mask.class_map, return_counts=True)
    shares = " ".join(f"{mask.class_names[i]} {100.0 * c / mask.class_map.size:.1f}%" for i, c in zip(ids, counts))
    line = f"frame {frame.index} {frame.width}x{frame.height}: {shares}"
    person = mask.class_map == mask.class_names.index("person") if "person" in mask.class_names else None
    if person is not None and person.any():
        r, g, b = frame.image[person].mean(axis=0)
        line += f" | person mean rgb({r:.0f}, {g:.0f}, {b:.0f})"
    print(line, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a key")
    args = parser.parse_args()

    overrides = ([f"source.path={args.video}"] if args.video else []) + args.set
    pipeline = deeplab.Pipeline(CONFIG, overrides)
    pipeline.on_frame(on_frame)
    try:
        stats = pipeline.run()  # the GIL is released while it runs; on_frame takes it for each frame
    except KeyboardInterrupt:  # Ctrl-C: run() stopped the pipeline (files finalised) before raising this
        print("stopped")
        return
    print(f"{stats['frames']} frames in {stats['seconds']:.1f} s ({stats['fps']:.1f} FPS)")


if __name__ == "__main__":
    main()
