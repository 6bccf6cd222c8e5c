"""Class maps own their memory: kept maps survive later calls, nothing leaks over 2,000 calls."""
import gc
import resource
import tracemalloc

import numpy as np

from conftest import deeplab


def rss_mib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def test_kept_class_map_stays_valid(segmenter, street_frame):
    first = segmenter.segment(street_frame)
    kept, snapshot = first.class_map, first.class_map.copy()
    other = segmenter.segment(np.zeros_like(street_frame))
    segmenter.segment(street_frame[::-1].copy())
    assert np.array_equal(kept, snapshot), "a kept class map was overwritten by a later segment()"
    assert not np.shares_memory(kept, other.class_map)
    del first, other
    gc.collect()
    assert np.array_equal(kept, snapshot)  # the array alone keeps its buffer


def test_class_map_is_not_a_copy_and_buffers_are_recycled(segmenter, street_frame):
    result = segmenter.segment(street_frame)
    base = result.class_map.base
    assert base is not None and type(base).__name__ == "PyCapsule", "the array should own the engine's buffer"
    address = result.class_map.__array_interface__["data"][0]
    del result, base
    # The dropped result's buffer is the one the engine writes next (the pool), so a loop that drops
    # its results allocates no class map per frame.
    seen = {segmenter.segment(street_frame).class_map.__array_interface__["data"][0] for _ in range(4)}
    assert address in seen


def segment_many(segmenter, frame, calls, warm_up):
    """Python heap (tracemalloc) and RSS growth over `calls` segment() calls, after a warm-up."""
    for _ in range(warm_up):  # pools, oneDNN primitives, allocator arenas
        segmenter.segment(frame, probabilities=(16, 12))
    gc.collect()
    rss_before = rss_mib()
    tracemalloc.start()
    traced_before = tracemalloc.get_traced_memory()[0]
    for k in range(calls):
        r = segmenter.segment(frame, probabilities=(16, 12) if k % 4 == 0 else None)
        assert r.class_map.shape == frame.shape[:2]
    del r
    gc.collect()
    traced_growth = tracemalloc.get_traced_memory()[0] - traced_before
    tracemalloc.stop()
    return traced_growth, rss_mib() - rss_before


def test_no_leak_over_2000_calls(tiny_model):
    # The tiny network: every step of a call (frame in, class map and probabilities out, buffers
    # recycled) at ~0.1 ms, so that 2,000 calls take a second.
    with deeplab.Segmenter(tiny_model, device="cpu", threads=1) as s:
        traced, rss = segment_many(s, np.random.default_rng(1).integers(0, 256, (240, 320, 3), np.uint8), 2000, 50)
    print(f"2000 calls: Python heap +{traced} bytes, RSS +{rss:.1f} MiB")
    # One leaked class map per call would be 150 MB here; one leaked Python object per call 100 KB.
    assert traced < 32 * 1024
    assert rss < 4


def test_no_leak_with_a_real_model(segmenter):
    traced, rss = segment_many(segmenter, np.random.default_rng(2).integers(0, 256, (48, 64, 3), np.uint8), 60, 10)
    print(f"60 calls of the 257 model: Python heap +{traced} bytes, RSS +{rss:.1f} MiB")
    assert traced < 32 * 1024
    assert rss < 4
