"""Live probes on real states the examples cannot show: graded against the real cluster and against
the stand-in holding the very same objects, the verdicts must agree.

Each case is performed with kubectl in a fresh namespace; then steps 1-5 are graded in-process
(as ``labgrade grade`` does) once through the real API server (exec through kwok to busybox,
DNS through port-forward to the real CoreDNS) and once through a StandIn loaded with the objects
the real API server serves.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.realcluster_tests.lab import Lab, deployment_manifest, service_manifest
from tests.realcluster_tests.test_standin_contract import raw_objects

_seq = itertools.count()


def grade_both(cluster, ns: str, tmp: Path) -> tuple[dict, dict]:
    import json

    from grader import engine, rubric
    from grader.sources.live import LiveSource, api_client
    from tests.standin.server import StandIn

    r = rubric.load("service-discovery")

    def run(kubeconfig: str) -> dict:
        report = engine.grade(r, {"built": LiveSource(api_client(kubeconfig, None), ns, "built")},
                              namespace=ns, options=engine.Options(poll=False))
        return {c.id: c.status.value for _, c in report.checks() if not c.id.endswith("-deleted")
                and c.id != "kubernetes-service-intact"}

    real = run(str(cluster.grader_kubeconfig))
    version = json.loads(cluster.api_get("/version")[1])["gitVersion"].lstrip("v")
    with StandIn(raw_objects(cluster), version=version) as server:
        fake = run(str(server.kubeconfig_path(tmp)))
    return real, fake


@pytest.fixture
def lab(real_cluster, tmp_path, request):
    ns = real_cluster.new_namespace(f"probe-{next(_seq)}")
    return Lab(real_cluster, ns, tmp_path)


def build(lab: Lab, *, client_image: str = "busybox", headless: bool = True, d2_image: str = "httpd") -> None:
    lab.step1_2(d2=(3, d2_image))
    lab.step3()
    lab.wait_rollout("deployment1")
    lab.wait_rollout("deployment2")
    lab.wait_settled(5)
    lab.step4(headless=headless)
    lab.step5(image=client_image)
    lab.wait_settled(6)


def test_clusterip_service2_reached_by_the_pod_dns_name(lab):
    build(lab, headless=False)
    real, fake = grade_both(lab.c, lab.ns, lab.dir)
    assert real == fake
    assert real["clientpod-wget-service2"] == "passed" and real["service2-dns"] == "passed"


def test_clientpod_without_wget(lab):
    build(lab, client_image="httpd")
    r = lab.k("exec", "clientpod", "--", "wget", "-q", "-O", "-", "http://example.invalid", check=False)
    assert r.returncode != 0 and "no such file or directory" in r.stderr  # kwok's local exec: the tool is not there
    real, fake = grade_both(lab.c, lab.ns, lab.dir)
    assert real == fake
    assert real["clientpod-wget-service2"] == "failed"


def test_service2_backend_serves_nginx(lab):
    build(lab, d2_image="nginx")
    real, fake = grade_both(lab.c, lab.ns, lab.dir)
    assert real == fake
    assert real["deployment2-image"] == "failed"


def test_service2_backend_serves_nothing(lab):
    """service2's first backend is a busybox pod: nothing listens on :80, wget gets Connection refused."""
    lab.apply(deployment_manifest("deployment1", 2, "httpd"), deployment_manifest("deployment2", 3, "busybox"))
    lab.step3()
    lab.wait_rollout("deployment1")
    lab.wait_rollout("deployment2")
    lab.wait_settled(5)
    lab.step4()
    lab.step5()
    lab.wait_settled(6)
    real, fake = grade_both(lab.c, lab.ns, lab.dir)
    # kwok cannot return wget's exit code 1 (see test_standin_contract.test_exec_exit_codes); the
    # verdicts must agree all the same.
    assert real == fake
    assert real["deployment2-image"] == "failed"


def test_service2_without_ready_backends_dns(lab):
    """A headless service2 whose selector matches nothing: CoreDNS answers NXDOMAIN on both."""
    lab.step1_2()
    lab.step3()
    lab.wait_rollout("deployment1")
    lab.wait_rollout("deployment2")
    lab.wait_settled(5)
    lab.apply(service_manifest("service2", {"svc2": "nobody"}, headless=True))
    lab.step5()
    lab.wait_settled(6)
    real, fake = grade_both(lab.c, lab.ns, lab.dir)
    assert real == fake
    assert real["service2-endpoints"] == "failed" and real["service2-dns"] == "failed"
