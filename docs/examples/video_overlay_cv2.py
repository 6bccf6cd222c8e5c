#!/usr/bin/env python3
"""An OpenCV loop over a video file: segment each frame, draw the overlay and the FPS.

    python3 docs/examples/video_overlay_cv2.py ../shared/media/car-detection.mp4 --show
    python3 docs/examples/video_overlay_cv2.py clip.mp4 --output overlay.mp4 --frames 100

OpenCV's frames are BGR arrays: segment() reads them in place (format="BGR", no copy). Two frames
are kept in flight with submit()/collect(): on a GPU the next frame's upload overlaps the current
frame's work (on the CPU it is the same as segment()).
"""
import argparse
import time

import cv2
import numpy as np

import deeplab


def draw(frame, result, fps):
    colours = result.palette[result.class_map][:, :, ::-1]  # RGB palette -> BGR
    overlay = cv2.addWeighted(frame, 0.5, np.ascontiguousarray(colours), 0.5, 0)
    cv2.putText(overlay, f"{fps:.1f} FPS", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
    return overlay


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video")
    parser.add_argument("--model", default="deeplabv3-mnv2-voc-513")
    parser.add_argument("--frames", type=int, default=0, help="stop after this many frames (0: all)")
    parser.add_argument("--output", help="write the overlay video here (mp4)")
    parser.add_argument("--show", action="store_true", help="show it in a window (q quits)")
    args = parser.parse_args()

    capture = cv2.VideoCapture(args.video)
    if not capture.isOpened():
        raise SystemExit(f"cannot open {args.video}")
    segmenter = deeplab.Segmenter(args.model)
    writer = None
    in_flight = []  # the frames submitted and not yet collected, oldest first
    read = shown = 0
    start = time.perf_counter()
    while True:
        ok, frame = capture.read() if not args.frames or read < args.frames else (False, None)
        if ok:
            segmenter.submit(frame, "BGR")  # copies the pixels: OpenCV may reuse `frame`
            in_flight.append(frame)
            read += 1
            if len(in_flight) < deeplab.MAX_IN_FLIGHT:
                continue  # keep two frames in flight
        if not in_flight:
            break  # the end of the video, every frame shown
        result = segmenter.collect()  # the oldest frame's
        shown += 1
        overlay = draw(in_flight.pop(0), result, shown / (time.perf_counter() - start))
        if args.output:
            if writer is None:
                fps = capture.get(cv2.CAP_PROP_FPS) or 25
                writer = cv2.VideoWriter(args.output, cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                         (overlay.shape[1], overlay.shape[0]))
            writer.write(overlay)
        if args.show:
            cv2.imshow("deeplab", overlay)
            if cv2.waitKey(1) & 0xFF == ord("q"):
                break
    if writer is not None:
        writer.release()
    print(f"{shown} frames, {shown / (time.perf_counter() - start):.1f} FPS")


if __name__ == "__main__":
    main()
