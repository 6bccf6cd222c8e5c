#!/usr/bin/env python3
"""Lists C++/CUDA functions longer than a limit, and fails (exit 1) when any is found.

    check-function-lengths.py [--max N] [--rule FOLDER=N ...] [--allow FILE] [--list] ROOT PATH...

A function's length is counted from the line of its name to the line of its closing brace. The
scanner is brace-aware, not a compiler: it drops comments, string and character literals and
preprocessor lines, then follows the braces, telling namespaces, classes and function bodies apart
by the text before each `{`. That is enough for this tree's style (no macros that open braces), and
needs nothing beyond Python.

--rule FOLDER=N sets a stricter (or looser) limit below FOLDER (the longest matching folder wins).
--allow FILE names known offenders, one `path:function` a line (`#` comments), that are reported but
do not fail the check; an entry that matches nothing is an error, so the list cannot go stale.
"""
import argparse
import os
import re
import sys

SOURCE_SUFFIXES = (".cpp", ".cc", ".cxx", ".h", ".hpp", ".cu", ".cuh")
NAMESPACE_RE = re.compile(r'^(inline\s+)?namespace\b|^extern\s+"C"')
CLASS_RE = re.compile(r'^(template\s*<.*>\s*)?(class|struct|union)\b', re.S)
ENUM_RE = re.compile(r'^(typedef\s+)?enum\b')
IDENT_RE = re.compile(r'([A-Za-z_0-9:~]*operator\s*(\(\)|[^\s(]+)|[A-Za-z_~][A-Za-z_0-9:~]*)(<[^()]*>)?$')


def strip_code(text):
    """Blanks comments, literals and preprocessor lines, keeping every newline (line numbers)."""
    out = []
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and c == "#":
            while i < n and not (text[i] == "\n" and text[i - 1] != "\\"):
                out.append("\n" if text[i] == "\n" else " ")
                i += 1
            continue
        if c == "\n":
            at_line_start = True
            out.append(c)
            i += 1
            continue
        if not c.isspace():
            at_line_start = False
        if text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
            continue
        raw = re.match(r'R"([^(\s]*)\(', text[i:i + 20])
        if raw and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            close = text.find(")" + raw.group(1) + '"', i)
            end = n if close < 0 else close + len(raw.group(1)) + 2
            out.append('""' + re.sub(r"[^\n]", " ", text[i + 2:end]))
            i = end
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + c)
            i = j + 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def function_name(header):
    """The name before the parameter list: the last top-level (...) before an initializer list."""
    groups, depth, start = [], 0, 0
    for k, ch in enumerate(header):
        if ch == "(":
            if depth == 0:
                start = k
            depth += 1
        elif ch == ")" and depth > 0:
            depth -= 1
            if depth == 0:
                groups.append((start, k))
        elif ch == ":" and depth == 0 and groups and header[k - 1] != ":" and header[k + 1:k + 2] != ":":
            break  # a constructor's initializer list starts here
    if not groups:
        return None, 0
    start = groups[-1][0]
    match = IDENT_RE.search(header[:start].rstrip())
    if not match:
        return "<lambda>", start
    name = re.sub(r"\s+", "", match.group(0))
    if re.fullmatch(r"[A-Z][A-Z0-9_]+", name):  # a macro: TEST(Suite, Name)
        name += header[start:groups[-1][1] + 1]
    return name, match.start()


def classify(header):
    text = header.strip()
    if NAMESPACE_RE.match(text):
        return "namespace"
    if ENUM_RE.match(text):
        return "other"
    if CLASS_RE.match(text) and "(" not in re.sub(r"<.*>", "", text):
        return "class"
    if "(" in text and not text.endswith("="):
        return "function"
    return "other"


def member_init_brace(header):
    """A `{` in a constructor's initializer list (`: a_{1}`) rather than the body."""
    text = header.rstrip()
    if not text or not (text[-1].isalnum() or text[-1] in "_>"):
        return False
    name, _ = function_name(text)
    return name is not None and re.search(r"\)\s*(noexcept\s*)?:[^:]", text) is not None


def scan(code):
    """Yields (name, first_line, last_line) for each function body at namespace or class scope."""
    stack = []  # (kind, name, first_line) per open brace
    header, header_start = "", 0
    line = 1
    for ch in code:
        if ch == "\n":
            line += 1
        in_function = any(kind in ("function", "other") for kind, _, _ in stack)
        if ch == "{":
            if in_function:
                stack.append(("nested", None, line))
                continue
            if member_init_brace(header):
                stack.append(("init", None, line))
                header += ch
                continue
            kind = classify(header)
            name, offset = function_name(header) if kind == "function" else (None, 0)
            first = header_start + header[:offset].count("\n")
            stack.append((kind, name, first))
            header, header_start = "", line
        elif ch == "}":
            kind, name, first = stack.pop() if stack else ("nested", None, line)
            if kind == "init":
                header += ch
                continue
            if kind == "function":
                yield name, first, line
            if not in_function or kind in ("function", "other"):
                header, header_start = "", line
        elif ch == ";" and not in_function:
            header, header_start = "", line
        elif not in_function:
            if not header.strip() and not ch.isspace():
                header_start = line
                header = ""
            header += ch


