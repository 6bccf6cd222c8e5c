"""deeplab.Pipeline with a Python callback, and deeplab.mask_from_buffer in a PyGObject app."""
import threading

import numpy as np
import pytest

from conftest import BUILD, MODEL, deeplab, shared_file

pytestmark = pytest.mark.skipif(not deeplab.with_gstreamer, reason="built without GStreamer")

CONFIG = f"""
source:
  type: file
  path: clip.mp4
  max-frames: 4
segmentation:
  model: {MODEL}
  threads: 2
outputs:
  - type: appsink
    name: app
    format: RGB
    drop: false
"""


@pytest.fixture(scope="module", autouse=True)
def plugin_built():
    if not (BUILD / "gst-plugin/libgstdeeplab.so").exists():
        pytest.skip("the GStreamer plugin is not built")


def test_callback_gets_frames_and_class_maps_equal_to_the_segmenter(segmenter):
    clip = shared_file("media/one-by-one-person-detection.mp4")
    pipeline = deeplab.Pipeline(CONFIG, overrides={"source.path": str(clip)})
    seen = []

    def on_frame(frame):
        assert frame.output == "app" and frame.format == "RGB"
        assert frame.image.shape == (frame.height, frame.width, 3)
        mask = frame.mask
        assert mask.class_map.shape == (frame.height, frame.width) and not mask.class_map.flags.writeable
        # Views, kept beyond the callback (they hold the buffer), with copies to check them against.
        seen.append((frame.index, frame.image, frame.image.copy(), mask.class_map, mask.class_map.copy()))

    pipeline.on_frame(on_frame)
    stats = pipeline.run()
    assert stats["frames"] == 4 and len(seen) == 4 and [s[0] for s in seen] == [0, 1, 2, 3]
    for index, image, image_copy, class_map, class_map_copy in seen:
        assert np.array_equal(image, image_copy) and np.array_equal(class_map, class_map_copy)
        # deeplabseg segmented the frame before it was converted to RGB (I420 in), so compare the
        # mask with the Segmenter's map of the RGB frame loosely, and the mask's own consistency exactly.
        agreement = (segmenter.segment(image).class_map == class_map).mean()
        assert agreement > 0.95, f"frame {index}: agreement {agreement:.3f}"
    assert seen[0][3].max() < 21


def test_callback_exception_stops_the_run():
    clip = shared_file("media/car-detection.mp4")
    pipeline = deeplab.Pipeline(CONFIG, overrides={"source.path": str(clip), "source.max-frames": 50})
    calls = []

    def on_frame(frame):
        calls.append(frame.index)
        raise KeyError("from the callback")

    pipeline.on_frame(on_frame)
    with pytest.raises(KeyError, match="from the callback"):
        pipeline.run()
    assert calls == [0]


def test_stop_from_another_thread():
    clip = shared_file("media/bottle-detection.mp4")
    pipeline = deeplab.Pipeline(CONFIG, overrides={"source.path": str(clip), "source.max-frames": 0})
    first = threading.Event()
    pipeline.on_frame(lambda frame: first.set())
    stopper = threading.Thread(target=lambda: (first.wait(60), pipeline.stop()))
    stopper.start()
    stats = pipeline.run()
    stopper.join()
    assert stats["stopped"] and 1 <= stats["frames"] < 1189


def test_mask_from_buffer_on_a_real_pipeline(segmenter):
    gi = pytest.importorskip("gi")
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
    Gst.init(None)
    clip = shared_file("media/one-by-one-person-detection.mp4")
    pipeline = Gst.parse_launch(
        f"filesrc location={clip} ! decodebin ! videoconvert ! video/x-raw,format=RGB ! "
        f"deeplabseg model={MODEL} threads=2 ! "
        "appsink name=sink sync=false max-buffers=2")
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    masks, frames = [], []
    try:
        for _ in range(3):
            sample = sink.emit("try-pull-sample", 60 * Gst.SECOND)
            assert sample is not None, "no sample from the pipeline"
            buffer = sample.get_buffer()
            masks.append(deeplab.mask_from_buffer(buffer))
            ok, info = buffer.map(Gst.MapFlags.READ)
            assert ok
            frames.append(np.frombuffer(info.data, np.uint8).reshape(432, 768, 3).copy())
            buffer.unmap(info)
    finally:
        pipeline.set_state(Gst.State.NULL)
    del pipeline, sink
    for mask, frame in zip(masks, frames):  # still valid: each holds its buffer
        assert mask.class_map.shape == (432, 768) and not mask.class_map.flags.writeable
        assert mask.class_names[15] == "person" and mask.palette.shape == (21, 3)
        assert mask.model_size == (257, 257)
        # deeplabseg ran the same engine on the same RGB pixels: the same class map.
        assert np.array_equal(mask.class_map, segmenter.segment(frame).class_map)
    assert deeplab.mask_from_buffer(Gst.Buffer.new_allocate(None, 16, None)) is None
    with pytest.raises(deeplab.InvalidArgumentError, match="Gst.Buffer"):
        deeplab.mask_from_buffer(object())


def test_ctrl_c_stops_the_run_and_raises_keyboard_interrupt():
    import os
    import signal
    clip = shared_file("media/bottle-detection.mp4")
    pipeline = deeplab.Pipeline(CONFIG, overrides={"source.path": str(clip), "source.max-frames": 0})
    frames = []
    first = threading.Event()

    def on_frame(frame):
        frames.append(frame.index)
        first.set()

    pipeline.on_frame(on_frame)
    interrupter = threading.Thread(target=lambda: (first.wait(60), os.kill(os.getpid(), signal.SIGINT)))
    interrupter.start()
    with pytest.raises(KeyboardInterrupt):
        pipeline.run()
    interrupter.join()
    assert 1 <= len(frames) < 1189
