"""Contract: the official ``kubernetes`` client sees the stand-in as a real API server.

Everything here goes through ``load_kube_config`` and the generated API
classes (or raw HTTP where the wire shape itself is the point), so a test
of the grader that passes against the stand-in exercises the same client
code paths it will use against a cluster.
"""
from __future__ import annotations

import importlib.metadata
import json
import time
import urllib.request

import dns.message
import dns.query
import dns.rcode
import pytest
import urllib3
from kubernetes import client
from kubernetes.stream import portforward, stream

from tests.standin import ExecReply
from tests.standin.fixtures import (  # noqa: F401
    client_model_errors, kube_configuration, make_standin, standin, standin_api_client)
from tests.standin.objects import lab_cluster, pod, service, with_endpoints

NS = "default"


def http_get(standin, path: str, token: str | None = "test-token") -> tuple[int, dict, dict]:
    """Raw GET: (status, headers, JSON body)."""
    req = urllib.request.Request(standin.url + path)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


def api_error(excinfo) -> tuple[int, dict]:
    return excinfo.value.status, json.loads(excinfo.value.body)


@pytest.fixture
def core(standin_api_client):
    return client.CoreV1Api(standin_api_client)


def pod_names(pod_list) -> list[str]:
    return [p.metadata.name for p in pod_list.items]


# Client and discovery ----------------------------------------------------------


def test_installed_client_version_is_the_one_this_contract_was_written_for():
    # kubernetes 37.x: openapi-generator v7 client, offers v5+v4 for exec.
    assert importlib.metadata.version("kubernetes").split(".")[0] == "37"


def test_builders_make_objects_the_client_accepts():
    assert client_model_errors(lab_cluster()) == []
    bare = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
            "status": {"containerStatuses": [{"name": "c", "image": "busybox", "ready": True, "restartCount": 0}]}}
    assert "imageID" in client_model_errors([bare])[0]


def test_discovery_documents(standin):
    assert http_get(standin, "/version")[2]["gitVersion"] == "v1.30.2"
    assert http_get(standin, "/api")[2]["versions"] == ["v1"]
    groups = {g["name"] for g in http_get(standin, "/apis")[2]["groups"]}
    assert groups == {"apps", "discovery.k8s.io"}
    core_resources = {r["name"] for r in http_get(standin, "/api/v1")[2]["resources"]}
    assert {"pods", "pods/exec", "pods/portforward", "services", "endpoints", "namespaces"} <= core_resources
    apps = http_get(standin, "/apis/apps/v1")[2]
    assert apps["groupVersion"] == "apps/v1" and {r["kind"] for r in apps["resources"]} == {"Deployment", "ReplicaSet"}


def test_version_api_through_client(standin_api_client):
    assert client.VersionApi(standin_api_client).get_code().git_version == "v1.30.2"


# Lists and gets ---------------------------------------------------------------------


def test_list_shape_is_the_servers(standin):
    code, headers, body = http_get(standin, f"/api/v1/namespaces/{NS}/pods")
    assert code == 200 and headers["Content-Type"].startswith("application/json")
    assert body["kind"] == "PodList" and body["apiVersion"] == "v1"
    assert body["metadata"]["resourceVersion"].isdigit()
    assert body["items"] and all("kind" not in i and "apiVersion" not in i for i in body["items"])
    names = [i["metadata"]["name"] for i in body["items"]]
    assert names == sorted(names)  # etcd key order


def test_every_kind_lists_through_its_api(standin_api_client):
    core = client.CoreV1Api(standin_api_client)
    apps = client.AppsV1Api(standin_api_client)
    disco = client.DiscoveryV1Api(standin_api_client)
    assert {n.metadata.name for n in core.list_namespace().items} == {"default", "kube-system"}
    assert len(core.list_namespaced_pod(NS).items) == 6
    assert len(core.list_pod_for_all_namespaces().items) == 7
    assert {s.metadata.name for s in core.list_namespaced_service(NS).items} == {"kubernetes", "service1", "service2"}
    assert {e.metadata.name for e in core.list_namespaced_endpoints(NS).items} == {"kubernetes", "service1", "service2"}
    assert {d.metadata.name for d in apps.list_namespaced_deployment(NS).items} == {"deployment1", "deployment2"}
    assert len(apps.list_replica_set_for_all_namespaces().items) == 2
    slices = disco.list_namespaced_endpoint_slice(NS, label_selector="kubernetes.io/service-name=service2").items
    assert len(slices) == 1 and len(slices[0].endpoints) == 2
    assert len(disco.list_endpoint_slice_for_all_namespaces().items) == 3


