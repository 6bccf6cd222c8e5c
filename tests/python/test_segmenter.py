"""deeplab.Segmenter against the C++ tool deeplab-segment, and every frame layout it accepts."""
import subprocess

import numpy as np
import pytest

from conftest import BUILD, MODEL, SHARED, deeplab, load_rgb, save_png, shared_file


def tool_class_maps(images, tmp_path):
    """deeplab-segment's class-map PNGs for `images` (arrays), read back (value = class id)."""
    from PIL import Image
    tool = BUILD / "engine/tools/deeplab-segment"
    if not tool.exists():
        pytest.skip(f"{tool} not built")
    inputs = []
    for k, image in enumerate(images):
        path = tmp_path / f"in{k}.png"  # lossless: the tool and Python read the same pixels
        save_png(image, path)
        inputs.append(str(path))
    out = tmp_path / "masks"
    subprocess.run([str(tool), "--model", MODEL, "--device", "cpu", "--threads", "2", "--input", ",".join(inputs),
                    "--output-mask", str(out)], check=True, capture_output=True)
    return [np.asarray(Image.open(out / f"in{k}.png")) for k in range(len(images))]


def clip_frames(name, count, step):
    import cv2
    capture = cv2.VideoCapture(str(shared_file(f"media/{name}")))
    frames = []
    index = 0
    while len(frames) < count:
        ok, bgr = capture.read()
        assert ok, f"{name}: frame {index} could not be read"
        if index % step == 0:
            frames.append(np.ascontiguousarray(bgr[:, :, ::-1]))
        index += 1
    return frames


def test_class_maps_equal_the_tools_on_stills_and_clip_frames(segmenter, tmp_path):
    stills = [load_rgb(shared_file(f"media/{n}.jpg")) for n in ("dog", "person", "horses", "eagle")]
    camvid = [load_rgb(p) for p in sorted(shared_file("eval/camvid/images").glob("*.png"))[:3]]
    clips = clip_frames("one-by-one-person-detection.mp4", 2, 50) + clip_frames("car-detection.mp4", 2, 40)
    images = stills + camvid + clips
    expected = tool_class_maps(images, tmp_path)
    for k, (image, want) in enumerate(zip(images, expected)):
        got = segmenter.segment(image).class_map
        assert got.shape == image.shape[:2] and got.dtype == np.uint8
        mismatched = int((got != want).sum())
        assert mismatched == 0, f"image {k}: {mismatched} pixels differ from deeplab-segment"
    person = segmenter.segment(stills[1]).class_map
    assert (person == segmenter.class_names.index("person")).mean() > 0.05  # a real result, not all background


