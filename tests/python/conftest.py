"""Fixtures of the Python module's tests: the module, the shared data, the C++ tools' build folder.

Run by ctest (label `python`) with PYTHONPATH at <build>/python; by hand:
    PYTHONPATH=build/python DEEPLAB_BUILD_DIR=build /usr/bin/python3 -m pytest tests/python
"""
import os
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("DEEPLAB_BUILD_DIR", ROOT / "build"))
SHARED = pathlib.Path(os.environ.get("DEEPLAB_SHARED_DIR", ROOT.parent / "shared"))
# The small, fast model (257x257, VOC classes) for most tests.
MODEL = "deeplabv3-mnv2-voc"

deeplab = pytest.importorskip("deeplab", reason="the Python module is not on PYTHONPATH (build/python)")


def shared_file(relative):
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"shared data missing: {path}")
    return path


def load_rgb(path):
    from PIL import Image
    return np.asarray(Image.open(path).convert("RGB"))


def save_png(array, path):
    from PIL import Image
    Image.fromarray(array).save(path)


def model_available(name=MODEL):
    try:
        deeplab.Segmenter(name, threads=1).close()
        return True
    except deeplab.NotFoundError:
        return False


@pytest.fixture(scope="session")
def segmenter():
    if not model_available():
        pytest.skip(f"model {MODEL} not fetched (scripts/fetch-models.sh {MODEL})")
    with deeplab.Segmenter(MODEL, device="cpu", threads=2) as s:
        yield s


@pytest.fixture(scope="session")
def street_frame():
    """A 480x360 CamVid street frame (RGB)."""
    frames = sorted(shared_file("eval/camvid/images").glob("*.png"))
    return load_rgb(frames[0])
