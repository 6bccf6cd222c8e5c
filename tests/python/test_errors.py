"""Wrong frames, options and states raise deeplab.Error subclasses that name the problem."""
import numpy as np
import pytest

from conftest import MODEL, deeplab


@pytest.mark.parametrize("frame, format, match", [
    (np.zeros((40, 60, 3), np.float32), "", "dtype uint8"),
    (np.zeros((40, 60), np.uint8), "", "expected 3 dimensions"),
    (np.zeros((40, 60, 2), np.uint8), "RGB", "HxWx3"),
    (np.zeros((40, 60, 3), np.uint8), "RGBA", "HxWx4"),
    (np.zeros((40, 60, 3), np.uint8)[:, ::2], "", "pixels must be 3 byte"),        # pixels 6 bytes apart
    (np.zeros((40, 60, 3), np.uint8)[:, :, ::-1], "BGR", "pixels must be 3 byte"),  # channels backwards
    (np.zeros((40, 60, 3), np.uint8)[::-1], "", "rows must go forward"),
    (np.asfortranarray(np.zeros((40, 60, 3), np.uint8)), "", "pixels must be 3 byte"),
    ([[1, 2, 3]], "", "expected a numpy.ndarray"),
    (np.zeros((40, 60, 3), np.uint8), "YUY2", "YUY2"),
    (np.zeros((61, 40), np.uint8), "NV12", r"\(H\*3/2\)xW"),
    (np.zeros((60, 40), np.uint8)[:, ::2], "NV12", "pixels must be 1 byte"),
    ((np.zeros((40, 60), np.uint8),), "NV12", "takes 2 planes"),
    ((np.zeros((40, 60), np.uint8), np.zeros((20, 30), np.uint8)), "NV12", r"expected 20x60"),
    ((np.zeros((40, 60), np.uint8), np.zeros((20, 30), np.uint8), np.zeros((21, 30), np.uint8)), "I420",
     "frame plane V: expected 20x30"),
])
def test_bad_frames_raise_invalid_argument(segmenter, frame, format, match):
    with pytest.raises(deeplab.InvalidArgumentError, match=match) as caught:
        segmenter.segment(frame, format)
    assert caught.value.code == "invalid_argument"
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, deeplab.Error)


def test_the_engine_names_a_frame_too_small(segmenter):
    with pytest.raises(deeplab.InvalidArgumentError):
        segmenter.segment(np.zeros((0, 10, 3), np.uint8))


def test_closed_segmenter_raises():
    s = deeplab.Segmenter(MODEL, device="cpu", threads=1)
    s.close()
    assert s.closed
    with pytest.raises(deeplab.InvalidArgumentError, match="Segmenter is closed"):
        s.segment(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(deeplab.InvalidArgumentError, match="closed"):
        s.collect()
    s.close()  # twice is fine


def test_bad_models_and_options():
    with pytest.raises(deeplab.NotFoundError, match="no-such-model") as caught:
        deeplab.Segmenter("no-such-model")
    assert caught.value.code == "not_found"
    with pytest.raises(deeplab.InvalidArgumentError, match="tpu"):
        deeplab.Segmenter(MODEL, device="tpu")
    with pytest.raises(deeplab.InvalidArgumentError, match="crf"):
        deeplab.Segmenter(MODEL, crf="sometimes")
    with pytest.raises(deeplab.InvalidArgumentError, match="unknown key 'smoothness'"):
        deeplab.Segmenter(MODEL, crf="full", crf_params={"smoothness": 3})
    with pytest.raises(deeplab.InvalidArgumentError, match="'iterations' must be an integer"):
        deeplab.Segmenter(MODEL, crf="full", crf_params={"iterations": "ten"})
    with pytest.raises(deeplab.NotFoundError, match="missing.yaml"):
        deeplab.Segmenter(MODEL, crf="full", crf_params="/nonexistent/missing.yaml")
    with pytest.raises(deeplab.ManifestMismatchError, match="AveragePool"):
        deeplab.Segmenter(MODEL, input_size=(65, 65))


def test_bad_model_file_is_model_corrupt(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf at all")
    with pytest.raises(deeplab.ModelCorruptError) as caught:
        deeplab.Segmenter(str(bad))
    assert str(bad) in str(caught.value)


@pytest.mark.skipif(not deeplab.with_gstreamer, reason="built without GStreamer")
def test_pipeline_config_errors(tmp_path):
    with pytest.raises(deeplab.ConfigError, match="sorce") as caught:
        deeplab.Pipeline("sorce:\n  type: test\n")
    assert isinstance(caught.value, deeplab.InvalidArgumentError)
    with pytest.raises(deeplab.Error, match="nothing.yaml"):
        deeplab.Pipeline(str(tmp_path / "nothing.yaml"))


def test_bad_sizes_name_the_argument(segmenter):
    frame = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(deeplab.InvalidArgumentError, match=r"probabilities \(None, True or a size\): expected"):
        segmenter.segment(frame, probabilities="big")
    with pytest.raises(deeplab.InvalidArgumentError, match="must be > 0"):
        segmenter.segment(frame, probabilities=(0, 4))
    with pytest.raises(deeplab.InvalidArgumentError, match="input_size: expected"):
        deeplab.Segmenter(MODEL, input_size=257)