def to_nv12(rgb):
    """BT.601 limited-range NV12 of an even-sized RGB image (Y plane, interleaved UV plane)."""
    f = rgb.astype(np.float32)
    y = 16 + 0.257 * f[..., 0] + 0.504 * f[..., 1] + 0.098 * f[..., 2]
    u = 128 - 0.148 * f[..., 0] - 0.291 * f[..., 1] + 0.439 * f[..., 2]
    v = 128 + 0.439 * f[..., 0] - 0.368 * f[..., 1] - 0.071 * f[..., 2]
    sub = lambda c: c.reshape(c.shape[0] // 2, 2, c.shape[1] // 2, 2).mean(axis=(1, 3))
    y8 = np.clip(np.rint(y), 0, 255).astype(np.uint8)
    uv = np.stack([sub(u), sub(v)], axis=-1)
    return y8, np.clip(np.rint(uv), 0, 255).astype(np.uint8)


def test_packed_layouts_give_the_contiguous_result(segmenter, street_frame):
    rgb = street_frame
    want = segmenter.segment(rgb).class_map
    assert np.array_equal(segmenter.segment(np.ascontiguousarray(rgb[:, :, ::-1]), "BGR").class_map, want)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    assert np.array_equal(segmenter.segment(rgba).class_map, want)  # 4 channels: RGBA by default
    assert np.array_equal(segmenter.segment(rgba, "RGBx").class_map, want)
    bgra = np.ascontiguousarray(rgba[:, :, [2, 1, 0, 3]])
    assert np.array_equal(segmenter.segment(bgra, "BGRA").class_map, want)
    # Views with strides: a crop of a larger image, and every other row.
    canvas = np.zeros((rgb.shape[0] + 20, rgb.shape[1] + 30, 3), np.uint8)
    canvas[10:-10, 15:-15] = rgb
    crop = canvas[10:-10, 15:-15]
    assert not crop.flags.c_contiguous
    assert np.array_equal(segmenter.segment(crop).class_map, want)
    rows = rgb[::2]
    assert np.array_equal(segmenter.segment(rows).class_map, segmenter.segment(np.ascontiguousarray(rows)).class_map)


def test_nv12_and_i420_planes_agree(segmenter, street_frame):
    rgb = street_frame
    h, w = rgb.shape[:2]
    y, uv = to_nv12(rgb)
    from_nv12 = segmenter.segment((y, uv), "NV12").class_map
    assert from_nv12.shape == (h, w)
    single_nv12 = np.vstack([y, uv.reshape(h // 2, w)])
    assert np.array_equal(segmenter.segment(single_nv12, "NV12").class_map, from_nv12)
    assert np.array_equal(segmenter.segment((y, uv.reshape(h // 2, w)), "NV12").class_map, from_nv12)
    u, v = np.ascontiguousarray(uv[..., 0]), np.ascontiguousarray(uv[..., 1])
    assert np.array_equal(segmenter.segment((y, u, v), "I420").class_map, from_nv12)
    single_i420 = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(h * 3 // 2, w)
    assert np.array_equal(segmenter.segment(single_i420, "I420").class_map, from_nv12)
    # The same scene through YUV: nearly the RGB frame's map (colour conversion rounding).
    agreement = (from_nv12 == segmenter.segment(rgb).class_map).mean()
    assert agreement > 0.97, f"NV12 vs RGB agreement {agreement:.3f}"


def test_result_fields(segmenter, street_frame):
    r = segmenter.segment(street_frame, probabilities=True)
    h, w = street_frame.shape[:2]
    assert (r.width, r.height, r.num_classes) == (w, h, 21)
    assert r.probabilities.shape == (h, w, 21) and r.probabilities.dtype == np.float32
    assert np.allclose(r.probabilities.sum(axis=2), 1, atol=1e-4)
    assert np.array_equal(r.probabilities.argmax(axis=2), r.class_map)
    small = segmenter.segment(street_frame, probabilities=(60, 45)).probabilities
    assert small.shape == (45, 60, 21)
    assert r.class_names[15] == "person" and r.palette.shape == (21, 3) and r.palette.dtype == np.uint8
    assert set(r.times) >= {"preprocess_ms", "infer_ms", "postprocess_ms", "total_ms"} and r.times["total_ms"] > 0
    assert r.crf["iterations"] == 0
    assert segmenter.segment(street_frame).probabilities is None
    assert segmenter.info["input_size"] == (257, 257) and segmenter.info["device"] == "cpu"


def test_submit_collect_match_segment(segmenter, street_frame):
    frames = [street_frame, street_frame[::-1].copy(), street_frame[:, ::-1].copy()]
    want = [segmenter.segment(f).class_map for f in frames]
    assert segmenter.collect() is None
    segmenter.submit(frames[0])
    segmenter.submit(frames[1], probabilities=True)
    assert segmenter.pending == deeplab.MAX_IN_FLIGHT
    with pytest.raises(deeplab.InvalidArgumentError, match="in flight"):
        segmenter.submit(frames[2])
    first = segmenter.collect()
    segmenter.submit(frames[2])
    got = [first, segmenter.collect(), segmenter.collect()]
    assert segmenter.collect() is None and segmenter.pending == 0
    for k in range(3):
        assert np.array_equal(got[k].class_map, want[k]), f"frame {k}"
    assert got[0].probabilities is None and got[1].probabilities is not None


def test_temporal_crf_and_reset_stream(street_frame):
    with deeplab.Segmenter(MODEL, device="cpu", threads=2, crf="temporal",
                           crf_params={"scale": 0.5, "iterations": 5}) as s:
        first = s.segment(street_frame)
        second = s.segment(street_frame)
        assert first.crf["iterations"] == 5 and not first.crf["warm_started"]
        assert second.crf["warm_started"] and second.crf["iterations"] == 2
        s.reset_stream()
        assert not s.segment(street_frame).crf["warm_started"]
