"""Benchmark: one live grading run against the stand-in API server, beside
an equivalent shell-style script of kubectl calls, both with the same
injected latency per request (default 20 ms, like a nearby real cluster).

Prints requests per run and wall time per run, side by side. The targets:
labgrade makes at most 8 LIST/GET requests per pass plus its probes, and is
at least 5x faster than the kubectl script.

    python bench/live.py [--rounds N] [--latency 0.02]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import engine, rubric  # noqa: E402
from grader.sources.live import LiveSource, api_client  # noqa: E402
from tests.standin.fixtures import load_dump  # noqa: E402
from tests.standin.server import StandIn  # noqa: E402

CASE = ROOT / "examples" / "service-discovery" / "correct" / "built.yaml"

# What a TA would otherwise type to check steps 1-5: one kubectl process per question.
KUBECTL_SCRIPT = [
    ["get", "deployment", "deployment1", "-o", "json"],
    ["get", "deployment", "deployment2", "-o", "json"],
    ["get", "replicasets", "-o", "json"],
    ["get", "pods", "-o", "json"],
    ["get", "service", "service1", "-o", "json"],
    ["get", "service", "service2", "-o", "json"],
    ["get", "endpointslices", "-l", "kubernetes.io/service-name=service1", "-o", "json"],
    ["get", "endpointslices", "-l", "kubernetes.io/service-name=service2", "-o", "json"],
    ["get", "pod", "clientpod", "-o", "json"],
    ["get", "service", "kubernetes", "-n", "default", "-o", "json"],
    ["get", "namespace", "default", "-o", "json"],
]


def labgrade_run(server: StandIn, kubeconfig: str, r) -> tuple[float, int, int]:
    server.clear_requests()
    t0 = time.perf_counter()
    src = LiveSource(api_client(kubeconfig, None), "default", "built")
    report = engine.grade(r, {"built": src}, options=engine.Options(poll=False))
    elapsed = time.perf_counter() - t0
    reqs = server.requests
    probes = sum(1 for q in reqs if q.path.endswith(("/exec", "/portforward")))
    assert report.earned == 85, report.earned
    return elapsed, len(reqs) - probes, probes


def kubectl_run(server: StandIn, kubectl: str, kubeconfig: str, target: str) -> tuple[float, int]:
    server.clear_requests()
    t0 = time.perf_counter()
    for args in KUBECTL_SCRIPT + [["exec", "clientpod", "--", "wget", "-q", "-O", "-", "-T", "5", target]]:
        subprocess.run([kubectl, "--kubeconfig", kubeconfig, "-n", "default", *args], check=True,
                       capture_output=True, timeout=60)
    return time.perf_counter() - t0, len(server.requests)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--latency", type=float, default=0.02)
    args = ap.parse_args()
    r = rubric.load("service-discovery")
    with StandIn(load_dump(CASE), latency=args.latency) as server, tempfile.TemporaryDirectory() as tmp:
        kubeconfig = str(server.kubeconfig_path(Path(tmp)))
        runs = [labgrade_run(server, kubeconfig, r) for _ in range(args.rounds)]
        lg_time = statistics.median(t for t, _, _ in runs)
        print(f"stand-in latency {args.latency * 1000:.0f} ms/request, {args.rounds} rounds (median)")
        print(f"  labgrade grade (steps 1-5, live)   {lg_time * 1000:8.0f} ms   "
              f"{runs[0][1]} GET + {runs[0][2]} probe requests")
        from bench.cold import find_kubectl

        kubectl = find_kubectl()  # on PATH, else the one `python -m tests.realcluster build` made
        if kubectl is None:
            print("  kubectl script                     (no kubectl: apt-get install kubernetes-client, or "
                  "python -m tests.realcluster build)")
            return
        # kubectl (client-go) does not send a bearer token over plain http, and the stand-in
        # serves http on loopback: let its requests in without one for this half.
        server._authenticate = lambda request: None
        pod_ip = next(p["status"]["podIP"] for p in load_dump(CASE)
                      if p["kind"] == "Pod" and "svc2" in p["metadata"].get("labels", {}))
        target = f"http://{pod_ip.replace('.', '-')}.service2.default.svc.cluster.local"
        kruns = [kubectl_run(server, kubectl, kubeconfig, target) for _ in range(max(1, args.rounds // 2))]
        k_time = statistics.median(t for t, _ in kruns)
        print(f"  kubectl script ({len(KUBECTL_SCRIPT) + 1} commands)         {k_time * 1000:8.0f} ms   "
              f"{kruns[0][1]} requests")
        print(f"  speed-up                           {k_time / lg_time:8.1f}x")


if __name__ == "__main__":
    main()
