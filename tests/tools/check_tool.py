#!/usr/bin/env python3
"""Runs a command-line tool and checks what it did: exit status, output lines, files, JSON fields.

  check_tool.py [--exit N] [--stdout REGEX[@COUNT]]... [--stderr REGEX]... [--exists PATH]...
                [--json KEY=VALUE | KEY>VALUE | KEY<VALUE]... [--clean PATH] -- TOOL ARGS...

--stdout REGEX@COUNT requires exactly COUNT matching lines (without @COUNT: at least one).
--json parses the last stdout line that starts with '{' and compares a field (numbers as floats,
anything else as text). --clean removes a file or folder before the run (for --exists on fresh output).
Prints ok/PASS or FAIL lines; exits 1 on FAIL.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check_lines(name, text, spec):
    regex, _, count = spec.rpartition("@") if re.search(r"@\d+$", spec) else (spec, "", "")
    hits = [line for line in text.splitlines() if re.search(regex, line)]
    if count and len(hits) != int(count):
        fail(f"{name}: {len(hits)} lines match '{regex}', expected {count}:\n{text}")
    if not count and not hits:
        fail(f"{name}: no line matches '{regex}':\n{text}")
    print(f"ok: {name} matches '{regex}' ({len(hits)} lines)")


def check_json(stdout, specs):
    objects = [line for line in stdout.splitlines() if line.startswith("{")]
    if not objects:
        fail("no JSON object in stdout")
    report = json.loads(objects[-1])
    for spec in specs:
        key, op, want = re.match(r"^([A-Za-z_0-9]+)([=<>])(.*)$", spec).groups()
        if key not in report:
            fail(f"JSON has no '{key}'")
        got = report[key]
        try:
            got_num, want_num = float(got), float(want)
            ok = {"=": got_num == want_num, "<": got_num < want_num, ">": got_num > want_num}[op]
        except (TypeError, ValueError):
            ok = op == "=" and str(got) == want
        if not ok:
            fail(f"JSON {key} = {got!r}, expected {op} {want}")
        print(f"ok: JSON {key} = {got!r} ({op} {want})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exit", type=int, default=0)
    parser.add_argument("--stdout", action="append", default=[])
    parser.add_argument("--stderr", action="append", default=[])
    parser.add_argument("--exists", action="append", default=[])
    parser.add_argument("--json", action="append", default=[])
    parser.add_argument("--clean")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.clean and os.path.isdir(args.clean):
        shutil.rmtree(args.clean)
    elif args.clean and os.path.exists(args.clean):
        os.remove(args.clean)
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    print(run.stdout)
    print(run.stderr, file=sys.stderr)
    if run.returncode != args.exit:
        fail(f"exit status {run.returncode}, expected {args.exit}; stderr:\n{run.stderr}")
    for spec in args.stdout:
        check_lines("stdout", run.stdout, spec)
    for spec in args.stderr:
        check_lines("stderr", run.stderr, spec)
    for path in args.exists:
        try:
            open(path, "rb").close()
        except OSError:
            fail(f"{path} was not written")
        print(f"ok: {path} written")
    if args.json:
        check_json(run.stdout, args.json)
    print("PASS")


if __name__ == "__main__":
    main()
