"""deeplab.DenseCrf and deeplab.CrfStream on NumPy arrays."""
import numpy as np
import pytest

from conftest import deeplab


@pytest.fixture(scope="module")
def scene(segmenter, street_frame):
    image = street_frame[::2, ::2].copy()
    probabilities = np.ascontiguousarray(segmenter.segment(image, probabilities=True).probabilities)
    return image, probabilities


def test_dense_crf_gives_marginals_close_to_the_network(scene):
    image, p = scene
    crf = deeplab.DenseCrf(threads=2)
    q = crf.infer(image, p, params={"iterations": 5})
    assert q.shape == p.shape and q.dtype == np.float32
    assert np.allclose(q.sum(axis=2), 1, atol=1e-3)
    agreement = (q.argmax(axis=2) == p.argmax(axis=2)).mean()
    assert agreement > 0.8, f"CRF vs network argmax agreement {agreement:.3f}"
    # Into a given array, warm-started from it: zero passes leave it as it was.
    out = q.copy()
    crf.infer(image, p, iterations=1, warm_start=True, q=out)
    assert np.allclose(out.sum(axis=2), 1, atol=1e-3)
    # A strided image view gives the same result as its contiguous copy.
    canvas = np.zeros((image.shape[0], image.shape[1] + 8, 3), np.uint8)
    canvas[:, 4:-4] = image
    assert np.allclose(crf.infer(canvas[:, 4:-4], p, params={"iterations": 5}), q, atol=1e-5)


def test_dense_crf_errors(scene):
    image, p = scene
    crf = deeplab.DenseCrf()
    with pytest.raises(deeplab.InvalidArgumentError, match="C-contiguous float32"):
        crf.infer(image, p[:, :, ::2])
    with pytest.raises(deeplab.InvalidArgumentError, match="matching the image"):
        crf.infer(image[1:], p)
    with pytest.raises(deeplab.InvalidArgumentError, match="warm_start"):
        crf.infer(image, p, warm_start=True)
    with pytest.raises(deeplab.InvalidArgumentError, match="unknown key 'scale'"):
        crf.infer(image, p, params={"scale": 0.5})


def test_crf_stream_warm_starts(scene):
    image, p = scene
    stream = deeplab.CrfStream("temporal", params={"iterations": 6, "temporal_iterations": 2}, threads=2)
    q0 = stream.process(image, p)
    assert stream.last_report["iterations"] == 6 and not stream.last_report["warm_started"]
    q1 = stream.process(image, p)
    assert stream.last_report["warm_started"] and stream.last_report["iterations"] == 2
    assert (q0.argmax(axis=2) == q1.argmax(axis=2)).mean() > 0.95
    stream.reset()
    stream.process(image, p)
    assert not stream.last_report["warm_started"]
