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


def test_no_leak_over_2000_calls(segmenter):
    frame = np.random.default_rng(1).integers(0, 256, (48, 64, 3), np.uint8)
    for _ in range(50):  # warm up: pools, oneDNN primitives, allocator arenas
        segmenter.segment(frame, probabilities=(16, 12))
    gc.collect()
    rss_before = rss_mib()
    tracemalloc.start()
    traced_before = tracemalloc.get_traced_memory()[0]
    for k in range(2000):
        r = segmenter.segment(frame, probabilities=(16, 12) if k % 4 == 0 else None)
        assert r.class_map.shape == (48, 64)
    del r
    gc.collect()
    traced_growth = tracemalloc.get_traced_memory()[0] - traced_before
    tracemalloc.stop()
    rss_growth = rss_mib() - rss_before
    print(f"2000 calls: Python heap +{traced_growth} bytes, RSS +{rss_growth:.1f} MiB")
    # One leaked class map per call would be 6 MB here, with its Python objects more.
    assert traced_growth < 64 * 1024
    assert rss_growth < 8
