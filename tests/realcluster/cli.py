"""python -m tests.realcluster COMMAND

  build [--force] [COMPONENT...]   build the components (cached; seconds when nothing changed)
  up [--timeout S]                 start a cluster, print the host-side kubeconfig path
  run -- CMD ARGS...               run CMD inside the cluster's netns with KUBECONFIG set
  status                           print the running cluster's description (JSON)
  down                             stop the cluster, remove its netns
  record-examples [--check]        regenerate examples/service-discovery/ from real states
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.realcluster.cluster import STATE_ROOT, Cluster, ClusterError

STATE = STATE_ROOT / "current.json"


def _current() -> Cluster | None:
    try:
        return Cluster.attach(json.loads(STATE.read_text()))
    except (OSError, ValueError, KeyError):
        return None


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        return 2 if not argv else 0
    cmd, rest = argv[0], argv[1:]
    if cmd == "build":
        from tests.realcluster import build
        return build.main(rest)
    if cmd == "up":
        timeout = float(rest[rest.index("--timeout") + 1]) if "--timeout" in rest else 120.0
        if _current() is not None:
            print(f"realcluster: a cluster is already up ({STATE}); run: python -m tests.realcluster down",
                  file=sys.stderr)
            return 1
        from tests.realcluster import build
        try:
            build.build(log=lambda m: print(m, file=sys.stderr, flush=True))
        except build.BuildError as e:
            print(f"realcluster: {e}", file=sys.stderr)
            return 1
        c = Cluster()
        try:
            c.up(timeout=timeout)
        except (ClusterError, build.BuildError) as e:
            print(f"realcluster: {e}\nlogs: {c.logs}", file=sys.stderr)
            c.down()
            return 1
        STATE.write_text(json.dumps(c.describe()))
        print(f"realcluster: up in {c.timings['up']:.1f}s, netns {c.name}, logs {c.logs}", file=sys.stderr)
        print(c.kubeconfig)
        return 0
    if cmd == "run":
        if rest[:1] == ["--"]:
            rest = rest[1:]
        c = _current()
        if c is None:
            print("realcluster: no cluster is up; run: python -m tests.realcluster up", file=sys.stderr)
            return 1
        if not rest:
            print("realcluster: run -- CMD ARGS...", file=sys.stderr)
            return 2
        return subprocess.call(c.netns_argv(rest), env=c.netns_env())
    if cmd == "status":
        c = _current()
        if c is None:
            print("realcluster: no cluster is up", file=sys.stderr)
            return 1
        print(json.dumps(c.describe(), indent=1))
        return 0
    if cmd == "down":
        c = _current()
        if c is None:
            print("realcluster: no cluster is up", file=sys.stderr)
            return 0
        c.down()
        try:
            STATE.unlink()
        except OSError:
            pass
        print(f"realcluster: down (logs kept in {c.logs})", file=sys.stderr)
        return 0
    if cmd == "record-examples":
        from tests.realcluster import record
        return record.main(rest)
    print(f"realcluster: unknown command {cmd!r}\n{__doc__}", file=sys.stderr)
    return 2