def test_get_single_objects(standin_api_client):
    core = client.CoreV1Api(standin_api_client)
    svc = core.read_namespaced_service("service2", NS)
    assert svc.spec.cluster_ip == "None" and svc.kind == "Service" and svc.api_version == "v1"
    dep = client.AppsV1Api(standin_api_client).read_namespaced_deployment("deployment1", NS)
    assert dep.spec.replicas == 2 and dep.api_version == "apps/v1"
    assert core.read_namespace("kube-system").status.phase == "Active"


# The selectors labgrade sends (tests/standin/selectors.py); any other is a 400.
@pytest.mark.parametrize("namespace, selector, expected", [
    ("kube-system", "k8s-app=kube-dns", 1),  # how the DNS probes find CoreDNS
    (NS, "app=deployment1", 2),
    (NS, "tier=web,svc2=yes", 2),
])
def test_label_selectors(core, namespace, selector, expected):
    assert len(core.list_namespaced_pod(namespace, label_selector=selector).items) == expected


def test_bad_label_selector_is_bad_request(core):
    with pytest.raises(client.ApiException) as excinfo:
        core.list_namespaced_pod(NS, label_selector="app in deployment1")
    code, body = api_error(excinfo)
    assert code == 400 and body["reason"] == "BadRequest"


def test_field_selectors(core):
    # grader/elsewhere.py: the lab's object by name in every namespace
    assert pod_names(core.list_pod_for_all_namespaces(field_selector="metadata.name=clientpod")) == ["clientpod"]
    assert len(core.list_pod_for_all_namespaces(field_selector="metadata.namespace=kube-system").items) == 1
    with pytest.raises(client.ApiException) as excinfo:
        core.list_namespaced_pod(NS, field_selector="spec.image=httpd")
    code, body = api_error(excinfo)
    assert code == 400 and body["message"] == "field label not supported: spec.image"


def test_pagination_with_limit_and_continue(standin, core):
    first = core.list_namespaced_pod(NS, limit=4)
    assert len(first.items) == 4 and first.metadata.remaining_item_count == 2
    second = core.list_namespaced_pod(NS, limit=4, _continue=first.metadata._continue)
    assert len(second.items) == 2 and not second.metadata._continue
    assert pod_names(first) + pod_names(second) == pod_names(core.list_namespaced_pod(NS))


def test_continue_token_is_consistent_across_a_change_until_compaction(standin, core):
    first = core.list_namespaced_pod(NS, limit=2)
    standin.set_objects([o for o in lab_cluster() if o["kind"] != "Pod"])
    rest = core.list_namespaced_pod(NS, _continue=first.metadata._continue)
    assert len(rest.items) == 4 and rest.metadata.resource_version == first.metadata.resource_version
    assert core.list_namespaced_pod(NS).items == []
    standin.compact()
    with pytest.raises(client.ApiException) as excinfo:
        core.list_namespaced_pod(NS, _continue=first.metadata._continue)
    code, body = api_error(excinfo)
    assert code == 410 and body["reason"] == "Expired" and body["metadata"]["continue"]


def test_set_objects_swaps_state_and_bumps_resource_version(standin, core):
    before = core.list_namespaced_service(NS)
    standin.set_objects([o for o in lab_cluster() if o["metadata"]["name"] != "service2"])
    after = core.list_namespaced_service(NS)
    assert {s.metadata.name for s in after.items} == {"kubernetes", "service1"}
    assert int(after.metadata.resource_version) > int(before.metadata.resource_version)


# Errors ----------------------------------------------------------------------------


def test_not_found_is_a_status(core):
    with pytest.raises(client.ApiException) as excinfo:
        core.read_namespaced_pod("nope", NS)
    code, body = api_error(excinfo)
    assert code == 404 and excinfo.value.reason == "Not Found"
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": 'pods "nope" not found', "reason": "NotFound",
                    "details": {"name": "nope", "kind": "pods"}, "code": 404}


def test_not_found_in_a_group_names_the_group(standin_api_client):
    with pytest.raises(client.ApiException) as excinfo:
        client.AppsV1Api(standin_api_client).read_namespaced_deployment("nope", NS)
    assert api_error(excinfo)[1]["message"] == 'deployments.apps "nope" not found'


