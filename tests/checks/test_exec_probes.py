"""exec.run, http.get and dns.lookup, and the cluster templates they use.
The runners stand where a live cluster's exec and DNS would be; a dump has
neither, which is "not graded", never a failure."""
from __future__ import annotations

import pytest

from checks import cluster_template as tpl
from grader.view import DnsResult
from tests.builders import base_cluster, service_port
from tests.checks.verdict import Exec, assert_verdict, run, view_of

WEB = {"app": "web"}
PAGE = "<html><body><h1>It works!</h1></body></html>\n"


def lab(nodeport: bool = True):
    c = base_cluster()
    c.deployment("web", replicas=2, image="httpd", labels=WEB)
    c.service("web", ports=[service_port(80, 80, name="http")], selector=WEB)
    c.service("web-headless", ports=[service_port(80, 80, name="http")], selector=WEB, headless=True)
    np = c.service("web-np", ports=[service_port(80, 80)], selector=WEB)
    if nodeport:
        np["spec"]["type"] = "NodePort"
        np["spec"]["ports"][0]["nodePort"] = 30080
    c.bare_pod("clientpod", image="busybox", args=["sleep", "3600"])
    return c


class Dns:
    def __init__(self, rcode="NOERROR", answers=(), failure=None):
        self.rcode, self.answers, self.failure = rcode, tuple(answers), failure
        self.asked: list[tuple[str, str]] = []

    def __call__(self, qname, rdtype):
        self.asked.append((qname, rdtype))
        return DnsResult(qname, rdtype, self.rcode, self.answers, self.failure)


def live(c, **kw):
    return view_of(c, live=True, **kw)


# -- templates --------------------------------------------------------------------

def test_templates_fill_in_cluster_values():
    c = lab()
    v = view_of(c)
    scope = tpl.Scope(v, "default", pod="clientpod")
    svc = c.must("Service", "web", "default")
    client = c.must("Pod", "clientpod", "default")
    assert tpl.render("http://{{ cluster_ip(web) }}", scope) == f"http://{svc['spec']['clusterIP']}"
    assert tpl.render("{{ node_ip }}:{{ nodeport(web-np) }}", scope) == f"{client['status']['hostIP']}:30080"
    assert tpl.render("{{ service_dns(web) }}", scope) == "web.default.svc.cluster.local"
    first = sorted(p["metadata"]["name"] for p in c.list("Pod", "default") if p["metadata"]["name"] != "clientpod")[0]
    ip = c.must("Pod", first, "default")["status"]["podIP"]
    assert tpl.render("{{ pod_ip(web-headless, first) }}", scope) == ip
    assert tpl.render("{{ pod_dns(web-headless, first) }}", scope) == f"{ip.replace('.', '-')}.web-headless.default.svc.cluster.local"
    assert tpl.render("{{ pod_dns(web, 0) }}", scope) == f"{ip.replace('.', '-')}.default.pod.cluster.local"


@pytest.mark.parametrize("bad", ["{{ nope }}", "{{ cluster_ip() }}", "{{ pod_dns(a, b, c) }}"])
def test_a_bad_template_is_the_rubrics_mistake(bad):
    with pytest.raises(tpl.TemplateError):
        tpl.calls(bad)


def test_what_the_cluster_lacks_is_unresolvable():
    scope = tpl.Scope(view_of(lab(nodeport=False)), "default", pod="clientpod")
    for t in ("{{ nodeport(web-np) }}", "{{ cluster_ip(nope) }}", "{{ cluster_ip(web-headless) }}", "{{ pod_ip(web, 5) }}"):
        with pytest.raises(tpl.Unresolvable):
            tpl.render(t, scope)


# -- exec.run -----------------------------------------------------------------------

def test_exec_run_passes_on_exit_code_and_output():
    runner = Exec(stdout="search default.svc.cluster.local\nnameserver 10.96.0.10\n")
    o = run("exec.run", live(lab(), exec_runner=runner), pod="clientpod", argv=["cat", "/etc/resolv.conf"],
            stdout_contains="nameserver", stdout_matches=r"search \S+\.svc")
    assert_verdict(o, "passed")
    assert runner.argv == ["cat", "/etc/resolv.conf"]


def test_exec_run_fills_templates_into_the_argv():
    runner = Exec(stdout="ok")
    run("exec.run", live(lab(), exec_runner=runner), pod="clientpod", argv=["nslookup", "{{ service_dns(web) }}"])
    assert runner.argv == ["nslookup", "web.default.svc.cluster.local"]


def test_exec_run_fails_on_the_wrong_exit_code():
    o = run("exec.run", live(lab(), exec_runner=Exec(exit_code=1)), pod="clientpod", argv=["false"])
    assert_verdict(o, "failed", says="exited 1, expected 0")


