"""Benchmark: one live grading run against the real control plane (tests/realcluster), beside the
same run against the stand-in API server holding the very same objects.

The real cluster is started (binaries built or found in ~/.cache/labgrade-realcluster), a correct
Service-discovery lab is performed in namespace ``bench`` with kubectl, and steps 1-5 are graded
live in-process as ``labgrade grade`` does (LISTs, the wget in clientpod over pods/exec, DNS over
pods/portforward to CoreDNS). The grader runs as its own client-certificate identity, so the API
server's audit log counts exactly its requests. The objects are then dumped with kubectl and
loaded into a StandIn (no injected latency) for the second figure.

    python -m bench.realcluster [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from grader import engine, rubric  # noqa: E402
from grader.sources.live import LiveSource, api_client  # noqa: E402
from tests.realcluster import build  # noqa: E402
from tests.realcluster.cluster import Cluster  # noqa: E402
from tests.realcluster_tests.lab import DUMP_KINDS, Lab  # noqa: E402
from tests.standin.server import StandIn  # noqa: E402

NS = "bench"


def grade_once(kubeconfig: str, r) -> tuple[float, int]:
    t0 = time.perf_counter()
    report = engine.grade(r, {"built": LiveSource(api_client(kubeconfig, None), NS, "built")},
                          namespace=NS, options=engine.Options(poll=False))
    return time.perf_counter() - t0, report.earned


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    build.build(log=lambda m: print(m, file=sys.stderr))
    r = rubric.load("service-discovery")
    with tempfile.TemporaryDirectory() as tmp, Cluster() as cluster:
        print(f"real cluster up in {cluster.timings['up']:.1f}s (netns {cluster.name})")
        cluster.new_namespace(NS)
        t0 = time.perf_counter()
        Lab(cluster, NS, Path(tmp)).build_correct()
        print(f"lab performed with kubectl in {time.perf_counter() - t0:.1f}s")

        real = []
        for _ in range(args.rounds):
            before = len(cluster.audit_events())
            took, earned = grade_once(str(cluster.grader_kubeconfig), r)
            events = cluster.audit_events()[before:]
            probes = sum(1 for e in events if e.get("objectRef", {}).get("subresource") in ("exec", "portforward"))
            real.append((took, earned, len(events) - probes, probes))

        objects = json.loads(cluster.kubectl("get", DUMP_KINDS, "-A", "-o", "json").stdout)["items"]
        version = json.loads(cluster.api_get("/version")[1])["gitVersion"].lstrip("v")
    with StandIn(objects, version=version) as server, tempfile.TemporaryDirectory() as tmp:
        kubeconfig = str(server.kubeconfig_path(Path(tmp)))
        fake = []
        for _ in range(args.rounds):
            server.clear_requests()
            took, earned = grade_once(kubeconfig, r)
            reqs = server.requests
            probes = sum(1 for q in reqs if q.path.endswith(("/exec", "/portforward")))
            fake.append((took, earned, len(reqs) - probes, probes))

    print(f"steps 1-5 graded live, {args.rounds} rounds (median wall time)")
    for label, runs in (("real kube-apiserver v" + version, real), ("stand-in (same objects)", fake)):
        t = statistics.median(x[0] for x in runs)
        print(f"  {label:30s} {t * 1000:8.0f} ms   {runs[0][2]} GET/LIST + {runs[0][3]} exec/port-forward requests"
              f"   earned {runs[0][1]}")


if __name__ == "__main__":
    main()
