"""Benchmark: grading a dump of a big cluster (the lab plus N pods in other namespaces).

A 200 MB dump (66k pods) once took 8.4 GB and 268 s before a MemoryError;
labgrade now keeps only the kinds and namespaces the rubric reads, so the
cost is a scan of the text. Prints the dump's size, the wall time and the
peak resident memory of one ``labgrade grade --snapshot`` process, for
kubectl's YAML and JSON shapes.

    python bench/big_dump.py [--pods 50000]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "examples" / "service-discovery" / "correct" / "built.yaml"


def write_yaml(path: Path, pods: int) -> None:
    """kubectl's ``-o yaml`` List: the lab's objects, then ``pods`` pods
    across 100 other namespaces (text templating: PyYAML's dumper would
    take minutes)."""
    lab = yaml.safe_load(CASE.read_text(encoding="utf-8"))["items"]
    template = next(o for o in lab if o["kind"] == "Pod")
    one = yaml.safe_dump([template], sort_keys=True, default_flow_style=False)
    name, ns, uid = template["metadata"]["name"], template["metadata"]["namespace"], template["metadata"]["uid"]
    with path.open("w", encoding="utf-8") as f:
        f.write("apiVersion: v1\nitems:\n")
        f.write(yaml.safe_dump(lab, sort_keys=True, default_flow_style=False))
        for i in range(pods):
            f.write(one.replace(f"name: {name}\n", f"name: noise-{i}\n", 1)
                    .replace(f"namespace: {ns}\n", f"namespace: team-{i % 100}\n")
                    .replace(f"uid: {uid}\n", f"uid: noise-{i}\n"))
        f.write("kind: List\nmetadata:\n  resourceVersion: \"\"\n")


def write_json(path: Path, pods: int) -> None:
    lab = yaml.safe_load(CASE.read_text(encoding="utf-8"))["items"]
    template = next(o for o in lab if o["kind"] == "Pod")
    def item(obj: dict) -> str:  # kubectl's layout: json.MarshalIndent with four spaces, items at depth 2
        return textwrap.indent(json.dumps(obj, indent=4), " " * 8)

    with path.open("w", encoding="utf-8") as f:
        f.write('{\n    "apiVersion": "v1",\n    "items": [\n')
        f.write(",\n".join(item(o) for o in lab))
        for i in range(pods):
            pod = json.loads(json.dumps(template))
            pod["metadata"].update(name=f"noise-{i}", namespace=f"team-{i % 100}", uid=f"noise-{i}")
            f.write(",\n" + item(pod))
        f.write('\n    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')


def run(path: Path) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "grade", "--rubric", "service-discovery",
                           "--snapshot", str(path), "-q"], cwd=ROOT, capture_output=True, text=True)
    took = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        sys.exit(f"labgrade failed ({proc.returncode}): {proc.stderr.strip()}")
    return took, max(peak, before) / 1024, proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pods", type=int, default=50_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for shape, writer in (("yaml", write_yaml), ("json", write_json)):
            path = Path(tmp) / f"cluster.{shape}"
            writer(path, args.pods)
            took, peak_mb, _ = run(path)
            size = path.stat().st_size / (1024 * 1024)
            print(f"{shape:4}  {args.pods} pods in other namespaces, {size:.0f} MB dump: "
                  f"grade {took:.1f} s, peak RSS {peak_mb:.0f} MB")
            path.unlink()


if __name__ == "__main__":
    main()
