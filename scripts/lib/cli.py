"""The command-line convention of the Python scripts: a user error (bad argument, missing input)
is a CliError, printed as one line "<script>: error: <message>" on stderr with exit status 2;
anything else is a bug and keeps its traceback."""
import sys


class CliError(Exception):
    """A user error: reported as one line on stderr, exit status 2."""


def run_main(script, body, argv):
    """body(argv) -> exit status, with CliError reported as the convention says."""
    try:
        return body(argv)
    except CliError as e:
        print("%s: error: %s" % (script, e), file=sys.stderr)
        return 2
