"""A structural schema check of deploy/k8s/segment-corpus.yaml (no cluster here): the fields an
Indexed Job of deeplab-batch needs, their types and how they must agree with each other (completions
and --shard-count, volumes and mounts, claims and the PVC, the index variable). Known keys only, so a
misspelt field (`backoffLimitPerindex`, which the API server would drop silently) fails here.

  /usr/bin/python3 tests/cluster/check_k8s_manifest.py deploy/k8s/segment-corpus.yaml
"""
import sys

try:
    import yaml
except ImportError:
    print("SKIP: python3-yaml is not installed (Debian: apt-get install python3-yaml)")
    sys.exit(77)

# Known keys of the objects used (batch/v1 Job, core/v1 PodSpec subset; Kubernetes 1.29 API).
JOB_SPEC_KEYS = {"completionMode", "completions", "parallelism", "backoffLimit", "backoffLimitPerIndex",
                 "maxFailedIndexes", "podFailurePolicy", "template", "activeDeadlineSeconds",
                 "ttlSecondsAfterFinished", "suspend", "selector", "manualSelector", "podReplacementPolicy"}
POD_SPEC_KEYS = {"restartPolicy", "terminationGracePeriodSeconds", "containers", "volumes", "nodeSelector",
                 "tolerations", "affinity", "securityContext", "serviceAccountName", "imagePullSecrets",
                 "initContainers", "priorityClassName"}
CONTAINER_KEYS = {"name", "image", "command", "args", "env", "resources", "volumeMounts", "workingDir",
                  "imagePullPolicy", "securityContext"}
INDEX_FIELD = "metadata.annotations['batch.kubernetes.io/job-completion-index']"

ERRORS = []


def check(condition, message):
    if not condition:
        ERRORS.append(message)
    return condition


def known_keys(mapping, allowed, where):
    for key in mapping:
        check(key in allowed, "%s: unknown key '%s'" % (where, key))


def is_int(value, minimum):
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def option(args, name):
    """The value after `name` in a container's args, or None."""
    return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) else None


def check_failure_policy(spec, container_names):
    for k, rule in enumerate(spec.get("podFailurePolicy", {}).get("rules", [])):
        where = "spec.podFailurePolicy.rules[%d]" % k
        check(rule.get("action") in {"FailJob", "FailIndex", "Ignore", "Count"}, where + ": bad action")
        codes = rule.get("onExitCodes")
        if codes:
            check(codes.get("containerName") in container_names, where + ": containerName is no container")
            check(codes.get("operator") in {"In", "NotIn"}, where + ": operator must be In or NotIn")
        check(bool(codes) != bool(rule.get("onPodConditions")), where + ": needs onExitCodes or onPodConditions")


