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


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A one-layer segmentation network (1x1 Conv, 3 -> 21 classes at 32x32), written with the onnx
    package: the engine's whole path at ~0.1 ms a frame, for tests that need thousands of calls."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    weights = np.random.default_rng(0).standard_normal((21, 3, 1, 1)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "w", "b"], ["logits"], kernel_shape=[1, 1])], "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 21, 32, 32])],
        [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(np.zeros(21, np.float32), "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    folder = tmp_path_factory.mktemp("tiny")
    onnx.save(model, str(folder / "tiny.onnx"))
    (folder / "tiny.yaml").write_text(  # beside the file: no "no manifest found" warning
        "name: tiny\nfile: tiny.onnx\ninput: {width: 32, height: 32, layout: NCHW, color: RGB, scale: 0.00392156862745098,"
        " mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}\n")
    return str(folder / "tiny.onnx")