@pytest.mark.parametrize("token", ["wrong-token", ""])
def test_401_without_the_right_token(standin, tmp_path, token):
    api = client.CoreV1Api(client.ApiClient(kube_configuration(standin, tmp_path, token=token)))
    with pytest.raises(client.ApiException) as excinfo:
        api.list_namespaced_pod(NS)
    code, body = api_error(excinfo)
    assert code == 401 and body["reason"] == "Unauthorized" and body["message"] == "Unauthorized"


def test_anonymous_auth_gives_403_except_public_paths(make_standin, tmp_path):
    server = make_standin(lab_cluster(), anonymous=True)
    assert http_get(server, "/version", token=None)[0] == 200
    code, _, body = http_get(server, "/api/v1/namespaces/default/pods", token=None)
    assert code == 403 and body["message"] == (
        'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"')
    assert http_get(server, "/api/v1/pods", token="wrong")[0] == 401


def test_writes_are_refused_and_recorded(standin, standin_api_client):
    core = client.CoreV1Api(standin_api_client)
    apps = client.AppsV1Api(standin_api_client)
    attempts = [
        lambda: core.delete_namespaced_service("kubernetes", NS),
        lambda: core.create_namespaced_pod(NS, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}),
        lambda: apps.patch_namespaced_deployment_scale("deployment1", NS, {"spec": {"replicas": 5}}),
        lambda: core.replace_namespaced_service("service1", NS, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "service1"}}),
    ]
    for attempt in attempts:
        with pytest.raises(client.ApiException) as excinfo:
            attempt()
        code, body = api_error(excinfo)
        assert code == 405 and body["reason"] == "MethodNotAllowed"
    assert [(w.method, w.path) for w in standin.writes] == [
        ("DELETE", "/api/v1/namespaces/default/services/kubernetes"),
        ("POST", "/api/v1/namespaces/default/pods"),
        ("PATCH", "/apis/apps/v1/namespaces/default/deployments/deployment1/scale"),
        ("PUT", "/api/v1/namespaces/default/services/service1"),
    ]
    assert core.read_namespaced_service("kubernetes", NS).metadata.name == "kubernetes"


def test_a_read_only_session_leaves_writes_empty(standin, core):
    core.list_namespaced_pod(NS)
    core.read_namespaced_service("kubernetes", NS)
    assert standin.writes == [] and len(standin.requests_matching("GET", r"/pods$")) == 1


def test_switched_off_kind_is_404_and_leaves_discovery(make_standin, tmp_path):
    server = make_standin(lab_cluster(), disabled={"endpointslices"})
    api = client.ApiClient(kube_configuration(server, tmp_path))
    with pytest.raises(client.ApiException) as excinfo:
        client.DiscoveryV1Api(api).list_endpoint_slice_for_all_namespaces()
    code, body = api_error(excinfo)
    assert code == 404 and body["message"] == "the server could not find the requested resource"
    assert {g["name"] for g in http_get(server, "/apis")[2]["groups"]} == {"apps"}
    assert http_get(server, "/apis/discovery.k8s.io/v1")[0] == 404
    assert client.CoreV1Api(api).list_namespaced_endpoints(NS).items  # Endpoints still served


# Faults ------------------------------------------------------------------------------


def test_429_carries_retry_after_and_urllib3_retries_it_three_times(standin, core):
    # urllib3's default Retry honours Retry-After on 429/503/413 for GETs: one 429 is invisible.
    standin.faults.add("GET", r"/pods$", status=429, retry_after=0)
    assert len(core.list_namespaced_pod(NS).items) == 6
    assert len(standin.requests_matching("GET", r"/pods$")) == 2
    standin.clear_requests()
    standin.faults.add("GET", r"/pods$", status=429, retry_after=0, times=None)
    with pytest.raises(client.ApiException) as excinfo:
        core.list_namespaced_pod(NS)
    code, body = api_error(excinfo)
    assert code == 429 and body["reason"] == "TooManyRequests" and excinfo.value.headers["Retry-After"] == "0"
    assert body["details"] == {"retryAfterSeconds": 0}
    assert len(standin.requests_matching("GET", r"/pods$")) == 4


def test_client_go_retries_honour_retry_after(standin, tmp_path):
    configuration = kube_configuration(standin, tmp_path)
    configuration.client_go_retries = True
    api = client.CoreV1Api(client.ApiClient(configuration))
    fault = standin.faults.add("GET", r"/pods$", status=429, retry_after=0, times=2)
    assert len(api.list_namespaced_pod(NS).items) == 6
    assert fault.hits == 2 and len(standin.requests_matching("GET", r"/pods$")) == 3


