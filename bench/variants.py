"""Benchmark: making each student's rubric from a variant rubric, for a class
of 1000, as ``labgrade batch`` does (one parsed template, then per student:
derive the values, substitute, validate). Two shapes: few distinct variants
(``choose`` only: students who draw the same values share one validated
rubric) and one variant per student (a ``token`` suffix). Prints figures;
asserts nothing.

    python bench/variants.py [--students 1000]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.rubric import _read, parse_yaml  # noqa: E402
from grader.variants import SECRET_ENV, Template  # noqa: E402

CHOOSE = "variants:\n  r1: {choose: [2, 3, 4]}\n  r2: {choose: [3, 4, 5]}\n"
TOKEN = CHOOSE + "  suffix: {token: 4}\n"


def service_discovery_with(variants: str, titles: bool) -> Template:
    """The bundled service-discovery rubric (22 checks) with replica counts as variants."""
    text, loc = _read("service-discovery")
    text = text.replace("phases: [built, cleaned]\n", "phases: [built, cleaned]\n" + variants)
    text = text.replace("replicas: 2}", 'replicas: "{{ var.r1 }}"}').replace("replicas: 3}", 'replicas: "{{ var.r2 }}"}')
    if titles:
        text = text.replace("title: {zh: deployment1 已创建", "title: {zh: \"deployment1-{{ var.suffix }} 已创建\"")
    return Template(parse_yaml(text, loc), loc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=1000)
    args = ap.parse_args()
    os.environ.setdefault(SECRET_ENV, "bench-course-secret-0123456789abcdef")
    print(f"per-student rubrics for {args.students} students (service-discovery, 22 checks)")
    for label, variants, titles in (("choose only (9 distinct variants)", CHOOSE, False),
                                    ("with a token (one variant each)", TOKEN, True)):
        template = service_discovery_with(variants, titles)
        t0 = time.perf_counter()
        for i in range(args.students):
            template.rubric(f"s{i:05d}")
        elapsed = time.perf_counter() - t0
        print(f"  {label:<36} {elapsed * 1000:7.0f} ms   {elapsed / args.students * 1000:5.2f} ms/student")


if __name__ == "__main__":
    main()
