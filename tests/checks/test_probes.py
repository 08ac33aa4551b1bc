"""Step 5's probes: wget from clientpod to a backend pod's DNS name, and
what CoreDNS answers for the services. The runners stand where a live
cluster's exec and DNS would; a dump has neither (not graded)."""
from __future__ import annotations

import pytest

from tests.builders import base_cluster, service_port
from tests.checks.verdict import Exec, assert_verdict, run, view_of
from grader.view import DnsResult

APP = {"app": "httpd"}
SVC2 = {"svc2": "yes"}
HTTP = [service_port(80, 80)]
PAGE = "<html><body><h1>It works!</h1></body></html>\n"


def lab(headless: bool = True):
    c = base_cluster()
    d1 = c.deployment("deployment1", replicas=2, image="httpd", labels={**APP, "deploy": "deployment1"})
    d2 = c.deployment("deployment2", replicas=3, image="httpd", labels={**APP, "deploy": "deployment2"})
    c.label_pod(c.pods_of(d1)[0], SVC2)
    c.label_pod(c.pods_of(d2)[0], SVC2)
    c.service("service1", ports=HTTP, selector=APP)
    c.service("service2", ports=HTTP, selector=SVC2, headless=headless)
    c.bare_pod("clientpod", image="busybox", args=["sleep", "3600"])
    return c


def wget(c, runner, **kw):
    view = view_of(c, exec_runner=runner, live=True)
    return run("exec.http_get", view, pod="clientpod", service="service2", **kw)


def test_wget_passes_when_httpd_answers_the_first_backend_by_name():
    c = lab()
    runner = Exec(PAGE)
    assert_verdict(wget(c, runner), "passed")
    first = min((p for p in c.list("Pod", "default") if p["metadata"]["labels"].get("svc2")),
                key=lambda p: p["metadata"]["name"])
    dashed = first["status"]["podIP"].replace(".", "-")
    assert runner.argv == ["wget", "-q", "-O", "-", "-T", "5", f"http://{dashed}.service2.default.svc.cluster.local"]


def test_behind_a_clusterip_service_wget_uses_the_pod_record():
    runner = Exec(PAGE)
    assert_verdict(wget(lab(headless=False), runner), "passed")
    assert runner.argv[-1].endswith(".default.pod.cluster.local")


def test_require_headless_fails_for_a_clusterip_service_and_runs_nothing():
    runner = Exec(PAGE)
    assert_verdict(wget(lab(headless=False), runner, require_headless=True), "failed", says="not headless")
    assert runner.argv == []


@pytest.mark.parametrize("reply, says", [
    (dict(stdout="<h1>Welcome to nginx!</h1>"), "does not hold 'It works!'"),
    (dict(exit_code=None, failure="not-found"), "no wget"),
    (dict(stderr='exec: "wget": executable file not found in $PATH', exit_code=127), "no wget"),
    (dict(exit_code=None, failure="timeout"), "did not finish in time"),
    (dict(stderr="wget: bad address 'x.service2.default.svc.cluster.local'", exit_code=1), "does not resolve"),
    (dict(stderr="wget: can't connect to remote host (10.244.1.5): Connection refused", exit_code=1), "refused"),
    (dict(stderr="wget: download timed out", exit_code=1), "timed out"),
    (dict(exit_code=None, failure="container not running"), "could not run"),
    (dict(exit_code=4), "exit code 4"),
])
def test_wget_fails_and_says_how(reply, says):
    assert_verdict(wget(lab(), Exec(**reply)), "failed", says=says)


def test_wget_fails_without_the_service_or_a_ready_backend():
    c = base_cluster()
    c.bare_pod("clientpod", image="busybox", args=["sleep", "3600"])
    assert_verdict(wget(c, Exec(PAGE)), "failed", says="no Service service2")
    c.service("service2", ports=HTTP, selector=SVC2, headless=True)
    assert_verdict(wget(c, Exec(PAGE)), "failed", says="no ready backend")


def test_wget_refuses_to_build_a_command_from_a_name_that_is_not_dns():
    runner = Exec(PAGE)
    out = run("exec.http_get", view_of(lab(), exec_runner=runner, live=True), namespace="Default;rm",
              pod="clientpod", service="service2")
    assert_verdict(out, "error")
    assert runner.argv == []


def test_wget_on_a_dump_is_not_graded():
    out = run("exec.http_get", view_of(lab()), pod="clientpod", service="service2")
    assert_verdict(out, "skipped")
    assert out.graded is False


# -- dns.service ------------------------------------------------------------------------------------

def dns(c, answers=(), rcode="NOERROR", failure=None, name="service1"):
    asked = []

    def runner(qname, rdtype):
        asked.append((qname, rdtype))
        return DnsResult(qname, rdtype, rcode, tuple(answers), failure)

    out = run("dns.service", view_of(c, dns_runner=runner, live=True), name=name)
    return out, asked


def test_dns_passes_with_the_cluster_ip():
    c = lab()
    ip = c.must("Service", "service1", "default")["spec"]["clusterIP"]
    out, asked = dns(c, [ip])
    assert_verdict(out, "passed")
    assert asked == [("service1.default.svc.cluster.local", "A")]


def test_dns_for_a_headless_service_passes_with_exactly_the_ready_pod_ips():
    c = lab()
    ips = [p["status"]["podIP"] for p in c.list("Pod", "default") if p["metadata"]["labels"].get("svc2")]
    assert_verdict(dns(c, ips, name="service2")[0], "passed")
    assert_verdict(dns(c, ips[:1], name="service2")[0], "failed")


def test_dns_fails_on_a_wrong_answer_or_nxdomain():
    c = lab()
    assert_verdict(dns(c, ["10.96.0.99"])[0], "failed", says="wrong answer")
    assert_verdict(dns(c, [], rcode="NXDOMAIN")[0], "failed")


def test_dns_without_an_answer_is_an_error():
    assert_verdict(dns(lab(), rcode=None, failure="timeout")[0], "error", says="no DNS answer")


def test_dns_fails_for_a_missing_service():
    assert_verdict(dns(base_cluster())[0], "failed", says="no Service service1")