def test_apf_style_plain_text_429(standin):
    standin.faults.add(path=r"/pods$", status=429, plain_text=True)
    req = urllib.request.Request(standin.url + "/api/v1/pods", headers={"Authorization": "Bearer test-token"})
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(req, timeout=5)
    assert excinfo.value.code == 429 and excinfo.value.headers["Retry-After"] == "1"
    assert excinfo.value.read() == b"Too many requests, please try again later.\n"


def test_forbidden_fault_reads_like_rbac(standin, core):
    standin.faults.add("GET", r"/services$", status=403, times=None)
    with pytest.raises(client.ApiException) as excinfo:
        core.list_namespaced_service("kube-system")
    assert api_error(excinfo)[1]["message"] == (
        'services is forbidden: User "system:serviceaccount:labgrade:grader" cannot list resource "services" '
        'in API group "" in the namespace "kube-system"')


def test_internal_error_fault(standin, core):
    standin.faults.add("GET", r"/namespaces$", status=500)
    with pytest.raises(client.ApiException) as excinfo:
        core.list_namespace()
    code, body = api_error(excinfo)
    assert code == 500 and body["reason"] == "InternalError"


def test_slow_response_is_retried_then_trips_the_client_timeout(standin, core):
    # A read timeout on a GET is retried by urllib3 (3 times), like a dropped connection.
    standin.faults.add("GET", r"/pods$", delay=0.3)
    assert len(core.list_namespaced_pod(NS, _request_timeout=0.05).items) == 6
    standin.faults.add("GET", r"/pods$", delay=0.3, times=None)
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        core.list_namespaced_pod(NS, _request_timeout=0.05)


def test_dropped_connection_is_retried_by_urllib3(standin, core):
    fault = standin.faults.add("GET", r"/services$", drop=True)
    assert len(core.list_namespaced_service(NS).items) == 3
    assert fault.hits == 1 and len(standin.requests_matching("GET", r"/services$")) == 2


def test_dropped_connection_every_time_surfaces(standin, core):
    standin.faults.add("GET", r"/services$", drop=True, times=None)
    with pytest.raises(urllib3.exceptions.HTTPError):
        core.list_namespaced_service(NS)


def test_global_latency(standin, core):
    standin.latency = 0.05
    started = time.monotonic()
    core.list_namespaced_pod(NS)
    core.list_namespaced_service(NS)
    assert time.monotonic() - started >= 0.1


# Exec -------------------------------------------------------------------------------------


def run_exec(api_client, pod_name, argv, timeout=5, **kwargs):
    ws = stream(client.CoreV1Api(api_client).connect_get_namespaced_pod_exec, pod_name, NS, command=argv,
                stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False, **kwargs)
    ws.run_forever(timeout=timeout)
    # timeout=0: the default (None) polls forever while the socket is still open.
    return ws, ws.read_stdout(timeout=0), ws.read_stderr(timeout=0)


@pytest.fixture(params=["1.30.2", "1.29.6"])
def versioned(request, make_standin, tmp_path):
    """(standin, api client, expected sub-protocol) for a translator-era and a kubelet-only server."""
    server = make_standin(lab_cluster(), version=request.param)
    api = client.ApiClient(kube_configuration(server, tmp_path))
    return server, api, "v5.channel.k8s.io" if request.param == "1.30.2" else "v4.channel.k8s.io"


def test_client_offers_v5_then_v4_and_server_picks(versioned):
    server, api, protocol = versioned
    ws, out, _ = run_exec(api, "clientpod", ["echo", "hi"])
    assert ws.subprotocol == protocol and out == "hi\n" and ws.returncode == 0
    assert server.requests[-1].headers["Sec-WebSocket-Protocol"] == "v5.channel.k8s.io,v4.channel.k8s.io"
    assert server.exec_log[-1].protocol == protocol


def test_wget_to_a_service_by_name(versioned):
    _, api, _ = versioned
    ws, out, err = run_exec(api, "clientpod", ["wget", "-q", "-O", "-", "-T", "5", "http://service2"])
    assert (out, err, ws.returncode) == ("<html><body><h1>It works!</h1></body></html>\n", "", 0)


