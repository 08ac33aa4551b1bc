"""Command line for the real cluster harness (filled in below)."""

import sys


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "build":
        from tests.realcluster import build
        return build.main(rest)
    print(f"unknown command {cmd}", file=sys.stderr)
    return 2
