"""Helpers for the deeplab-batch tests (test_batch.py) and the Slurm run (slurm_e2e.py): the
manifest, the outputs of one video, frame counts of written videos (decoded with gst-launch-1.0)."""
import json
import os
import re
import struct
import subprocess

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(SOURCE_DIR, "tests", "cluster", "batch-test.yaml")
CLIPS = ["car-detection.mp4", "bottle-detection.mp4", "one-by-one-person-detection.mp4"]
CLIP_SIZES = {"car-detection": (768, 432), "bottle-detection": (640, 360), "one-by-one-person-detection": (768, 432)}


def read_manifest(path):
    """Every line of a JSONL manifest, parsed (json.loads fails the test on a malformed line)."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def last_records(records):
    """input -> its last record."""
    return {r["input"]: r for r in records}


def decoded_frames(path):
    """Frames of an MP4 counted by decoding it to the end; -1 if it does not play."""
    run = subprocess.run(["gst-launch-1.0", "-v", "filesrc", "location=" + path, "!", "qtdemux", "!", "h264parse", "!",
                          "avdec_h264", "!", "fakesink", "silent=false"], capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        return -1
    return len(re.findall(r"last-message = chain", run.stdout))


def png_size(path):
    """(width, height) from a PNG's IHDR chunk, and its colour type (0: grey)."""
    with open(path, "rb") as f:
        head = f.read(26)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise AssertionError(path + ": not a PNG")
    width, height = struct.unpack(">II", head[16:24])
    return width, height, head[25]


def check_video_outputs(test, out_dir, name, frames, size):
    """The final folder of one video: overlay.mp4 plays `frames` frames, masks/ holds `frames` grey
    PNGs of the frame's size; nothing of it is left in the work folder."""
    folder = os.path.join(out_dir, name)
    test.assertEqual(decoded_frames(os.path.join(folder, "overlay.mp4")), frames, folder)
    masks = sorted(os.listdir(os.path.join(folder, "masks")))
    test.assertEqual(masks, ["%05d.png" % k for k in range(frames)], folder)
    test.assertEqual(png_size(os.path.join(folder, "masks", masks[-1])), (size[0], size[1], 0))
    test.assertFalse(os.path.exists(os.path.join(out_dir, ".partial", name)), name + ": work folder left behind")