def source_files(root, paths):
    for path in paths:
        full = os.path.join(root, path)
        if os.path.isfile(full):
            yield full
            continue
        for folder, dirs, files in os.walk(full):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(SOURCE_SUFFIXES):
                    yield os.path.join(folder, name)


def limit_for(rel, default, rules):
    best, best_len = default, -1
    for folder, limit in rules:
        prefix = folder.rstrip("/") + "/"
        if rel.startswith(prefix) and len(prefix) > best_len:
            best, best_len = limit, len(prefix)
    return best


def read_allow_list(path):
    if not path:
        return set()
    with open(path, encoding="utf-8") as f:
        return {line.split("#")[0].strip() for line in f if line.split("#")[0].strip()}


SELF_TEST_SOURCE = r'''
#include <string>
#define OPEN {
namespace a { namespace {
struct S : Base {
  S(int x) : a_(x), b_{x, 2} {
    f("}{", '{');
  }
  int get() const { return a_; }
  int a_; int b_[2];
};
}  // namespace
G_DEFINE_TYPE(GstX, gst_x, GST_TYPE_Y)
static void gst_x_init(GstX* self) {
  // } a brace in a comment
  auto f = [](int v) { return v; };
  /* { */ const char* s = R"({{{)";
}
enum class E { kA, kB };
const int table[] = {1, 2};
TEST(Suite, Name) {
  if (x) {
  }
}
bool operator==(const S& l, const S& r) {
  return true;
}
}  // namespace a
'''

# (name, first line, last line) that the scanner must find in SELF_TEST_SOURCE.
SELF_TEST_EXPECTED = [("S", 6, 8), ("get", 9, 9), ("gst_x_init", 14, 18), ("TEST(Suite, Name)", 21, 24),
                      ("operator==", 25, 27)]


def self_test():
    found = [(name, first, last) for name, first, last in scan(strip_code(SELF_TEST_SOURCE))]
    if found != SELF_TEST_EXPECTED:
        print("check-function-lengths self-test failed:\n  found    %s\n  expected %s" % (found, SELF_TEST_EXPECTED))
        return 1
    print("check-function-lengths self-test: %d functions found as expected" % len(found))
    return 0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", nargs="?", help="the source tree; paths and the allow-list are relative to it")
    parser.add_argument("paths", nargs="*", help="folders or files to scan")
    parser.add_argument("--self-test", action="store_true", help="check the scanner on a built-in sample")
    parser.add_argument("--max", type=int, default=80, help="longest function allowed (lines)")
    parser.add_argument("--rule", action="append", default=[], metavar="FOLDER=N")
    parser.add_argument("--allow", help="file of known offenders (path:function a line)")
    parser.add_argument("--list", action="store_true", help="print every function with its length")
    return parser.parse_args()


def main():
    args = parse_args()
    if args.self_test:
        return self_test()
    if not args.root or not args.paths:
        sys.exit("check-function-lengths: give ROOT and at least one PATH (or --self-test)")
    rules = []
    for rule in args.rule:
        folder, _, limit = rule.partition("=")
        if not limit.isdigit():
            sys.exit(f"check-function-lengths: --rule {rule!r} is not FOLDER=N")
        rules.append((folder, int(limit)))
    allowed = read_allow_list(args.allow)
    used, failures, known = set(), [], []
    for path in source_files(args.root, args.paths):
        rel = os.path.relpath(path, args.root)
        with open(path, encoding="utf-8", errors="replace") as f:
            code = strip_code(f.read())
        limit = limit_for(rel, args.max, rules)
        for name, first, last in scan(code):
            length = last - first + 1
            if args.list:
                print(f"{length:5d} {rel}:{first} {name}")
            if length <= limit:
                continue
            key = f"{rel}:{name}"
            row = f"{rel}:{first}: {name} is {length} lines (limit {limit})"
            (known if key in allowed else failures).append(row)
            used.add(key)
    for row in known:
        print(f"allowed (listed in {args.allow}): {row}")
    stale = sorted(allowed - used)
    for key in stale:
        print(f"stale allow-list entry (no longer too long, or gone): {key}")
    for row in failures:
        print(f"too long: {row}")
    print(f"{len(failures)} function(s) over the limit, {len(known)} allowed, {len(stale)} stale allow-list entries")
    return 1 if failures or stale else 0


if __name__ == "__main__":
    sys.exit(main())
