"""How fast ``labgrade batch`` grades a class live.

One stand-in API server (tests/standin) holds the correct example submission
copied into N namespaces (metadata.namespace rewritten, uids made unique),
adds a fixed latency to every request, and N students (one namespace each)
are graded live through the real ``kubernetes`` client, exactly as the
command does: LISTs, the wget in clientpod over pods/exec, DNS through
pods/portforward to CoreDNS.  Prints wall time, students per second and
requests per student.  Not a timed test: run it by hand.

    python -m bench.batch                       # 200 students, 20 ms, --jobs 8
    python -m bench.batch --students 50 --latency 0.05 --jobs 4
    python -m bench.batch --dumps               # the same class from dump files, no server
"""
from __future__ import annotations

import argparse
import copy
import csv
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/batch.py` as well as `python -m bench.batch`
    sys.path.insert(0, str(ROOT))

CORRECT = ROOT / "examples" / "service-discovery" / "correct"
LAB_NAMESPACE = "default"
Obj = dict[str, Any]


def _cluster_own(obj: Obj) -> bool:
    """The cluster's own objects in ``default``: the kubernetes Service and its endpoints."""
    meta = obj["metadata"]
    labels = meta.get("labels") or {}
    return meta.get("name") == "kubernetes" or labels.get("kubernetes.io/service-name") == "kubernetes"


def _rewrite(value: Any, namespace: str) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "namespace" and item == LAB_NAMESPACE:
                out[key] = namespace
            elif key == "uid" and isinstance(item, str):
                out[key] = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{namespace}/{item}"))
            else:
                out[key] = _rewrite(item, namespace)
        return out
    if isinstance(value, list):
        return [_rewrite(item, namespace) for item in value]
    return value


def relocate(items: list[Obj], namespace: str) -> list[Obj]:
    """The lab's objects of a dump (namespace ``default``), moved to ``namespace``:
    every ``namespace: default`` (metadata, targetRefs) rewritten, every uid
    (metadata, ownerReferences) mapped to a new one the same way, plus the
    Namespace object itself."""
    default_ns = next(o for o in items if o["kind"] == "Namespace" and o["metadata"]["name"] == LAB_NAMESPACE)
    ns = _rewrite(copy.deepcopy(default_ns), namespace)
    ns["metadata"]["name"] = namespace
    ns["metadata"]["labels"] = {"kubernetes.io/metadata.name": namespace}
    moved = [_rewrite(o, namespace) for o in items
             if o["metadata"].get("namespace") == LAB_NAMESPACE and not _cluster_own(o)]
    return [ns, *moved]


def class_cluster(dump: Path, namespaces: list[str]) -> list[Obj]:
    """One cluster: the dump's own objects (kube-system, the kubernetes
    Service...) and the lab done right once per namespace."""
    items = yaml.safe_load(dump.read_text(encoding="utf-8"))["items"]
    base = [o for o in items if o["metadata"].get("namespace") != LAB_NAMESPACE or _cluster_own(o)]
    out = list(base)
    for ns in namespaces:
        out += relocate(items, ns)
    return out


def write_roster(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def run(students: int, latency: float, jobs: int, dumps: bool) -> int:
    from grader import rubric as rubric_mod
    from grader.classroom import batch, roster as roster_mod
    from grader.classroom.meter import ProgressMeter

    rubric = rubric_mod.load("service-discovery")
    namespaces = [f"s{i:03d}" for i in range(students)]
    with tempfile.TemporaryDirectory(prefix="labgrade-bench-") as tmp:
        work = Path(tmp)
        roster = work / "roster.csv"
        server = None
        if dumps:
            write_roster(roster, [{"student_id": ns, "name": f"学生 {ns}", "built": str(CORRECT / "built.yaml"),
                                   "cleaned": str(CORRECT / "cleaned.yaml")} for ns in namespaces])
            kubeconfig = None
        else:
            from tests.standin import StandIn

            t0 = time.perf_counter()
            server = StandIn(class_cluster(CORRECT / "built.yaml", namespaces), latency=latency).start()
            kubeconfig = str(server.kubeconfig_path(work))
            print(f"stand-in: {students} namespaces loaded in {time.perf_counter() - t0:.1f} s, "
                  f"{latency * 1000:g} ms per request")
            write_roster(roster, [{"student_id": ns, "name": f"学生 {ns}", "namespace": ns} for ns in namespaces])
        try:
            options = batch.BatchOptions(jobs=jobs, lang="zh", resume=False, kubeconfig=kubeconfig)
            job = batch.Batch(rubric, roster_mod.load_roster(roster, rubric), work / "results", options,
                              progress=ProgressMeter(sys.stderr, tty=False) if students <= 20 else None)
            t0 = time.perf_counter()
            result = job.run()
            wall = time.perf_counter() - t0
            requests = len(server.requests) if server else 0
        finally:
            if server:
                server.stop()
    totals = sorted({r.report.earned for r in result.results if r.report})
    print(f"graded {len(result.results)} students ({result.errors} errors) with --jobs {jobs}"
          f"{' from dumps' if dumps else ' live'}: totals seen {totals}")
    print(f"wall time      {wall:.2f} s")
    print(f"students/s     {len(result.results) / wall:.1f}")
    if not dumps:
        print(f"requests       {requests} ({requests / len(result.results):.1f} per student)")
    return 0 if not result.errors else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.020, help="seconds added to every request")
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--dumps", action="store_true", help="grade dump files instead of a live stand-in")
    args = parser.parse_args(argv)
    return run(args.students, args.latency, args.jobs, args.dumps)


if __name__ == "__main__":
    sys.exit(main())