def test_exec_run_fails_when_output_lacks_the_text_or_pattern():
    v = live(lab(), exec_runner=Exec(stdout="hello", stderr="warn"))
    assert_verdict(run("exec.run", v, pod="clientpod", argv=["x"], stdout_contains="bye"), "failed", says="does not contain 'bye'")
    assert_verdict(run("exec.run", v, pod="clientpod", argv=["x"], stderr_matches="^err"), "failed", says="does not match")
    assert_verdict(run("exec.run", v, pod="clientpod", argv=["x"], stderr_contains="warn", what={"zh": "输出", "en": "the log"}),
                   "passed", says="the log")


def test_exec_run_says_when_the_command_is_missing_or_hangs():
    v = live(lab(), exec_runner=Exec(exit_code=None, failure="not-found"))
    assert_verdict(run("exec.run", v, pod="clientpod", argv=["curl", "x"]), "failed", says="there is no curl")
    v = live(lab(), exec_runner=Exec(exit_code=None, failure="timeout"))
    assert_verdict(run("exec.run", v, pod="clientpod", argv=["sleep", "99"], timeout=1), "failed", says="did not finish")


def test_exec_run_without_an_exit_code_is_an_error():
    v = live(lab(), exec_runner=Exec(exit_code=None, failure="stream closed"))
    assert_verdict(run("exec.run", v, pod="clientpod", argv=["x"]), "error")


def test_exec_run_in_a_missing_or_unready_pod_fails():
    c = lab()
    c.bare_pod("broken", image="busybox", state="CrashLoopBackOff")
    v = live(c, exec_runner=Exec())
    assert_verdict(run("exec.run", v, pod="nope", argv=["x"]), "failed", says="no Pod nope")
    assert_verdict(run("exec.run", v, pod="broken", argv=["x"]), "failed", says="not running")


def test_exec_run_rubric_mistakes_are_errors():
    v = live(lab(), exec_runner=Exec())
    assert_verdict(run("exec.run", v, pod="Bad_Name", argv=["x"]), "error")
    assert_verdict(run("exec.run", v, pod="clientpod", argv=[]), "error")
    assert_verdict(run("exec.run", v, pod="clientpod", argv=["x"], stdout_matches="("), "error")
    assert_verdict(run("exec.run", v, pod="clientpod", argv=["{{ nope }}"]), "error")


def test_exec_run_on_a_dump_is_not_graded():
    o = run("exec.run", view_of(lab()), pod="clientpod", argv=["true"])
    assert o.status.value == "skipped" and not o.graded


# -- http.get -----------------------------------------------------------------------

def test_http_get_passes_with_the_page():
    runner = Exec(stdout=PAGE)
    c = lab()
    o = run("http.get", live(c, exec_runner=runner), pod="clientpod", url="http://{{ node_ip }}:{{ nodeport(web-np) }}",
            expect_body="It works!", what={"zh": "httpd 欢迎页", "en": "httpd's welcome page"})
    assert_verdict(o, "passed", says="returned httpd's welcome page")
    assert runner.argv[:6] == ["wget", "-q", "-O", "-", "-T", "5"]
    assert runner.argv[6] == f"http://{c.must('Pod', 'clientpod', 'default')['status']['hostIP']}:30080"


@pytest.mark.parametrize("reply, says", [
    (Exec(stdout="<h1>Welcome to nginx!</h1>"), "the page is not"),
    (Exec(stderr="wget: bad address 'web'", exit_code=1), "does not resolve"),
    (Exec(stderr="wget: can't connect to remote host (10.96.0.5): Connection refused", exit_code=1), "refused"),
    (Exec(stderr="wget: download timed out", exit_code=1), "timed out"),
    (Exec(stderr="wget: server returned error: HTTP/1.1 404 Not Found", exit_code=1), "returned an error"),
    (Exec(exit_code=None, failure="not-found"), "there is no wget"),
    (Exec(exit_code=None, failure="timeout"), "did not finish"),
    (Exec(exit_code=4), "exit code 4"),
])
def test_http_get_says_why_it_failed(reply, says):
    o = run("http.get", live(lab(), exec_runner=reply), pod="clientpod", url="http://web", expect_body="It works!")
    assert_verdict(o, "failed", says=says)


def test_http_get_without_an_exit_code_is_an_error():
    v = live(lab(), exec_runner=Exec(exit_code=None, failure="stream closed"))
    assert_verdict(run("http.get", v, pod="clientpod", url="http://web"), "error")


def test_http_get_to_what_the_cluster_lacks_fails_before_running_anything():
    runner = Exec(stdout=PAGE)
    o = run("http.get", live(lab(nodeport=False), exec_runner=runner), pod="clientpod",
            url="http://{{ node_ip }}:{{ nodeport(web-np) }}")
    assert_verdict(o, "failed", says="has no nodePort")
    assert runner.argv == []


def test_http_get_rubric_mistakes_are_errors():
    v = live(lab(), exec_runner=Exec(stdout=PAGE))
    assert_verdict(run("http.get", v, pod="clientpod", url="http://{{ nope }}"), "error")
    assert_verdict(run("http.get", v, pod="clientpod", url="ftp://web"), "error")


