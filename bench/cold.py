"""One student's live grading as a fresh process, paired with a kubectl script.

What a teacher compares: ``labgrade grade`` started cold (interpreter,
imports, kubeconfig, TLS, LISTs, the wget exec and the DNS questions)
against the verify script they would otherwise write, one ``kubectl`` per
fact (bench/live.py's script, plus the wget through ``kubectl exec``).
Both run against the same stand-in API server in its own process, over
https with a throwaway CA, 20 ms added to every request; runs alternate
(labgrade, kubectl, labgrade, ...) so that a busy machine slows both alike.
Prints the medians, the ratio, the requests each side made, and where the
cold process's import time goes (``python -X importtime``).

    python -m bench.cold [--rounds 5] [--latency 0.02]
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.standin_process import StandInProcess  # noqa: E402

CASE = ROOT / "examples" / "service-discovery" / "correct" / "built.yaml"

# What a TA would otherwise type to check steps 1-5: one kubectl process per question (as bench/live.py).
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


def build() -> list[dict]:
    from tests.standin.fixtures import load_dump

    return load_dump(CASE)


def wget_target() -> str:
    import yaml

    items = yaml.safe_load(CASE.read_text(encoding="utf-8"))["items"]
    ip = next(p["status"]["podIP"] for p in items if p["kind"] == "Pod" and "svc2" in p["metadata"].get("labels", {}))
    return f"http://{ip.replace('.', '-')}.service2.default.svc.cluster.local"


def find_kubectl() -> str | None:
    """kubectl on PATH, else the one ``python -m tests.realcluster build`` built (the same version as its
    control plane), so that the comparison runs on a machine without a packaged kubectl."""
    found = shutil.which("kubectl")
    if found:
        return found
    from tests.realcluster.build import COMPONENTS

    built = next((c.path for c in COMPONENTS if c.name == "kubectl"), None)
    return str(built) if built is not None and built.is_file() and os.access(built, os.X_OK) else None


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def labgrade_cold(kubeconfig: str, env: dict[str, str]) -> float:
    cmd = [sys.executable, "-m", "grader.cli", "grade", "--rubric", "service-discovery", "--kubeconfig", kubeconfig,
           "-n", "default", "--no-poll", "-q"]
    t0 = time.perf_counter()
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - t0
    if run.returncode != 0 or "85" not in run.stdout:
        raise SystemExit(f"labgrade grade failed ({run.returncode}): {run.stdout[-500:]} {run.stderr[-1500:]}")
    return elapsed


def kubectl_script(kubectl: str, kubeconfig: str, target: str, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    for args in KUBECTL_SCRIPT + [["exec", "clientpod", "--", "wget", "-q", "-O", "-", "-T", "5", target]]:
        subprocess.run([kubectl, "--kubeconfig", kubeconfig, "-n", "default", *args], check=True,
                       capture_output=True, timeout=60, env=env)
    return time.perf_counter() - t0


def import_profile(kubeconfig: str, env: dict[str, str], top: int = 10) -> tuple[float, list[tuple[float, str]]]:
    """Where a cold live ``labgrade grade``'s import time goes (``python -X importtime``): the total and
    the slowest modules imported at the top of some module of labgrade's or from within a run (depth
    0 and 1, cumulative)."""
    cmd = [sys.executable, "-X", "importtime", "-m", "grader.cli", "grade", "--rubric", "service-discovery",
           "--kubeconfig", kubeconfig, "-n", "default", "--no-poll", "-q"]
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    rows = []
    for line in run.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((int(m.group(2)) / 1e6, (len(m.group(3)) - 1) // 2, m.group(4)))
    total = sum(c for c, depth, _ in rows if depth == 0)
    slowest = sorted(((c, ("  " * depth) + name) for c, depth, name in rows if depth <= 1), reverse=True)
    return total, slowest[:top]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--latency", type=float, default=0.02)
    args = ap.parse_args(argv)
    kubectl = find_kubectl()
    # PYTHONDONTWRITEBYTECODE (set in some shells and CI images) would make every cold run compile
    # the modules edited since their last .pyc, ~90 ms of CPU that an installed labgrade (pip
    # compiles at install) never spends: the warm-up run below writes them once instead.
    env = {k: v for k, v in os.environ.items()
           if k not in ("KUBECONFIG", "PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE")}
    with tempfile.TemporaryDirectory(prefix="labgrade-cold-") as tmp:
        env["HOME"] = tmp  # no ~/.kube/config or kubectl cache from the machine
        with StandInProcess(build, folder=Path(tmp), latency=args.latency, tls=True) as server:
            labgrade_cold(server.kubeconfig, env)  # warm the OS file cache for both sides, write the .pyc files
            lg, kc, lg_reqs, kc_reqs, lg_cpu, kc_cpu = [], [], [], [], [], []
            target = wget_target()
            for _ in range(args.rounds):
                server.clear()
                cpu = children_cpu()
                lg.append(labgrade_cold(server.kubeconfig, env))
                lg_cpu.append(children_cpu() - cpu)
                lg_reqs.append(sum(server.counts()[0].values()))
                if kubectl:
                    server.clear()
                    cpu = children_cpu()
                    kc.append(kubectl_script(kubectl, server.kubeconfig, target, env))
                    kc_cpu.append(children_cpu() - cpu)
                    kc_reqs.append(sum(server.counts()[0].values()))
            counts = server.counts()[0] if not kubectl else None
            total, slow = import_profile(server.kubeconfig, env)
    print(f"stand-in in its own process, https, {args.latency * 1000:g} ms per request; {args.rounds} paired rounds "
          f"(median); load average {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs")
    print(f"  labgrade grade, cold process           {statistics.median(lg) * 1000:7.0f} ms   "
          f"{lg_reqs[0]} requests (LISTs, GETs, 1 exec, DNS port-forward); {statistics.median(lg_cpu) * 1000:.0f} ms CPU")
    if kubectl:
        print(f"  kubectl script ({len(KUBECTL_SCRIPT) + 1} kubectl processes)     {statistics.median(kc) * 1000:7.0f} ms   "
              f"{kc_reqs[0]} requests; {statistics.median(kc_cpu) * 1000:.0f} ms CPU")
        print(f"  speed-up                               {statistics.median(kc) / statistics.median(lg):7.1f}x wall, "
              f"{statistics.median(kc_cpu) / statistics.median(lg_cpu):.1f}x CPU (ratio of the medians; the wall "
              "ratio on a busy machine tends to the CPU one)")
        print(f"  speed-up, median of the paired rounds  {statistics.median(k / g for k, g in zip(kc, lg)):7.1f}x wall, "
              f"{statistics.median(k / g for k, g in zip(kc_cpu, lg_cpu)):.1f}x CPU")
    else:
        print("  kubectl script                         (no kubectl on PATH, none built by "
              "`python -m tests.realcluster build`)", counts)
    print(f"  imports of a live grade (-X importtime) {total * 1000:6.0f} ms; slowest (cumulative):")
    for seconds, name in slow:
        print(f"      {seconds * 1000:6.0f} ms  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
