"""A real Slurm run of scripts/cluster/segment-corpus.sbatch (ctest label cluster, docs/cluster.md).

As root, starts a private single-node Slurm in a temporary folder: munged with a generated key and
its own socket, slurmctld and slurmd from a generated slurm.conf (free ports, state and spool in the
folder, SlurmUser root). Then:
  1. a 3-task job array over the three shared clips: every task COMPLETED, the manifest has one ok
     line per clip with its shard, the outputs play;
  2. a second array over longer runs: task 1 is cancelled (scancel) in the middle of its video, the
     array is submitted again and completes; the tasks that were done skip their videos and only
     the cancelled video is processed again; no partial output under a final name.
The daemons are always stopped (also on failure). Exit status 77 (skipped, with the reason) when not
root, when a Slurm or munge program is missing, or when the daemons do not come up.

  /usr/bin/python3 tests/cluster/slurm_e2e.py --batch build/pipeline/deeplab-batch --shared ../shared
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import batch_support as bs  # noqa: E402

SKIP = 77
SBATCH = os.path.join(bs.SOURCE_DIR, "scripts", "cluster", "segment-corpus.sbatch")
SUBMIT = os.path.join(bs.SOURCE_DIR, "scripts", "cluster", "submit.sh")
PROGRAMS = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol", "sinfo"]


def skip(reason):
    print("SKIP: " + reason)
    sys.exit(SKIP)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SLURM_CONF = """ClusterName=deeplabtest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={dir}/munge/socket
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
KillWait=20
MinJobAge=600
NodeName={host} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=batch Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