def test_http_get_from_a_missing_pod_fails():
    assert_verdict(run("http.get", live(lab(), exec_runner=Exec()), pod="nope", url="http://web"), "failed")


# -- dns.lookup ------------------------------------------------------------------------

def _ips(c, service="web"):
    return sorted(p["status"]["podIP"] for p in c.list("Pod", "default") if p["metadata"].get("labels", {}).get("app") == "web")


def test_dns_cluster_ip():
    c = lab()
    ip = c.must("Service", "web", "default")["spec"]["clusterIP"]
    dns = Dns(answers=[ip])
    o = run("dns.lookup", live(c, dns_runner=dns), name="{{ service_dns(web) }}", expect="cluster-ip", service="web")
    assert_verdict(o, "passed")
    assert dns.asked == [("web.default.svc.cluster.local", "A")]


def test_dns_endpoints_of_a_headless_service():
    c = lab()
    v = live(c, dns_runner=Dns(answers=_ips(c)))
    assert_verdict(run("dns.lookup", v, name="web-headless.default.svc.cluster.local", expect="endpoints",
                       service="web-headless"), "passed")


def test_dns_wrong_answer_fails_with_both_sides():
    c = lab()
    o = run("dns.lookup", live(c, dns_runner=Dns(answers=["10.96.9.9"])), name="{{ service_dns(web-headless) }}",
            expect="endpoints", service="web-headless")
    assert_verdict(o, "failed", says="wrong answer")
    assert "10.96.9.9" in o.observed.en and _ips(c)[0] in o.expected.en


def test_dns_no_record_fails():
    o = run("dns.lookup", live(lab(), dns_runner=Dns(rcode="NXDOMAIN")), name="{{ service_dns(web) }}",
            expect="cluster-ip", service="web")
    assert_verdict(o, "failed", says="no DNS A record")


def test_dns_listed_answers_are_templates():
    c = lab()
    first_ip = _ips(c)  # any order: the check sorts
    o = run("dns.lookup", live(c, dns_runner=Dns(answers=[tpl.render("{{ pod_ip(web-headless, first) }}",
                                                                      tpl.Scope(view_of(c), "default"))])),
            name="{{ pod_dns(web-headless, first) }}", expect=["{{ pod_ip(web-headless, first) }}"])
    assert_verdict(o, "passed")
    assert first_ip


def test_dns_any_and_nxdomain():
    v = live(lab(), dns_runner=Dns(answers=["1.2.3.4"]))
    assert_verdict(run("dns.lookup", v, name="web"), "passed")
    assert_verdict(run("dns.lookup", v, name="gone.default.svc.cluster.local", expect="nxdomain"), "failed",
                   says="should not exist")
    v = live(lab(), dns_runner=Dns(rcode="NXDOMAIN"))
    assert_verdict(run("dns.lookup", v, name="gone.default.svc.cluster.local", expect="nxdomain"), "passed")


def test_dns_srv_one_record_per_endpoint_with_the_port():
    c = lab()
    recs = [f"0 50 80 {ip.replace('.', '-')}.web-headless.default.svc.cluster.local." for ip in _ips(c)]
    v = live(c, dns_runner=Dns(answers=recs))
    args = dict(name="_http._tcp.{{ service_dns(web-headless) }}", type="SRV", expect="endpoints", service="web-headless")
    assert_verdict(run("dns.lookup", v, port=80, **args), "passed")
    assert_verdict(run("dns.lookup", v, port=8080, **args), "failed", says="do not carry port 8080")
    v = live(c, dns_runner=Dns(answers=recs[:1]))
    assert_verdict(run("dns.lookup", v, port=80, **args), "failed", says="has 1 SRV records, expected 2")
    v = live(c, dns_runner=Dns(rcode="NXDOMAIN"))
    assert_verdict(run("dns.lookup", v, port=80, **args), "failed", says="no DNS SRV record")


def test_dns_without_an_answer_is_an_error():
    v = live(lab(), dns_runner=Dns(rcode=None, failure="timeout"))
    assert_verdict(run("dns.lookup", v, name="web"), "error")


def test_dns_rubric_mistakes_are_errors_and_a_missing_service_fails():
    v = live(lab(), dns_runner=Dns(answers=["1.2.3.4"]))
    assert_verdict(run("dns.lookup", v, name="web", expect="cluster-ip"), "error")
    assert_verdict(run("dns.lookup", v, name="{{ bad }}"), "error")
    assert_verdict(run("dns.lookup", v, name="web", cluster_domain="Bad Domain"), "error")
    assert_verdict(run("dns.lookup", v, name="web", expect="cluster-ip", service="nope"), "failed", says="no Service nope")


def test_dns_on_a_dump_is_not_graded():
    o = run("dns.lookup", view_of(lab()), name="web")
    assert o.status.value == "skipped" and not o.graded