def check_container(c, spec, mounts_ok):
    where = "container '%s'" % c.get("name")
    known_keys(c, CONTAINER_KEYS, where)
    check(isinstance(c.get("image"), str) and c["image"], where + ": no image")
    check(c.get("command") == ["deeplab-batch"], where + ": command must be [deeplab-batch]")
    args = [str(a) for a in c.get("args", [])]
    check(option(args, "--shard-count") == str(spec.get("completions")),
          where + ": --shard-count must equal spec.completions")
    env = {e.get("name"): e for e in c.get("env", [])}
    index = env.get("JOB_COMPLETION_INDEX", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
    check(index == INDEX_FIELD, where + ": JOB_COMPLETION_INDEX must come from " + INDEX_FIELD)
    mounts = [m.get("mountPath", "") for m in c.get("volumeMounts", [])]
    check(mounts_ok(c.get("volumeMounts", [])), where + ": a volumeMount names no volume")
    for path in (args[0] if args else None, option(args, "--inputs"), option(args, "--output-dir")):
        check(path is not None and any(path.startswith(m.rstrip("/") + "/") for m in mounts),
              where + ": '%s' is not on a mounted volume" % path)


def check_job(job, claims):
    check(job.get("apiVersion") == "batch/v1", "Job: apiVersion must be batch/v1")
    check(job.get("metadata", {}).get("name"), "Job: metadata.name missing")
    spec = job.get("spec", {})
    known_keys(spec, JOB_SPEC_KEYS, "spec")
    check(spec.get("completionMode") == "Indexed", "spec.completionMode must be Indexed")
    check(is_int(spec.get("completions"), 1), "spec.completions must be an integer >= 1")
    check(is_int(spec.get("parallelism"), 1), "spec.parallelism must be an integer >= 1")
    check(is_int(spec.get("backoffLimitPerIndex"), 0), "spec.backoffLimitPerIndex must be an integer >= 0")
    if "maxFailedIndexes" in spec:
        check(is_int(spec["maxFailedIndexes"], 0) and spec["maxFailedIndexes"] <= spec.get("completions", 0),
              "spec.maxFailedIndexes must be 0..completions")
    pod = spec.get("template", {}).get("spec", {})
    known_keys(pod, POD_SPEC_KEYS, "spec.template.spec")
    check(pod.get("restartPolicy") == "Never", "restartPolicy must be Never (backoffLimitPerIndex needs it)")
    volumes = {v.get("name"): v for v in pod.get("volumes", [])}
    for name, v in volumes.items():
        claim = v.get("persistentVolumeClaim", {}).get("claimName")
        check(claim is None or claim in claims, "volume '%s': claim '%s' is not defined in the file" % (name, claim))
    containers = pod.get("containers", [])
    check(len(containers) == 1, "one container expected")
    for c in containers:
        check_container(c, spec, lambda ms: all(m.get("name") in volumes for m in ms) and bool(ms))
    check_failure_policy(spec, {c.get("name") for c in containers})


def check_text(path, text):
    docs = [d for d in yaml.safe_load_all(text) if d]
    jobs = [d for d in docs if d.get("kind") == "Job"]
    claims = {d["metadata"]["name"] for d in docs if d.get("kind") == "PersistentVolumeClaim"}
    check(len(jobs) == 1, "%s: one Job expected, found %d" % (path, len(jobs)))
    for d in docs:
        check(d.get("kind") in {"Job", "PersistentVolumeClaim"}, "unexpected kind %s" % d.get("kind"))
        if d.get("kind") == "PersistentVolumeClaim":
            check(d.get("apiVersion") == "v1", "PersistentVolumeClaim: apiVersion must be v1")
            check("ReadWriteMany" in d.get("spec", {}).get("accessModes", []),
                  "PersistentVolumeClaim: ReadWriteMany (every pod writes to it at once)")
    for job in jobs:
        check_job(job, claims)
    return list(ERRORS)


# Each mistake the check exists for, made in the real file: every one must be reported.
MISTAKES = [("backoffLimitPerIndex: 2", "backoffLimitPerindex: 2"), ('- "8"', '- "4"'),
            ("claimName: segment-corpus-data", "claimName: other"), ("job-completion-index", "completion-index"),
            ("completionMode: Indexed", "completionMode: NonIndexed"), ("restartPolicy: Never", "restartPolicy: OnFailure"),
            ("mountPath: /data", "mountPath: /mnt"), ('command: ["deeplab-batch"]', 'command: ["deeplab-run"]')]


def self_test(path, text):
    missed = []
    for before, after in MISTAKES:
        ERRORS.clear()
        if before not in text or not check_text(path, text.replace(before, after, 1)):
            missed.append(after)
    ERRORS.clear()
    return missed


def main(path):
    with open(path) as f:
        text = f.read()
    missed = self_test(path, text)
    for m in missed:
        print("%s: the check did not catch the mistake '%s'" % (path, m))
    errors = check_text(path, text)
    for e in errors:
        print("%s: %s" % (path, e))
    if not errors and not missed:
        print("%s: an Indexed Job, valid; %d planted mistakes caught" % (path, len(MISTAKES)))
    return 1 if errors or missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