class SlurmCluster:
    """munged, slurmctld and slurmd of one test, in `root`; stop() ends what start() began."""

    def __init__(self, root):
        self.root = root
        self.conf = os.path.join(root, "slurm.conf")
        self.procs = []
        self.env = dict(os.environ, SLURM_CONF=self.conf)

    def start(self):
        for d in ("munge", "state", "spool"):
            os.makedirs(os.path.join(self.root, d), mode=0o700)
        key = os.path.join(self.root, "munge", "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        m = os.path.join(self.root, "munge")
        self.spawn("munged", ["munged", "--foreground", "--force", "--socket=" + m + "/socket", "--key-file=" + key,
                              "--pid-file=" + m + "/pid", "--log-file=" + m + "/log", "--seed-file=" + m + "/seed"])
        host = socket.gethostname().split(".")[0]
        with open(self.conf, "w") as f:
            f.write(SLURM_CONF.format(host=host, dir=self.root, ctld_port=free_port(), d_port=free_port()))
        self.wait_for(lambda: os.path.exists(m + "/socket"), 10, "munged's socket")
        self.spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", self.conf])
        self.spawn("slurmd", ["slurmd", "-D", "-f", self.conf])
        self.wait_for(lambda: self.command(["sinfo", "-h", "-o", "%t"], check=False).strip() == "idle", 30,
                      "an idle node in sinfo")

    def spawn(self, name, argv):
        log = open(os.path.join(self.root, name + ".out"), "w")
        self.procs.append((name, subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                                  cwd=self.root)))
        log.close()

    def wait_for(self, ready, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for name, p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError("%s exited (status %s) while waiting for %s" % (name, p.returncode, what))
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError("no %s after %d s" % (what, timeout))

    def command(self, argv, check=True):
        run = subprocess.run(argv, capture_output=True, text=True, env=self.env, timeout=60)
        if check and run.returncode != 0:
            raise AssertionError("%s: exit %d: %s" % (" ".join(argv), run.returncode, run.stderr))
        return run.stdout

    def logs(self):
        text = ""
        for name in ("munged.out", "slurmctld.log", "slurmd.log"):
            path = os.path.join(self.root, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text += "--- %s (tail)\n%s" % (name, "".join(f.readlines()[-15:]))
        return text

    def stop(self):
        if any(p.poll() is None for _, p in self.procs):
            self.command(["scancel", "--user=root", "--full"], check=False)
        for name, p in reversed(self.procs):  # slurmd, slurmctld, then munged
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


CLUSTER = None
ARGS = None


class SlurmTest(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.join(CLUSTER.root, "work", self.id().split(".")[-1])
        os.makedirs(os.path.join(self.dir, "logs"))
        self.list = os.path.join(self.dir, "clips.txt")
        with open(self.list, "w") as f:
            f.write("".join(os.path.join(ARGS.shared, "media", c) + "\n" for c in bs.CLIPS))
        self.out = os.path.join(self.dir, "out")
        self.manifest = os.path.join(self.out, "manifest.jsonl")

    def submit(self, frames, helper=False):
        """The job array over the clips (3 tasks, one CPU each), as docs/cluster.md submits it: by
        scripts/cluster/submit.sh (logs in OUT/logs) or by sbatch itself."""
        batch_args = [self.list, bs.CONFIG, self.out, "--set", "source.max-frames=%d" % frames]
        if helper:
            self.logs = os.path.join(self.out, "logs")
            argv = [SUBMIT, "--parallel", "2", "--sbatch", "--cpus-per-task=1"] + batch_args
        else:
            self.logs = os.path.join(self.dir, "logs")
            argv = ["sbatch", "--parsable", "--array=0-2%2", "--cpus-per-task=1",
                    "--output=" + os.path.join(self.logs, "%x_%A_%a.log"), SBATCH] + batch_args
        env = dict(CLUSTER.env, DEEPLAB_BATCH=ARGS.batch)  # sbatch passes the environment on
        run = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=self.dir, timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        return run.stdout.strip().split(";")[0]

    def wait_done(self, job, timeout=150):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not CLUSTER.command(["squeue", "-h", "-j", job], check=False).strip():
                return self.task_states(job)
            time.sleep(1)
        self.fail("array %s still running after %d s:\n%s" % (job, timeout, CLUSTER.logs()))

    def task_states(self, job):
        """task id -> (JobState, ExitCode) from scontrol (no accounting database here)."""
        text = CLUSTER.command(["scontrol", "-o", "show", "job", job])
        states = {}
        for line in text.splitlines():
            task = re.search(r"\bArrayTaskId=(\d+)\b", line)
            if task:
                states[int(task.group(1))] = (re.search(r"\bJobState=(\S+)", line).group(1),
                                              re.search(r"\bExitCode=(\S+)", line).group(1))
        return states

    def task_log(self, job, task):
        with open(os.path.join(self.logs, "segment-corpus_%s_%d.log" % (job, task))) as f:
            return f.read()

    def test_1_array_over_the_clips(self):
        frames = 8
        job = self.submit(frames, helper=True)
        states = self.wait_done(job)
        self.assertEqual(states, {k: ("COMPLETED", "0:0") for k in range(3)},
                         "\n".join(self.task_log(job, k) for k in range(3)))
        records = bs.read_manifest(self.manifest)
        self.assertEqual(sorted((r["name"], r["status"], r["frames"], r["shard"]) for r in records),
                         sorted((c[:-4], "ok", frames, "%d/3" % k) for k, c in enumerate(bs.CLIPS)))
        for clip in bs.CLIPS:
            bs.check_video_outputs(self, self.out, clip[:-4], frames, bs.CLIP_SIZES[clip[:-4]])
        self.assertIn("task 1 (0..2)", self.task_log(job, 1))

    def test_2_cancel_one_task_and_resubmit(self):
        frames = 60
        job = self.submit(frames)
        cancelled = bs.CLIPS[1][:-4]  # task 1 of 3 has video 1
        masks = os.path.join(self.out, ".partial", cancelled, "masks")
        deadline = time.time() + 120
        while not (os.path.isdir(masks) and len(os.listdir(masks)) >= 3):
            self.assertLess(time.time(), deadline, "task 1 never started its video:\n" + CLUSTER.logs())
            time.sleep(0.05)
        CLUSTER.command(["scancel", "%s_1" % job])
        states = self.wait_done(job)
        self.assertEqual(states[1][0], "CANCELLED", states)
        self.assertEqual({k: states[k] for k in (0, 2)}, {k: ("COMPLETED", "0:0") for k in (0, 2)})
        self.assertFalse(os.path.exists(os.path.join(self.out, cancelled)), "a cancelled video under its final name")
        first = bs.last_records(bs.read_manifest(self.manifest))
        self.assertEqual(first[self.list_path(1)]["status"], "interrupted", first)
        self.assertIn("SIGTERM", first[self.list_path(1)]["error"])

        again = self.submit(frames)
        self.assertEqual(self.wait_done(again), {k: ("COMPLETED", "0:0") for k in range(3)})
        for k in (0, 2):
            self.assertIn("already complete, skipped", self.task_log(again, k))
        self.assertIn("%s: ok, %d frames" % (cancelled, frames), self.task_log(again, 1))
        records = bs.read_manifest(self.manifest)
        ok = [r["name"] for r in records if r["status"] == "ok"]
        self.assertEqual(sorted(ok), sorted(c[:-4] for c in bs.CLIPS), "each video done exactly once")
        for clip in bs.CLIPS:
            bs.check_video_outputs(self, self.out, clip[:-4], frames, bs.CLIP_SIZES[clip[:-4]])

    def list_path(self, k):
        return os.path.join(ARGS.shared, "media", bs.CLIPS[k])


def preconditions():
    if os.geteuid() != 0:
        skip("the Slurm test starts munged, slurmctld and slurmd as root; not root here")
    missing = [p for p in PROGRAMS if not shutil.which(p, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")]
    if missing:
        skip("not installed: %s (Debian: apt-get install slurmctld slurmd slurm-client munge)" % ", ".join(missing))
    if not os.path.exists(os.path.join(ARGS.shared, "media", bs.CLIPS[0])):
        skip("the shared clips are not in " + ARGS.shared)


def main():
    global ARGS, CLUSTER
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", required=True)
    parser.add_argument("--shared", required=True)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, outputs)")
    ARGS, rest = parser.parse_known_args()
    ARGS.batch = os.path.abspath(ARGS.batch)
    os.environ["PATH"] += ":/usr/sbin:/sbin"
    preconditions()
    CLUSTER = SlurmCluster(tempfile.mkdtemp(prefix="deeplab-slurm-"))
    try:
        try:
            CLUSTER.start()
        except (RuntimeError, OSError) as e:
            print(CLUSTER.logs())
            skip("the Slurm daemons did not start: %s" % e)
        print("Slurm up in " + CLUSTER.root)
        result = unittest.main(argv=[sys.argv[0]] + rest, verbosity=2, exit=False).result
        if not result.wasSuccessful():
            print(CLUSTER.logs())
        return 0 if result.wasSuccessful() else 1
    finally:
        CLUSTER.stop()
        if not ARGS.keep:
            shutil.rmtree(CLUSTER.root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
