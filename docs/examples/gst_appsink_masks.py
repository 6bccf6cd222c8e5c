#!/usr/bin/env python3
"""A PyGObject GStreamer app that reads deeplabseg's masks at an appsink.

    python3 docs/examples/gst_appsink_masks.py ../shared/media/one-by-one-person-detection.mp4 --frames 20

The pipeline is filesrc ! decodebin ! videoconvert ! deeplabseg ! appsink; for each buffer,
deeplab.mask_from_buffer() gives the class map that deeplabseg attached (a NumPy view into the
buffer's meta, no copy) and the model's class names. Import deeplab before Gst.init(): it tells
GStreamer where the plugin of its build tree is.
"""
import argparse

import numpy as np

import deeplab  # before Gst.init(): sets up the plugin path of the build tree
import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def describe(index, mask):
    ids, counts = np.unique(mask.class_map, return_counts=True)
    shares = ", ".join(f"{mask.class_names[i]} {100.0 * c / mask.class_map.size:.1f}%" for i, c in zip(ids, counts))
    return f"frame {index}: {mask.width}x{mask.height}: {shares}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video")
    parser.add_argument("--model", default="deeplabv3-mnv2-voc-513")
    parser.add_argument("--frames", type=int, default=0, help="stop after this many frames (0: all)")
    args = parser.parse_args()

    Gst.init(None)
    pipeline = Gst.parse_launch(
        f'filesrc location="{args.video}" ! decodebin ! videoconvert ! deeplabseg model={args.model} ! '
        "appsink name=sink sync=false max-buffers=2")
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    index = 0
    try:
        while not args.frames or index < args.frames:
            sample = sink.emit("try-pull-sample", 30 * Gst.SECOND)
            if sample is None:  # end of stream (or an error: see the bus)
                break
            mask = deeplab.mask_from_buffer(sample.get_buffer())
            print(describe(index, mask) if mask is not None else f"frame {index}: no mask")
            index += 1
        message = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
        if message is not None:
            raise SystemExit(f"pipeline error: {message.parse_error()[0].message}")
    finally:
        pipeline.set_state(Gst.State.NULL)


if __name__ == "__main__":
    main()
