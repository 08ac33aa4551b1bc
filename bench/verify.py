"""Benchmark: ``labgrade verify STEP`` as a lab platform's check button runs
it, a fresh process per press, from a dump and against a live cluster (the
stand-in API server with 20 ms per request); and the in-process cost of the
grading itself, which is what remains once imports are paid.

A check button should answer well within a second or two. Prints the median
and the slowest of N presses per case; asserts nothing.

    python bench/verify.py [--rounds N] [--latency 0.02]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASE = ROOT / "examples" / "service-discovery" / "correct"


def press(argv: list[str]) -> tuple[float, int, str]:
    """One button press: a new Python process running the labgrade CLI."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LANG": "zh_CN.UTF-8"}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "verify", *argv], capture_output=True, text=True,
                          env=env, timeout=120)
    return time.perf_counter() - t0, proc.returncode, (proc.stdout or proc.stderr).strip()


def report(label: str, runs: list[tuple[float, int, str]]) -> None:
    times = [t for t, _, _ in runs]
    codes = sorted({c for _, c, _ in runs})
    print(f"  {label:<42} median {statistics.median(times) * 1000:6.0f} ms   max {max(times) * 1000:6.0f} ms   "
          f"exit {codes}   {runs[0][2][:60]}")


def in_process(rounds: int) -> float:
    """Grading one step from an already-loaded dump, without process start or imports."""
    from grader import engine, rubric
    from grader.sources import snapshot
    from grader.engine import StaticSource
    from grader.outcome import SourceInfo
    from grader.classroom.verify import find_step, one_step, verdict

    r = rubric.load("service-discovery")
    snap = snapshot.load(str(CASE / "built.yaml"))
    src = {"built": StaticSource(snap.view(location="built", phase="built"), SourceInfo("built", "snapshot", "b"))}
    step = find_step(r, "step3")
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        rep = engine.grade(one_step(r, step), src, options=engine.Options(poll=False))
        verdict(rep.steps[0], "zh")
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--latency", type=float, default=0.02)
    args = ap.parse_args()
    print(f"labgrade verify, {args.rounds} presses per case (fresh process each), {os.cpu_count()} CPUs")
    dump = ["--rubric", "service-discovery", "--snapshot", str(CASE / "built.yaml")]
    report("step1 from a dump (passes)", [press(["step1", *dump]) for _ in range(args.rounds)])
    wrong = ["--rubric", "service-discovery", "--snapshot", str(ROOT / "examples/service-discovery/wrong-replicas/built.yaml")]
    report("step1 from a dump (not yet)", [press(["step1", *wrong]) for _ in range(args.rounds)])
    try:
        from tests.standin.fixtures import load_dump
        from tests.standin.server import StandIn
    except ImportError as exc:  # aiohttp is a test extra
        print(f"  live cases skipped: {exc}")
    else:
        with StandIn(load_dump(CASE / "built.yaml"), latency=args.latency) as server, \
                tempfile.TemporaryDirectory() as tmp:
            kubeconfig = str(server.kubeconfig_path(Path(tmp)))
            live = ["--rubric", "service-discovery", "--kubeconfig", kubeconfig]
            for step, what in (("step1", "Deployment checks"), ("step5", "wget through pods/exec")):
                server.clear_requests()
                runs = [press([step, *live]) for _ in range(args.rounds)]
                per_press = len(server.requests) / args.rounds
                report(f"{step} live, {args.latency * 1000:.0f} ms/request ({what})", runs)
                print(f"  {'':<42} {per_press:.0f} requests per press")
    print(f"  {'grading step3 in-process (no start-up)':<42} median {in_process(args.rounds * 4) * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
