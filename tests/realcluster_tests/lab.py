"""The Service-discovery lab performed with kubectl against the real cluster, and graded by labgrade.

A :class:`Lab` is one student in one namespace. Its methods are the kubectl commands a student
types (apply, scale, set image, label, run, delete); its waits poll the real API server with a
deadline. :meth:`Lab.grade_live` runs the ``labgrade`` CLI as a subprocess against the cluster,
:meth:`Lab.dump` takes the README's ``kubectl get ... -A`` dump with the real kubectl, and
:func:`verdicts` reads a report's check verdicts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.realcluster.cluster import REPO, Cluster, ClusterError

DUMP_KINDS = "namespaces,deployments,replicasets,pods,services,endpoints,endpointslices"
LIVE_ONLY = ("clientpod-wget-service2", "service1-dns", "service2-dns")
EXAMPLES = REPO / "examples" / "service-discovery"


def labgrade_argv(*args: str) -> list[str]:
    """``labgrade ARGS`` run from this checkout's code, whatever the cwd and environment: the
    venv's ``labgrade`` script imports the editable install's source, which for a second git
    worktree is another checkout (its tests graded with the main tree's grader)."""
    boot = (f"import runpy, sys; sys.path.insert(0, {str(REPO)!r}); sys.argv[0] = 'labgrade'; "
            "runpy.run_module('grader.cli', run_name='__main__', alter_sys=True)")
    return [sys.executable, "-c", boot, *args]


def run_labgrade(*args: str, timeout: float = 240, env: dict | None = None) -> subprocess.CompletedProcess:
    e = dict(os.environ, NO_COLOR="1", LANG="en_US.UTF-8")
    e.update(env or {})
    return subprocess.run(labgrade_argv(*args), capture_output=True, text=True, timeout=timeout, env=e, cwd=REPO)


def verdicts(report_json: Path | str | dict) -> dict[str, str]:
    data = report_json if isinstance(report_json, dict) else json.loads(Path(report_json).read_text())
    return {c["id"]: c["status"] for s in data["steps"] for c in s["checks"]}


def checks(report_json: Path | dict) -> dict[str, dict]:
    data = report_json if isinstance(report_json, dict) else json.loads(Path(report_json).read_text())
    return {c["id"]: c for s in data["steps"] for c in s["checks"]}


def example_verdicts(case: str) -> dict[str, str]:
    return dict(yaml.safe_load((EXAMPLES / case / "expected.yaml").read_text(encoding="utf-8"))["verdicts"])


def deployment_manifest(name: str, replicas: int, image: str, labels: dict | None = None) -> dict:
    labels = labels or {"app": "httpd"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {**labels, "deployment": name}},
                     "template": {"metadata": {"labels": {**labels, "deployment": name}},
                                  "spec": {"containers": [{"name": "httpd", "image": image,
                                                           "ports": [{"containerPort": 80}]}]}}}}


def service_manifest(name: str, selector: dict | None, headless: bool = False, port: int = 80,
                     target_port: int = 80) -> dict:
    spec: dict = {"ports": [{"port": port, "targetPort": target_port}]}
    if selector is not None:
        spec["selector"] = selector
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