def test_non_zero_exit_wording_per_protocol(versioned):
    server, api, protocol = versioned
    server.exec_handler = lambda ns, pod, c, argv: ExecReply(stdout="partial\n", stderr="boom\n", exit_code=3)
    ws, out, err = run_exec(api, "clientpod", ["sh", "-c", "exit 3"])
    assert (out, err, ws.returncode) == ("partial\n", "boom\n", 3)
    inner = ("command terminated with exit code 3" if protocol.startswith("v5")
             else "error executing command [sh -c exit 3], exit code 3")
    assert server.exec_log[-1].status == {
        "metadata": {}, "status": "Failure", "message": f"command terminated with non-zero exit code: {inner}",
        "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}


def test_missing_binary_is_an_internal_error_not_an_exit_code(versioned):
    server, api, protocol = versioned
    pod_name = next(p["metadata"]["name"] for p in lab_cluster() if p["metadata"]["name"].startswith("deployment1-") and p["kind"] == "Pod")
    ws, out, err = run_exec(api, pod_name, ["wget", "-qO-", "http://service2"])
    assert (out, err) == ("", "")
    with pytest.raises(ValueError):  # the client's returncode cannot parse a non-numeric cause
        ws.returncode
    status = server.exec_log[-1].status
    assert status["reason"] == "InternalError" and status["code"] == 500
    prefix = "Internal error occurred: " * (2 if protocol.startswith("v5") else 1)
    assert status["message"].startswith(prefix + "error executing command in container: failed to exec in container: "
                                        'failed to start exec "')
    assert status["message"].endswith('OCI runtime exec failed: exec failed: unable to start container process: '
                                      'exec: "wget": executable file not found in $PATH: unknown')


def test_missing_binary_through_a_shell_is_exit_127(standin_api_client, standin):
    pod_name = next(p["metadata"]["name"] for p in lab_cluster() if p["metadata"]["name"].startswith("deployment2-") and p["kind"] == "Pod")
    ws, out, err = run_exec(standin_api_client, pod_name, ["sh", "-c", "wget -qO- http://service1"])
    assert (out, err, ws.returncode) == ("", "sh: 1: wget: not found\n", 127)


def test_hung_exec_is_released_by_client_timeout(standin, standin_api_client):
    standin.faults.add("GET", r"/exec$", exec_hang=True)
    started = time.monotonic()
    ws, out, _ = run_exec(standin_api_client, "clientpod", ["wget", "-qO-", "http://service1"], timeout=0.3)
    assert time.monotonic() - started < 2 and ws.is_open() and ws.returncode is None and out == ""
    ws.close()
    # preloaded form: _request_timeout bounds run_forever
    standin.exec_handler = lambda *a: ExecReply(stdout="started\n", hang=True)
    started = time.monotonic()
    out = stream(client.CoreV1Api(standin_api_client).connect_get_namespaced_pod_exec, "clientpod", NS,
                 command=["sleep", "1000"], stdout=True, stderr=True, _request_timeout=0.3)
    assert out == "started\n" and time.monotonic() - started < 2


def test_v5_close_signal_is_accepted(standin, standin_api_client):
    standin.exec_handler = lambda *a: ExecReply(stdout="ok\n", delay=0.2)
    ws = stream(client.CoreV1Api(standin_api_client).connect_get_namespaced_pod_exec, "clientpod", NS,
                command=["cat"], stdin=True, stdout=True, stderr=True, _preload_content=False)
    ws.write_stdin("hello")
    ws.close_channel(0)
    ws.run_forever(timeout=5)
    assert ws.read_stdout(timeout=0) == "ok\n" and ws.returncode == 0
    record = standin.exec_log[-1]
    assert record.stdin == b"hello" and record.closed_channels == [0]


def test_exec_on_missing_pod_is_404_before_upgrade(standin, standin_api_client):
    with pytest.raises(client.ApiException) as excinfo:
        run_exec(standin_api_client, "nope", ["true"])
    assert excinfo.value.status == 0  # the client wraps the failed handshake
    assert "Handshake status 404" in excinfo.value.reason and 'pods \\"nope\\" not found' in excinfo.value.reason


def test_exec_on_unscheduled_pod_is_400(standin, standin_api_client):
    standin.set_objects(lab_cluster() + [pod("pending", image="busybox", node=None, phase="Pending")])
    with pytest.raises(client.ApiException) as excinfo:
        run_exec(standin_api_client, "pending", ["true"])
    assert "Handshake status 400" in excinfo.value.reason and "pod pending does not have a host assigned" in excinfo.value.reason


def test_exec_in_a_container_not_running(versioned):
    server, api, protocol = versioned
    server.set_objects(lab_cluster() + [pod("creating", image="busybox", ip="10.244.1.99", phase="Pending")])
    if protocol.startswith("v5"):  # the translator upgrades first, then reports on channel 3
        ws, _, _ = run_exec(api, "creating", ["true"])
        assert server.exec_log[-1].status["message"] == (
            'Internal error occurred: unable to upgrade connection: container not found ("busybox")')
    else:  # the kubelet's refusal passes through as text
        with pytest.raises(client.ApiException) as excinfo:
            run_exec(api, "creating", ["true"])
        assert "Handshake status 500" in excinfo.value.reason and excinfo.value.reason.endswith('container not found ("busybox")')


def test_exec_container_must_be_named_in_multi_container_pods(standin, standin_api_client):
    two = pod("two", image="busybox", ip="10.244.1.98")
    two["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    two["status"]["containerStatuses"].append({**two["status"]["containerStatuses"][0], "name": "sidecar"})
    standin.set_objects(lab_cluster() + [two])
    with pytest.raises(client.ApiException) as excinfo:
        run_exec(standin_api_client, "two", ["true"])
    assert "a container name must be specified for pod two, choose one of: [busybox sidecar]" in excinfo.value.reason
    ws, out, _ = run_exec(standin_api_client, "two", ["echo", "x"], container="sidecar")
    assert out == "x\n" and standin.exec_log[-1].container == "sidecar"


# Port-forward and DNS -------------------------------------------------------------------


@pytest.fixture
def dns_socket(standin, standin_api_client):
    coredns = client.CoreV1Api(standin_api_client).list_namespaced_pod("kube-system", label_selector="k8s-app=kube-dns").items[0]
    pf = portforward(client.CoreV1Api(standin_api_client).connect_get_namespaced_pod_portforward,
                     coredns.metadata.name, "kube-system", ports="53")
    sock = pf.socket(53)
    sock.settimeout(5)
    yield sock
    pf.close()


def ask(sock, name: str, rdtype: str = "A"):
    return dns.query.tcp(dns.message.make_query(name, rdtype), where="127.0.0.1", sock=sock, timeout=5)


def answers(response) -> list[str]:
    return sorted(rr.to_text() for rrset in response.answer for rr in rrset)


def test_dns_over_port_forward(dns_socket):
    assert answers(ask(dns_socket, "service1.default.svc.cluster.local.")) == ["10.96.100.1"]
    headless = ask(dns_socket, "service2.default.svc.cluster.local.")
    assert answers(headless) == ["10.244.1.10", "10.244.1.20"] and headless.answer[0].ttl == 30
    assert answers(ask(dns_socket, "10-244-1-20.service2.default.svc.cluster.local.")) == ["10.244.1.20"]
    assert answers(ask(dns_socket, "10-244-1-11.default.pod.cluster.local.")) == ["10.244.1.11"]
    assert answers(ask(dns_socket, "kube-dns.kube-system.svc.cluster.local.")) == ["10.96.0.10"]


def test_dns_nxdomain_carries_the_soa(dns_socket):
    response = ask(dns_socket, "service3.default.svc.cluster.local.")
    assert response.rcode() == dns.rcode.NXDOMAIN and not response.answer
    soa = response.authority[0]
    assert soa.name.to_text() == "cluster.local." and soa[0].mname.to_text() == "ns.dns.cluster.local."
    # a known name without records of the asked type: NODATA
    nodata = ask(dns_socket, "service1.default.svc.cluster.local.", "AAAA")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer and nodata.authority


def test_dns_hostname_subdomain_replaces_the_dashed_name(standin, dns_socket):
    web = pod("web-0", image="httpd", ip="10.244.1.77", labels={"app": "web"}, hostname="web-0", subdomain="web")
    standin.set_objects(with_endpoints(lab_cluster() + [web, service("web", selector={"app": "web"}, headless=True)]))
    assert answers(ask(dns_socket, "web-0.web.default.svc.cluster.local.")) == ["10.244.1.77"]
    assert ask(dns_socket, "10-244-1-77.web.default.svc.cluster.local.").rcode() == dns.rcode.NXDOMAIN


def test_port_forward_to_a_closed_port_reports_on_the_error_channel(standin, standin_api_client):
    pf = portforward(client.CoreV1Api(standin_api_client).connect_get_namespaced_pod_portforward,
                     "clientpod", NS, ports="80")
    sock = pf.socket(80)
    sock.settimeout(5)
    assert sock.recv(10) == b""  # the client closes the local socket on an error frame
    assert "error forwarding port 80 to pod" in pf.error(80) and "connection refused" in pf.error(80)
    pf.close()
