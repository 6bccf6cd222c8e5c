"""The Python examples of docs/examples/ run (short runs: a few frames) and do what they say."""
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import MODEL, ROOT, deeplab, shared_file

EXAMPLES = ROOT / "docs/examples"


def run_example(name, *args, timeout=300):
    env = dict(os.environ)
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)
    assert done.returncode == 0, f"{name} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_segment_image(segmenter, tmp_path):
    from PIL import Image
    image = shared_file("media/person.jpg")
    out = run_example("segment_image.py", image, "--model", MODEL, "--mask", tmp_path / "m.png",
                      "--overlay", tmp_path / "o.png")
    assert "person:" in out and "horse:" in out
    mask = np.asarray(Image.open(tmp_path / "m.png"))
    rgb = np.asarray(Image.open(image).convert("RGB"))
    assert np.array_equal(mask, segmenter.segment(rgb).class_map)
    assert Image.open(tmp_path / "o.png").size == (rgb.shape[1], rgb.shape[0])


def test_video_overlay_cv2(tmp_path):
    pytest.importorskip("cv2")
    clip = shared_file("media/car-detection.mp4")
    out = run_example("video_overlay_cv2.py", clip, "--model", MODEL, "--frames", 5, "--output", tmp_path / "o.mp4")
    assert out.strip().startswith("5 frames") and "FPS" in out
    import cv2
    video = cv2.VideoCapture(str(tmp_path / "o.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 5


@pytest.mark.skipif(not deeplab.with_gstreamer, reason="built without GStreamer")
def test_gst_appsink_masks():
    pytest.importorskip("gi")
    clip = shared_file("media/one-by-one-person-detection.mp4")
    out = run_example("gst_appsink_masks.py", clip, "--model", MODEL, "--frames", 3)
    lines = out.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith(f"frame {k}: 768x432: ") for k, line in enumerate(lines))
    assert "background" in out


@pytest.mark.skipif(not deeplab.with_gstreamer, reason="built without GStreamer")
def test_pipeline_callback():
    clip = shared_file("media/bottle-detection.mp4")
    out = run_example("pipeline_callback.py", clip, "--set", "source.max-frames=3", "--set",
                      f"segmentation.model={MODEL}")
    lines = out.strip().splitlines()
    assert [line.split(" ")[1] for line in lines[:3]] == ["0", "1", "2"]
    assert lines[-1].startswith("3 frames in")
