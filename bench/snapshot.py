"""Benchmark: grading from kubectl dumps.

Prints the time to load a dump, to grade both phases of the bundled correct
example, and the whole `labgrade grade` process (start-up included), so a
change that slows the student's feedback loop shows up as a figure.

    python bench/snapshot.py [--rounds N]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import engine, rubric  # noqa: E402
from grader.sources import snapshot
from grader.outcome import SourceInfo  # noqa: E402

CASE = ROOT / "examples" / "service-discovery" / "correct"


def timed(fn, rounds: int) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), min(samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    r = rubric.load("service-discovery")
    built, cleaned = CASE / "built.yaml", CASE / "cleaned.yaml"
    size_kib = (built.stat().st_size + cleaned.stat().st_size) / 1024

    def load_both():
        return snapshot.load(built), snapshot.load(cleaned)

    def grade_both():
        b, c = load_both()
        engine.grade(r, {
            "built": engine.StaticSource(b.view(phase="built"), SourceInfo("built", "snapshot", str(built))),
            "cleaned": engine.StaticSource(c.view(phase="cleaned"), SourceInfo("cleaned", "snapshot", str(cleaned))),
        })

    def whole_process():
        subprocess.run([sys.executable, "-m", "grader.cli", "grade", "--rubric", "service-discovery",
                        "--snapshot", str(built), "--snapshot", str(cleaned), "-q"],
                       cwd=ROOT, check=True, capture_output=True)

    print(f"dumps: {size_kib:.0f} KiB (built + cleaned), {args.rounds} rounds, median / best")
    for label, fn, rounds in (("load both dumps", load_both, args.rounds),
                              ("load + grade both phases", grade_both, args.rounds),
                              ("labgrade grade process", whole_process, max(3, args.rounds // 4))):
        med, best = timed(fn, rounds)
        print(f"  {label:<28} {med * 1000:8.1f} ms  {best * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
