"""Benchmark: how long one live ``labgrade grade --no-poll`` takes when the
API server misbehaves in slow motion (the README promises at most 60 s).

Each row starts the stand-in API server with one fault (or all of them),
grades the correct built example against it and prints the wall time and
how the run ended. Tests only prove the run ends with a report; this
prints the figure.

    python bench/hostile.py
"""
from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.cli import main  # noqa: E402
from tests.standin.fixtures import load_dump  # noqa: E402
from tests.standin.server import StandIn  # noqa: E402

CASE = ROOT / "examples" / "service-discovery" / "correct" / "built.yaml"
FAULTS = {
    "none": [],
    "LIST body one byte every 2 s": [dict(method="GET", path=r"/pods$", drip=2.0)],
    "exec upgrade never answered": [dict(method="GET", path=r"/exec$", hang=True)],
    "exec frame dripped": [dict(method="GET", path=r"/exec$", frame_drip=0.5)],
    "endless exec output": [dict(method="GET", path=r"/exec$", flood=64 * 1024)],
    "port-forward never answered": [dict(method="GET", path=r"/portforward$", hang=True)],
    "API server lost during exec": [dict(method="GET", path=r"/exec$", cut=True)],
    "all of the above at once": [dict(method="GET", path=r"/pods$", drip=2.0),
                                 dict(method="GET", path=r"/exec$", hang=True),
                                 dict(method="GET", path=r"/portforward$", hang=True)],
    "nothing ever answered": [dict(method="*", path=r".*", hang=True)],
}


def one(name: str, faults: list[dict], tmp: Path) -> None:
    with StandIn(load_dump(CASE)) as server:
        for fault in faults:
            server.faults.add(times=None, **fault)
        out = tmp / "report.json"
        out.unlink(missing_ok=True)
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            rc = main(["grade", "--rubric", "service-discovery", "--kubeconfig", str(server.kubeconfig_path(tmp)),
                       "--no-poll", "-q", "--json", str(out)])
        took = time.perf_counter() - t0
    report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else None
    counts = report["totals"] if report else {}
    print(f"{name:32} {took:6.1f} s  exit {rc}  report {'yes' if report else 'NO'}  "
          f"earned {counts.get('earned', '-')}, not graded {counts.get('ungraded', '-')}")


def main_() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, faults in FAULTS.items():
            one(name, faults, Path(tmp))


if __name__ == "__main__":
    main_()