class Lab:
    def __init__(self, cluster: Cluster, namespace: str, workdir: Path, kubeconfig: Path | None = None) -> None:
        self.c = cluster
        self.ns = namespace
        self.dir = workdir
        self.kubeconfig = kubeconfig or cluster.kubeconfig
        self.state = workdir / "state.json"

    # -- kubectl, as the student ----------------------------------------------------------

    def k(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return self.c.kubectl("-n", self.ns, *args, input=input, check=check)

    def apply(self, *objs: dict) -> None:
        self.k("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)}))

    def get(self, *args: str) -> dict:
        return json.loads(self.k("get", *args, "-o", "json").stdout)

    def pods(self, selector: str | None = None) -> list[dict]:
        args = ["pods"] + (["-l", selector] if selector else [])
        items = [p for p in self.get(*args)["items"] if not p["metadata"].get("deletionTimestamp")]
        return sorted(items, key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"]))

    def pods_of(self, deployment: str) -> list[dict]:
        """Live pods owned (through a ReplicaSet) by the deployment, oldest first."""
        rs = {r["metadata"]["name"] for r in self.get("replicasets")["items"]
              if any(o.get("kind") == "Deployment" and o.get("name") == deployment
                     for o in r["metadata"].get("ownerReferences", []))}
        return [p for p in self.pods() if any(o.get("kind") == "ReplicaSet" and o.get("name") in rs
                                              for o in p["metadata"].get("ownerReferences", []))]

    def wait_rollout(self, name: str, timeout: float = 90) -> None:
        self.k("rollout", "status", f"deployment/{name}", f"--timeout={int(timeout)}s")

    def wait_settled(self, expect_pods: int | None = None, timeout: float = 90) -> dict:
        """Every pod Running, none terminating, each plumbed by podnet (network + exec rules)."""
        deadline = time.monotonic() + timeout

        def settled():
            items = self.get("pods")["items"]
            if any(p["metadata"].get("deletionTimestamp") for p in items):
                return False
            if expect_pods is not None and len(items) != expect_pods:
                return False
            if any(p.get("status", {}).get("phase") != "Running" for p in items):
                return False
            return items

        items = self.c.wait_for(settled, timeout, f"pods of {self.ns} to settle ({expect_pods})")
        self.c.wait_plumbed(self.ns, [p["metadata"]["name"] for p in items], timeout=max(1, deadline - time.monotonic()))
        self.wait_endpoints(timeout=max(1, deadline - time.monotonic()))
        return items

    def wait_endpoints(self, timeout: float = 60) -> None:
        """Each selector Service's EndpointSlices list exactly the ready pods it selects (the controllers caught up)."""
        def caught_up():
            pods = [p for p in self.get("pods")["items"] if p.get("status", {}).get("podIP")]
            slices = self.get("endpointslices")["items"]
            for svc in self.get("services")["items"]:
                sel = svc["spec"].get("selector")
                if not sel:
                    continue
                want = {p["status"]["podIP"] for p in pods
                        if all(p["metadata"].get("labels", {}).get(k) == v for k, v in sel.items())}
                have = {a for s in slices if s["metadata"].get("labels", {}).get("kubernetes.io/service-name") == svc["metadata"]["name"]
                        for e in s.get("endpoints") or [] for a in e.get("addresses", [])}
                if want != have:
                    return False
            return True

        self.c.wait_for(caught_up, timeout, f"endpoint slices of {self.ns}")

    def wait_gone(self, timeout: float = 90) -> None:
        """Cleanup finished: no pods left (kwok deletes them at once), nothing terminating."""
        self.c.wait_for(lambda: not self.get("pods")["items"], timeout, f"pods of {self.ns} to be gone")

    # -- the lab ---------------------------------------------------------------------------

    def step1_2(self, d1=(2, "httpd"), d2=(3, "httpd")) -> None:
        self.apply(deployment_manifest("deployment1", d1[0], d1[1]))
        self.apply(deployment_manifest("deployment2", d2[0], d2[1]))

    def step3(self) -> None:
        self.apply(service_manifest("service1", {"app": "httpd"}))

    def label_first_pods(self) -> list[dict]:
        firsts = [self.pods_of("deployment1")[0], self.pods_of("deployment2")[0]]
        for p in firsts:
            self.k("label", "pod", p["metadata"]["name"], "svc2=yes")
        return firsts

    def step4(self, headless: bool = True) -> list[dict]:
        firsts = self.label_first_pods()
        self.apply(service_manifest("service2", {"svc2": "yes"}, headless=headless))
        return firsts

    def step5(self, image: str = "busybox") -> None:
        self.k("run", "clientpod", f"--image={image}", "--restart=Never", "--", "sleep", "3600")

    def wget(self, url: str) -> subprocess.CompletedProcess:
        return self.k("exec", "clientpod", "--", "wget", "-q", "-O", "-", "-T", "5", url, check=False)

    def step6(self) -> None:
        self.k("delete", "deployment", "deployment1", "deployment2", "--wait=false")
        self.k("delete", "service", "service1", "service2", "--wait=false")
        self.k("delete", "pod", "clientpod", "--wait=false")

    def build_correct(self) -> list[dict]:
        self.step1_2()
        self.step3()
        self.wait_rollout("deployment1")
        self.wait_rollout("deployment2")
        self.wait_settled(5)
        firsts = self.step4()
        self.step5()
        self.wait_settled(6)
        return firsts

    # -- grading ---------------------------------------------------------------------------

    def baseline(self) -> Path:
        out = self.dir / "baseline.json"
        r = run_labgrade("baseline", "--kubeconfig", str(self.kubeconfig), "-n", self.ns, "-o", str(out))
        if r.returncode != 0:
            raise ClusterError(f"labgrade baseline failed: {r.stderr[-2000:]}")
        return out

    def grade_live(self, name: str, *extra: str, state: bool = True, kubeconfig: Path | None = None,
                   expect_rc: int = 0) -> dict:
        out = self.dir / f"{name}.json"
        args = ["grade", "--rubric", "service-discovery", "-n", self.ns, "--kubeconfig",
                str(kubeconfig or self.kubeconfig), "--json", str(out), "--no-color", *extra]
        if state:
            args += ["--state", str(self.state)]
        r = run_labgrade(*args)
        if r.returncode != expect_rc or not out.exists():
            raise ClusterError(f"labgrade {' '.join(args)} -> {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        return json.loads(out.read_text())

    def dump(self, name: str, fmt: str = "yaml") -> Path:
        out = self.dir / f"{name}.{fmt}"
        r = self.c.kubectl("get", DUMP_KINDS, "-A", "-o", fmt)
        out.write_text(r.stdout)
        return out

    def grade_dumps(self, name: str, *snapshots: str, baseline: Path | None = None) -> dict:
        out = self.dir / f"{name}.json"
        args = ["grade", "--rubric", "service-discovery", "-n", self.ns, "--json", str(out), "--no-color"]
        for s in snapshots:
            args += ["--snapshot", s]
        if baseline is not None:
            args += ["--baseline", str(baseline)]
        r = run_labgrade(*args)
        if r.returncode != 0 or not out.exists():
            raise ClusterError(f"labgrade {' '.join(args)} -> {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        return json.loads(out.read_text())


def offline_view(live: dict[str, str]) -> dict[str, str]:
    """What a dump of the same state must say: the live-only probes become skipped."""
    return {k: ("skipped" if k in LIVE_ONLY else v) for k, v in live.items()}
