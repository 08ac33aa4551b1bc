"""A class graded from one dump of its shared cluster: ``-o json`` against ``-o yaml``.

Writes the correct submission once per student namespace into one kubectl
List (``kubectl get ... -A -o json`` / ``-o yaml``), then prints:

- parsing the whole dump (every namespace kept, as the class cache does),
  with the garbage collector paused (what labgrade does) and running (what
  it did), for both formats, and the JSON/YAML factor;
- ``labgrade batch`` (in process, --jobs 4) over a roster whose rows all
  point at that one dump: the file parsed once, cut per namespace; beside
  it a few rows graded the old way (each row parsing the file itself), to
  show the per-row cost the cache removes.

    python -m bench.class_dump [--students 200] [--old-rows 10]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.batch import class_cluster  # noqa: E402
from grader import rubric as rubric_mod  # noqa: E402
from grader.classroom import batch, roster as roster_mod
from grader.sources import snapshot

CORRECT = ROOT / "examples" / "service-discovery" / "correct" / "built.yaml"


def write_dumps(folder: Path, n: int) -> dict[str, Path]:
    items = class_cluster(CORRECT, [f"s{i:04d}" for i in range(n)])
    doc = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}
    out = {"json": folder / "class.json", "yaml": folder / "class.yaml"}
    out["json"].write_text(json.dumps(doc, indent=4, ensure_ascii=False), encoding="utf-8")  # kubectl indents by 4
    out["yaml"].write_text(yaml.dump(doc, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
                                     allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def timed(fn, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def roster(folder: Path, dump: Path, n: int) -> Path:
    path = folder / f"roster-{dump.suffix[1:]}-{n}.csv"
    rows = ["student_id,namespace,built"] + [f"s{i:04d},s{i:04d},{dump.name}" for i in range(n)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def run_batch(folder: Path, dump: Path, n: int, cached: bool) -> float:
    r = rubric_mod.load("service-discovery")
    job = batch.Batch(r, roster_mod.load_roster(roster(folder, dump, n), r), folder / f"out-{dump.suffix[1:]}-{n}-{cached}",
                      batch.BatchOptions(jobs=4, resume=False))
    if not cached:
        job.dumps.uses = {}  # each row parses the file itself, as before the cache
    t0 = time.perf_counter()
    result = job.run()
    assert result.errors == 0, [r.error for r in result.results if r.error][:1]
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=200)
    ap.add_argument("--old-rows", type=int, default=10, help="rows graded the old way, per format")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="labgrade-dumps-") as tmp:
        folder = Path(tmp)
        dumps = write_dumps(folder, args.students)
        print(f"one class dump, {args.students} student namespaces: "
              + ", ".join(f"{fmt} {p.stat().st_size / 1e6:.1f} MB" for fmt, p in dumps.items()))
        print("\nparsing the whole dump (median of {0})".format(args.rounds))
        parse: dict[tuple[str, bool], float] = {}
        for fmt, path in dumps.items():
            for paused in (True, False):
                if paused:
                    fn = lambda: snapshot.load(path)  # noqa: E731
                else:
                    def fn(path=path):
                        real = snapshot.paused_gc
                        snapshot.paused_gc = contextlib.nullcontext
                        try:
                            return snapshot.load(path)
                        finally:
                            snapshot.paused_gc = real
                parse[fmt, paused] = timed(fn, args.rounds)
            print(f"  -o {fmt:<5} GC paused {parse[fmt, True] * 1000:8.0f} ms   GC running {parse[fmt, False] * 1000:8.0f} ms"
                  f"   ({parse[fmt, False] / parse[fmt, True]:.1f}x from the pause)")
        print(f"  -o json loads {parse['yaml', True] / parse['json', True]:.0f}x faster than -o yaml "
              f"({parse['yaml', False] / parse['json', False]:.0f}x with the GC running)")

        print(f"\nlabgrade batch, every row on the one dump (--jobs 4)")
        for fmt, path in dumps.items():
            cached = run_batch(folder, path, args.students, cached=True)
            old = run_batch(folder, path, args.old_rows, cached=False)
            print(f"  -o {fmt:<5} {args.students} rows, parsed once: {cached:6.2f} s ({cached / args.students * 1000:5.1f} ms/row)"
                  f"   {args.old_rows} rows parsing it each: {old:6.2f} s ({old / args.old_rows * 1000:6.0f} ms/row)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
