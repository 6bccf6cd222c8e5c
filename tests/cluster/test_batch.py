"""deeplab-batch as a process, on the shared clips (docs/cluster.md): outputs and manifest, a missing
and a corrupt input recorded while the rest goes on, reruns that skip complete videos, SIGKILL and
SIGTERM in the middle of a video, shards that cover every video exactly once, usage errors.

  /usr/bin/python3 tests/cluster/test_batch.py --batch build/pipeline/deeplab-batch \
      --shared ../shared --work build/test-data/cluster
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import batch_support as bs  # noqa: E402

ARGS = None
FRAMES = 6  # per video (source.max-frames): enough to be a video, short enough for 2 shared cores


def run_batch(*extra, env=None, timeout=300):
    cmd = [ARGS.batch, bs.CONFIG, "--set", "source.max-frames=%d" % FRAMES] + list(extra)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


class BatchTest(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.join(ARGS.work, self.id().split(".")[-1])
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.out = os.path.join(self.dir, "out")
        self.manifest = os.path.join(self.out, "manifest.jsonl")

    def clip(self, name):
        return os.path.join(ARGS.shared, "media", name)

    def write_list(self, entries, name="list.txt"):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write("# videos of the test\n\n" + "\n".join(entries) + "\n")
        return path

    def corrupt_file(self):
        path = os.path.join(self.dir, "corrupt.mp4")
        with open(path, "wb") as f:
            f.write(os.urandom(64 * 1024))
        return path

    def test_clips_with_missing_and_corrupt(self):
        missing = os.path.join(self.dir, 'no "such"\tclip.mp4')  # quotes and a tab in the JSON
        inputs = [self.clip(c) for c in bs.CLIPS] + [missing, self.corrupt_file()]
        listing = self.write_list(inputs)
        first = run_batch("--inputs", listing, "--output-dir", self.out)
        self.assertEqual(first.returncode, 1, first.stderr)
        records = bs.read_manifest(self.manifest)
        self.assertEqual([r["input"] for r in records], inputs)
        for r, clip in zip(records, bs.CLIPS):
            name = clip[:-4]
            self.assertEqual((r["status"], r["name"], r["frames"], r["error"]), ("ok", name, FRAMES, ""), r)
            self.assertEqual(r["size"], os.path.getsize(r["input"]))
            self.assertEqual(r["dir"], os.path.join(self.out, name))
            self.assertEqual([(o["type"], o["path"], o["frames"]) for o in r["outputs"]],
                             [("file", os.path.join(self.out, name, "overlay.mp4"), FRAMES),
                              ("masks", os.path.join(self.out, name, "masks", "%05d.png"), FRAMES)])
            bs.check_video_outputs(self, self.out, name, FRAMES, bs.CLIP_SIZES[name])
        self.assertEqual(records[3]["status"], "failed")
        self.assertIn("No such file or directory", records[3]["error"])
        self.assertEqual(records[4]["status"], "failed")
        self.assertIn("Could not determine type of stream", records[4]["error"])
        for bad in ("no__such__clip", "corrupt"):
            self.assertFalse(os.path.exists(os.path.join(self.out, bad)))
            self.assertFalse(os.path.exists(os.path.join(self.out, ".partial", bad)))
        self.assertIn("3 ok, 2 failed, 0 already complete", first.stderr)

        # A rerun skips the complete videos and tries the failed ones again.
        second = run_batch("--inputs", listing, "--output-dir", self.out)
        self.assertEqual(second.returncode, 1, second.stderr)
        self.assertEqual(second.stderr.count("already complete, skipped"), 3, second.stderr)
        self.assertEqual([r["input"] for r in bs.read_manifest(self.manifest)[5:]], inputs[3:])

    def test_rerun_redoes_changed_removed_and_forced(self):
        copy = os.path.join(self.dir, "copy.mp4")
        shutil.copy(self.clip("bottle-detection.mp4"), copy)
        listing = self.write_list(["copy.mp4", self.clip("car-detection.mp4")])  # relative to the list's folder
        self.assertEqual(run_batch("--inputs", listing, "--output-dir", self.out).returncode, 0)
        os.utime(copy, ns=(time.time_ns(), time.time_ns()))  # a changed input is redone
        shutil.rmtree(os.path.join(self.out, "car-detection"))  # and so is one whose outputs are gone
        again = run_batch("--inputs", listing, "--output-dir", self.out)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertNotIn("already complete, skipped", again.stderr)
        forced = run_batch("--inputs", listing, "--output-dir", self.out, "--force")
        self.assertEqual(forced.returncode, 0, forced.stderr)
        records = bs.read_manifest(self.manifest)
        self.assertEqual([r["input"] for r in records], [copy, self.clip("car-detection.mp4")] * 3)
        self.assertTrue(all(r["status"] == "ok" for r in records))
        bs.check_video_outputs(self, self.out, "copy", FRAMES, bs.CLIP_SIZES["bottle-detection"])
        # the manifest itself is an input list (.jsonl): everything in it is complete
        from_manifest = run_batch("--inputs", self.manifest, "--output-dir", self.out)
        self.assertEqual(from_manifest.stderr.count("already complete, skipped"), 2, from_manifest.stderr)

    def test_class_stats(self):
        listing = self.write_list([self.clip("bottle-detection.mp4")])
        run = run_batch("--inputs", listing, "--output-dir", self.out, "--class-stats")
        self.assertEqual(run.returncode, 0, run.stderr)
        path = os.path.join(self.out, "bottle-detection", "classes.json")
        with open(path) as f:
            stats = json.load(f)
        self.assertEqual((stats["frames"], stats["width"], stats["height"]), (FRAMES, 640, 360))
        classes = {c["name"]: c for c in stats["classes"]}
        self.assertEqual(sum(c["pixels"] for c in classes.values()), FRAMES * 640 * 360)
        self.assertAlmostEqual(sum(c["share"] for c in classes.values()), 1.0, places=4)
        self.assertEqual(classes["bottle"]["frames"], FRAMES)  # bottles in every frame of the bottle clip
        self.assertEqual(classes["bottle"]["id"], 5)
        self.assertIn(path, [o["path"] for o in bs.read_manifest(self.manifest)[0]["outputs"]])
        os.remove(path)  # an output missing: the video is not complete any more
        again = run_batch("--inputs", listing, "--output-dir", self.out, "--class-stats")
        self.assertNotIn("already complete, skipped", again.stderr)
        self.assertTrue(os.path.exists(path))

    def start_and_catch_mid_video(self, frames):
        """Starts a batch over two clips of `frames` frames each and returns it once the second video
        has written some of its PNGs (in the middle of that video)."""
        listing = self.write_list([self.clip("bottle-detection.mp4"), self.clip("car-detection.mp4")])
        cmd = [ARGS.batch, bs.CONFIG, "--set", "source.max-frames=%d" % frames, "--inputs", listing,
               "--output-dir", self.out]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        masks = os.path.join(self.out, ".partial", "car-detection", "masks")
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if os.path.isdir(masks) and len(os.listdir(masks)) >= 3:
                return proc, listing
            time.sleep(0.05)
        proc.kill()
        self.fail("the second video never started: " + proc.communicate()[1])

    def test_sigkill_mid_video_then_rerun(self):
        frames = 80
        proc, listing = self.start_and_catch_mid_video(frames)
        proc.kill()
        proc.communicate()
        self.assertFalse(os.path.exists(os.path.join(self.out, "car-detection")), "a partial video under its final name")
        self.assertEqual([r["name"] for r in bs.read_manifest(self.manifest)], ["bottle-detection"])
        rerun = run_batch("--inputs", listing, "--output-dir", self.out, "--set", "source.max-frames=%d" % frames)
        self.assertEqual(rerun.returncode, 0, rerun.stderr)
        self.assertIn("[1/2] bottle-detection: already complete, skipped", rerun.stderr)
        records = bs.read_manifest(self.manifest)
        self.assertEqual([(r["name"], r["status"], r["frames"]) for r in records],
                         [("bottle-detection", "ok", frames), ("car-detection", "ok", frames)])
        bs.check_video_outputs(self, self.out, "car-detection", frames, bs.CLIP_SIZES["car-detection"])
        self.assertEqual(os.listdir(os.path.join(self.out, ".partial")), [])

    def test_sigterm_mid_video_records_interrupted(self):
        proc, _ = self.start_and_catch_mid_video(80)
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=60)[1]
        self.assertEqual(proc.returncode, 128 + signal.SIGTERM, err)
        records = bs.read_manifest(self.manifest)
        self.assertEqual([(r["name"], r["status"]) for r in records],
                         [("bottle-detection", "ok"), ("car-detection", "interrupted")])
        self.assertIn("SIGTERM", records[1]["error"])
        self.assertFalse(os.path.exists(os.path.join(self.out, "car-detection")))
        self.assertFalse(os.path.exists(os.path.join(self.out, ".partial", "car-detection")))

    def test_shards_cover_every_video_once(self):
        videos = []
        for k, clip in enumerate(bs.CLIPS + bs.CLIPS[:2]):  # 5 videos; two copies under other names
            path = os.path.join(self.dir, "v%d-%s" % (k, clip))
            os.symlink(self.clip(clip), path)
            videos.append(path)
        listing = self.write_list(videos)
        common = ["--inputs", listing, "--output-dir", self.out, "--set", "source.max-frames=2"]
        env_slurm = dict(os.environ, SLURM_ARRAY_TASK_ID="1", SLURM_ARRAY_TASK_MIN="0", SLURM_ARRAY_TASK_MAX="2")
        env_k8s = dict(os.environ, JOB_COMPLETION_INDEX="2")
        procs = [subprocess.Popen([ARGS.batch, bs.CONFIG, "--shard", "0/3"] + common, stderr=subprocess.PIPE),
                 subprocess.Popen([ARGS.batch, bs.CONFIG] + common, env=env_slurm, stderr=subprocess.PIPE),
                 subprocess.Popen([ARGS.batch, bs.CONFIG, "--shard-count", "3"] + common, env=env_k8s,
                                  stderr=subprocess.PIPE)]
        for p in procs:  # concurrently: one manifest, appended to by three processes
            err = p.communicate(timeout=300)[1]
            self.assertEqual(p.returncode, 0, err)
        records = bs.read_manifest(self.manifest)
        self.assertEqual(sorted(r["input"] for r in records), sorted(videos))
        self.assertEqual({r["input"]: r["shard"] for r in records},
                         {v: "%d/3" % (k % 3) for k, v in enumerate(videos)})
        self.assertTrue(all(r["status"] == "ok" and r["frames"] == 2 for r in records))

    def test_usage_errors(self):
        listing = self.write_list([self.clip("car-detection.mp4")])
        base = ["--inputs", listing, "--output-dir", self.out]
        cases = [
            (["--shard", "3/3"] + base, None, "shard 3 is not below the count 3"),
            (["--shard", "1"] + base, None, "expected I/N"),
            (base, dict(os.environ, JOB_COMPLETION_INDEX="0"), "give --shard-count"),
            (["--inputs", os.path.join(self.dir, "none*.mp4"), "--output-dir", self.out], None, "no file matches"),
            (["--set", "outputs=[{type: display, sink: fakesink}]"] + base, None, "no file or masks output"),
            (["--set", "segmentation.thread=2"] + base, None, "segmentation.thread: unknown key"),
            (["--inputs", listing], None, "--output-dir are required"),
        ]
        for args, env, message in cases:
            run = run_batch(*args, env=env)
            self.assertEqual(run.returncode, 2, args)
            self.assertIn(message, run.stderr, args)
            self.assertFalse(os.path.exists(self.manifest), args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", required=True)
    parser.add_argument("--shared", required=True)
    parser.add_argument("--work", required=True)
    ARGS, rest = parser.parse_known_args()
    if not os.path.exists(os.path.join(ARGS.shared, "media", bs.CLIPS[0])):
        print("SKIP: the shared clips are not in " + ARGS.shared)
        sys.exit(77)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
