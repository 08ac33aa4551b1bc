"""The chapter's other two labs on the real control plane.

headless-dns is performed with kubectl and graded live: its checks are
objects and CoreDNS answers, and the real CoreDNS gives them (A records of
the pods' own IPs, SRV records for a named port, per-pod names, a normal
Service's ClusterIP), for a Deployment's pods and for a StatefulSet's, whose
controller names them web-0... and whose endpoints carry those hostnames.

service-expose is graded from a kubectl dump of exactly what
``labgrade dump-command`` says: the harness has no kube-proxy, so ClusterIP
and NodePort traffic is not routed and its two wget probes are left to the
examples (on a dump they are not graded). The real API server allocates the
nodePort the rubric checks.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import yaml

from tests.realcluster_tests.lab import Lab, deployment_manifest, run_labgrade, verdicts
from tests.realcluster.cluster import REPO, ClusterError

_seq = itertools.count()
WEB = {"app": "web"}


def expected(lab: str, case: str) -> dict[str, str]:
    return dict(yaml.safe_load((REPO / "examples" / lab / case / "expected.yaml").read_text(encoding="utf-8"))["verdicts"])


def service(name: str, selector: dict, *, headless: bool = False, port_name: str | None = "http",
            type_: str | None = None) -> dict:
    port: dict = {"port": 80, "targetPort": 80}
    if port_name:
        port["name"] = port_name
    spec: dict = {"selector": selector, "ports": [port]}
    if headless:
        spec["clusterIP"] = "None"
    if type_:
        spec["type"] = type_
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def statefulset(name: str, replicas: int, service_name: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "serviceName": service_name, "selector": {"matchLabels": dict(WEB)},
                     "template": {"metadata": {"labels": dict(WEB)},
                                  "spec": {"containers": [{"name": "httpd", "image": "httpd",
                                                           "ports": [{"containerPort": 80}]}]}}}}


def new_lab(real_cluster, tmp_path: Path, name: str) -> Lab:
    return Lab(real_cluster, real_cluster.new_namespace(f"{name}-{next(_seq)}"), tmp_path)


def grade_live(lab: Lab, rubric: str) -> dict:
    out = lab.dir / f"{rubric}.json"
    r = run_labgrade("grade", "--rubric", rubric, "-n", lab.ns, "--kubeconfig", str(lab.kubeconfig),
                     "--json", str(out), "--no-color")
    if r.returncode != 0 or not out.exists():
        raise ClusterError(f"labgrade grade --rubric {rubric} -> {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return verdicts(out)


def build_headless(lab: Lab, *, port_name: str | None = "http", use_statefulset: bool = False) -> None:
    lab.apply(service("web-headless", WEB, headless=True, port_name=port_name), service("web-svc", WEB))
    if use_statefulset:
        lab.apply(statefulset("web", 3, "web-headless"))
        lab.k("rollout", "status", "statefulset/web", "--timeout=120s")
    else:
        lab.apply(deployment_manifest("web", 3, "httpd", dict(WEB)))
        lab.wait_rollout("web")
    lab.wait_settled(3)


def test_headless_dns_correct_with_a_deployment(real_cluster, tmp_path):
    lab = new_lab(real_cluster, tmp_path, "headless-dns")
    build_headless(lab)
    assert grade_live(lab, "headless-dns") == expected("headless-dns", "correct")


def test_headless_dns_correct_with_a_statefulset(real_cluster, tmp_path):
    lab = new_lab(real_cluster, tmp_path, "headless-sts")
    build_headless(lab, use_statefulset=True)
    assert grade_live(lab, "headless-dns") == expected("headless-dns", "statefulset")


def test_headless_dns_without_a_port_name_has_no_srv_record(real_cluster, tmp_path):
    lab = new_lab(real_cluster, tmp_path, "headless-unnamed")
    build_headless(lab, port_name=None)
    assert grade_live(lab, "headless-dns") == expected("headless-dns", "unnamed-port")


def test_service_expose_from_a_dump_of_what_dump_command_lists(real_cluster, tmp_path):
    lab = new_lab(real_cluster, tmp_path, "service-expose")
    httpd = {"app": "httpd"}
    manifest = deployment_manifest("httpd", 2, "httpd", dict(httpd))
    manifest["metadata"]["labels"] = dict(httpd)
    lab.apply(manifest, service("httpd-svc", httpd, port_name=None),
              service("httpd-nodeport", httpd, port_name=None, type_="NodePort"))
    lab.wait_rollout("httpd")
    lab.k("run", "clientpod", "--image=busybox", "--restart=Never", "--", "sleep", "3600")
    lab.wait_settled(3)
    command = run_labgrade("dump-command", "service-expose").stdout.split()
    assert command[:2] == ["kubectl", "get"]
    dump = lab.dir / "built.yaml"
    dump.write_text(real_cluster.kubectl(*command[1:]).stdout)
    out = lab.dir / "dump.json"
    r = run_labgrade("grade", "--rubric", "service-expose", "-n", lab.ns, "--snapshot", str(dump),
                     "--json", str(out), "--no-color")
    assert r.returncode == 0, r.stderr
    want = expected("service-expose", "correct")
    want.update({"wget-by-service-name": "skipped", "wget-by-nodeport": "skipped"})
    assert verdicts(out) == want
