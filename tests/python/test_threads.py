"""The GIL is released while the engine works: two threads with a Segmenter each run at the same time."""
import os
import threading
import time

import numpy as np

from conftest import MODEL, deeplab


def spin(seconds):
    """Python work (needs the GIL): iterations done in `seconds`."""
    count, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        count += 1
    return count


def test_python_runs_while_a_segmenter_works(street_frame):
    with deeplab.Segmenter(MODEL, device="cpu", threads=1) as s:
        s.segment(street_frame)
        baseline_rate = spin(0.5) / 0.5
        done = threading.Event()

        def work():
            for _ in range(15):
                s.segment(street_frame)
            done.set()

        worker = threading.Thread(target=work)
        start = time.perf_counter()
        worker.start()
        count = 0
        while not done.is_set():
            count += spin(0.01)
        elapsed = time.perf_counter() - start
        worker.join()
    share = count / (baseline_rate * elapsed)
    print(f"Python work while segmenting: {share:.2f} of its rate alone over {elapsed:.2f} s")
    # Held GIL: the spinning thread would only run between calls (~0). Released: it keeps a core.
    assert share > 0.25


def test_two_segmenters_in_two_threads(street_frame):
    frames = [street_frame, np.ascontiguousarray(street_frame[::-1])]
    segmenters = [deeplab.Segmenter(MODEL, device="cpu", threads=1) for _ in frames]
    want = [s.segment(f).class_map for s, f in zip(segmenters, frames)]
    n = 8

    def run(k, out):
        for _ in range(n):
            out.append(segmenters[k].segment(frames[k]).class_map)

    start = time.perf_counter()
    for k in range(2):
        run(k, [])
    one_after_the_other = time.perf_counter() - start
    outputs = [[], []]
    threads = [threading.Thread(target=run, args=(k, outputs[k])) for k in range(2)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    together = time.perf_counter() - start
    for k in range(2):
        assert len(outputs[k]) == n and all(np.array_equal(m, want[k]) for m in outputs[k]), f"thread {k}"
    for s in segmenters:
        s.close()
    load = os.getloadavg()[0]
    print(f"two Segmenters: {together:.2f} s in two threads, {one_after_the_other:.2f} s one after the other "
          f"(load {load:.1f} on {os.cpu_count()} cores)")
    # Serialised by a held GIL, two threads would take as long as one after the other. Only
    # measurable with a core free for each thread: on a busy machine the figures are printed only
    # (test_python_runs_while_a_segmenter_works proves the GIL release on any machine).
    if os.cpu_count() >= 2 and load < os.cpu_count() - 1:
        assert together < 0.85 * one_after_the_other


def test_one_segmenter_shared_by_threads_takes_turns(segmenter, street_frame):
    want = segmenter.segment(street_frame).class_map
    errors = []

    def run():
        for _ in range(5):
            if not np.array_equal(segmenter.segment(street_frame).class_map, want):
                errors.append("differs")

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
