"""The default exec handler: what the lab's wget does in real images."""
from __future__ import annotations

import pytest

from tests.standin.coredns import DnsModel
from tests.standin.exec_model import HTTPD_PAGE, NGINX_PAGE, ExecReply, PodShell, image_profile
from tests.standin.netmodel import ClusterNetwork
from tests.standin.objects import lab_cluster, pod, service, with_endpoints
from tests.standin.store import ObjectStore


def shell_for(objects, time_scale=0.0) -> PodShell:
    network = ClusterNetwork(ObjectStore(objects).current)
    return PodShell(lambda: (network, DnsModel(network)), time_scale)


@pytest.fixture
def run():
    shell = shell_for(with_endpoints(lab_cluster() + [
        pod("nginx", image="nginx:1.27", ip="10.244.1.60", labels={"app": "nginx"}),
        service("nginx", selector={"app": "nginx"}, cluster_ip="10.96.100.3"),
        service("empty", selector={"app": "nobody"}, cluster_ip="10.96.100.4"),
    ]))
    return lambda *argv, pod_name="clientpod": shell("default", pod_name, "busybox", list(argv))


def test_wget_quiet_to_stdout(run):
    assert run("wget", "-q", "-O", "-", "-T", "5", "http://service2") == ExecReply(stdout=HTTPD_PAGE)
    assert run("wget", "-qO-", "http://10-244-1-20.service2").stdout == HTTPD_PAGE
    assert run("wget", "-qO-", "http://service1.default.svc.cluster.local:80/index.html").stdout == HTTPD_PAGE
    assert run("wget", "-qO-", "10.244.1.60").stdout == NGINX_PAGE
    assert run("wget", "-qO-", "nginx").stdout == NGINX_PAGE


def test_wget_failures_in_busybox_words(run):
    assert run("wget", "-qO-", "http://service3") == ExecReply(stderr="wget: bad address 'service3'\n", exit_code=1)
    assert run("wget", "-qO-", "http://empty") == ExecReply(
        stderr="wget: can't connect to remote host (10.96.100.4): Connection refused\n", exit_code=1)
    assert run("wget", "-qO-", "http://service1:8080") == ExecReply(stderr="wget: download timed out\n", exit_code=1)
    assert run("wget", "-qO-", "http://clientpod.default.pod.cluster.local") == ExecReply(
        stderr="wget: bad address 'clientpod.default.pod.cluster.local'\n", exit_code=1)
    assert run("wget", "-qO-", "http://service1/missing").stderr == b"wget: server returned error: HTTP/1.1 404 Not Found\n"


def test_wget_timeout_takes_scaled_time():
    shell = shell_for(lab_cluster(), time_scale=0.01)
    assert shell("default", "clientpod", "busybox", ["wget", "-T", "5", "-qO-", "service1:81"]).delay == pytest.approx(0.05)


def test_wget_chatter_without_quiet(run):
    reply = run("wget", "-O", "-", "http://service1")
    assert reply.stdout == HTTPD_PAGE
    assert reply.stderr.startswith(b"Connecting to service1 (10.96.100.1:80)\nwriting to stdout\n")
    assert reply.stderr.endswith(b"written to stdout\n")
    assert run("wget", "http://service1").stdout == b""  # saved to index.html instead


def test_images_without_wget(run):
    httpd_pod = next(o["metadata"]["name"] for o in lab_cluster() if o["kind"] == "Pod" and "deployment1" in o["metadata"]["name"])
    reply = run("wget", "-qO-", "http://service2", pod_name=httpd_pod)
    assert reply.exit_code is None and 'exec: "wget": executable file not found in $PATH: unknown' in reply.runtime_error
    assert run("/usr/bin/wget", "x", pod_name=httpd_pod).runtime_error.endswith(
        'exec: "/usr/bin/wget": stat /usr/bin/wget: no such file or directory: unknown')
    assert run("sh", "-c", "wget -qO- http://service2", pod_name=httpd_pod) == ExecReply(
        stderr="sh: 1: wget: not found\n", exit_code=127)
    assert run("sh", "-c", "curl service2") == ExecReply(stderr="sh: curl: not found\n", exit_code=127)
    assert image_profile("httpd:2.4-alpine").http_page == HTTPD_PAGE and "wget" in image_profile("httpd:alpine").tools


def test_tiny_shell(run):
    assert run("sh", "-c", "exit 3").exit_code == 3
    assert run("sh", "-c", "wget -qO- http://nope 2>&1").stdout == b"wget: bad address 'nope'\n"
    assert run("sh", "-c", "wget -qO- http://nope >/dev/null 2>/dev/null || echo down") == ExecReply(stdout="down\n")
    assert run("sh", "-c", "true && echo 'a b'; false").stdout == b"a b\n"
    assert run("sh", "-c", "false; exit").exit_code == 1
    assert run("sh", "-c", "echo x | cat").exit_code == 2
    assert run("cat", "/etc/resolv.conf").stdout.startswith(b"search default.svc.cluster.local")
    assert run("hostname").stdout == b"clientpod\n"
