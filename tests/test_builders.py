"""Tests of the cluster builders and of the example dumps made with them.

The grader's own tests trust these objects to look like a real cluster; if
a builder broke an ownerReference or an endpoint list, every check test
built on it would be testing fiction.  So the invariants the real
controllers keep are asserted here, on small clusters and on every
committed example.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import make_examples
from tests.builders import (
    container,
    LAB_START, MIRROR_CONTROLLER, SLICE_CONTROLLER, Cluster, base_cluster, dump_json, dump_yaml, image_id,
    image_repository, normalize_image, parse_time, pull_policy, service_port, to_list,
)

EXAMPLES = make_examples.ROOT
#: The builders' dumps (the hand-built cases). Recorded cases are real kubectl output of v1.36, which
#: the v1.29 model's invariants do not describe (e.g. Pods carry metadata.generation there).
DUMP_FILES = sorted(p for c in make_examples.hand_built() for p in (EXAMPLES / c.name).iterdir()
                    if p.suffix in (".yaml", ".json") and p.name != "expected.yaml")
#: Owners a kubectl dump of these kinds never lists.
UNLISTED_OWNER_KINDS = {"DaemonSet", "Node"}


def load(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return make_examples.render_all()


# -- invariants every cluster state must keep ----------------------------------------

def assert_owner_chains(items: list[dict[str, Any]]) -> None:
    """Every ownerReference names, by uid, an object of that kind and name
    (apart from owners no dump lists), and every Pod of a ReplicaSet reaches
    a Deployment unless it is terminating after its owners went."""
    by_uid = {i["metadata"]["uid"]: i for i in items}
    assert len(by_uid) == len(items), "uids must be unique"
    for item in items:
        for ref in item["metadata"].get("ownerReferences", []):
            assert ref["controller"] is True
            if ref["kind"] in UNLISTED_OWNER_KINDS:
                continue
            owner = by_uid.get(ref["uid"])
            terminating = "deletionTimestamp" in item["metadata"]
            if owner is None and terminating:
                continue  # cascading deletion: the owner is gone, the pod still stopping
            assert owner is not None, f"{item['kind']} {item['metadata']['name']}: owner {ref['name']} missing"
            assert (owner["kind"], owner["metadata"]["name"]) == (ref["kind"], ref["name"])
            assert owner["apiVersion"] == ref["apiVersion"]
            if item["kind"] == "Pod" and owner["kind"] == "ReplicaSet":
                dep_ref = owner["metadata"]["ownerReferences"][0]
                assert by_uid[dep_ref["uid"]]["kind"] == "Deployment"


def _selected(items: list[dict[str, Any]], svc: dict[str, Any]) -> list[dict[str, Any]]:
    sel = svc["spec"]["selector"]
    return [p for p in items if p["kind"] == "Pod" and p["metadata"]["namespace"] == svc["metadata"]["namespace"]
            and all(p["metadata"].get("labels", {}).get(k) == v for k, v in sel.items()) and p["status"].get("podIP")]


def _offers_a_port(svc: dict[str, Any], pod: dict[str, Any]) -> bool:
    """Whether the Endpoints controller lists the pod: the Service has no ports (headless), or one
    of its targetPorts is a number or a name a container of the pod declares."""
    ports = svc["spec"].get("ports") or []
    declared = {cp.get("name") for c in pod["spec"]["containers"] for cp in c.get("ports", [])}
    return not ports or any(not isinstance(p.get("targetPort", p["port"]), str) or p["targetPort"] in declared
                            for p in ports)


def _ip(pod: dict[str, Any], family: str) -> str:
    """The pod's address of one IP family (a dual-stack pod has both)."""
    ips = [a["ip"] for a in pod["status"].get("podIPs") or [{"ip": pod["status"]["podIP"]}]]
    return next((ip for ip in ips if (":" in ip) == (family == "IPv6")), pod["status"]["podIP"])


def _ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"]["conditions"])


def assert_endpoints_follow_pods(items: list[dict[str, Any]]) -> None:
    """What the endpoint controllers guarantee: for a Service with a
    selector, Endpoints list exactly the selected live pods (ready ones under
    addresses) and its EndpointSlices every selected pod, terminating ones
    marked so; a Service without one gets no controller-made slice."""
    def find(kind: str, ns: str, name: str | None = None, service: str | None = None) -> list[dict[str, Any]]:
        return [i for i in items if i["kind"] == kind and i["metadata"]["namespace"] == ns
                and (name is None or i["metadata"]["name"] == name)
                and (service is None or i["metadata"].get("labels", {}).get("kubernetes.io/service-name") == service)]

    for svc in (i for i in items if i["kind"] == "Service"):
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        slices = find("EndpointSlice", ns, service=name)
        if not svc["spec"].get("selector"):
            assert not [s for s in slices if s["metadata"]["labels"].get("endpointslice.kubernetes.io/managed-by")
                        == SLICE_CONTROLLER], f"{name}: no selector, yet controller slices"
            for s in slices:
                if s["metadata"]["labels"].get("endpointslice.kubernetes.io/managed-by") == MIRROR_CONTROLLER:
                    (ep,) = find("Endpoints", ns, name)
                    assert s["metadata"]["ownerReferences"][0]["uid"] == ep["metadata"]["uid"]
            continue
        pods = _selected(items, svc)
        live = [p for p in pods if "deletionTimestamp" not in p["metadata"] and _offers_a_port(svc, p)]
        (ep,) = find("Endpoints", ns, name)
        subsets = ep.get("subsets", [])
        listed = {(a["ip"], a["targetRef"]["uid"]) for s in subsets for a in s.get("addresses", [])}
        unready = {(a["ip"], a["targetRef"]["uid"]) for s in subsets for a in s.get("notReadyAddresses", [])}
        # The Endpoints controller lists each pod by the Service's primary IP family.
        family = (svc["spec"].get("ipFamilies") or ["IPv4"])[0]
        assert listed == {(_ip(p, family), p["metadata"]["uid"]) for p in live if _ready(p)}, name
        assert unready == {(_ip(p, family), p["metadata"]["uid"]) for p in live if not _ready(p)}, name

        assert slices, f"{name}: a Service with a selector always has a slice"
        for s in slices:
            assert s["metadata"]["ownerReferences"][0]["uid"] == svc["metadata"]["uid"]
            assert s["metadata"]["name"].startswith(name + "-") and len(s["metadata"]["name"]) == len(name) + 6
        for address_type in sorted({s.get("addressType", "IPv4") for s in slices}):  # one set of slices per family
            in_slices = [(e, address_type) for s in slices if s.get("addressType", "IPv4") == address_type
                         for e in s["endpoints"] or []]
            assert sorted(e["targetRef"]["uid"] for e, _ in in_slices) == sorted(p["metadata"]["uid"] for p in pods), name
        for e, address_type in [(e, s.get("addressType", "IPv4")) for s in slices for e in s["endpoints"] or []]:
            pod = next(p for p in pods if p["metadata"]["uid"] == e["targetRef"]["uid"])
            terminating = "deletionTimestamp" in pod["metadata"]
            assert e["addresses"] == [_ip(pod, address_type)]
            assert e["conditions"] == {"ready": _ready(pod) and not terminating, "serving": _ready(pod),
                                       "terminating": terminating}
            assert e["nodeName"] == pod["spec"]["nodeName"]


def assert_kubectl_shape(doc: dict[str, Any]) -> None:
    assert doc["kind"] == "List" and doc["apiVersion"] == "v1" and doc["metadata"] == {"resourceVersion": ""}
    order = ["Namespace", "Deployment", "ReplicaSet", "Pod", "Service", "Endpoints", "EndpointSlice"]
    keys = [(order.index(i["kind"]), i["metadata"].get("namespace", ""), i["metadata"]["name"]) for i in doc["items"]]
    assert keys == sorted(keys), "items are grouped by kind, then namespace and name"
    for item in doc["items"]:
        m = item["metadata"]
        assert item["apiVersion"] and m["uid"] and m["resourceVersion"].isdigit()
        assert m["creationTimestamp"].endswith("Z")
        assert ("namespace" in m) == (item["kind"] != "Namespace")
        assert ("generation" in m) == (item["kind"] in ("Deployment", "ReplicaSet", "EndpointSlice"))


def assert_valid(items: list[dict[str, Any]]) -> None:
    assert_owner_chains(items)
    assert_endpoints_follow_pods(items)


# -- the examples ---------------------------------------------------------------------

def test_committed_examples_are_what_make_examples_generates(generated: dict[str, str]) -> None:
    """The hand-built cases and the index README (recorded cases: tests/test_recorded_examples.py)."""
    on_disk = make_examples.on_disk()
    assert sorted(on_disk) == sorted(generated), "run: python -m tests.make_examples"
    drift = [p for p in generated if on_disk[p] != generated[p]]
    assert not drift, f"out of date (run: python -m tests.make_examples): {drift}"


def test_generation_is_deterministic(generated: dict[str, str]) -> None:
    first = make_examples.hand_built()[0]
    again = make_examples.render_case(first)
    for name, text in again.items():
        assert generated[f"{first.name}/{name}"] == text


@pytest.mark.parametrize("path", DUMP_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_example_is_a_valid_kubectl_list(path: Path) -> None:
    doc = load(path)
    assert_kubectl_shape(doc)
    assert_valid(doc["items"])


@pytest.mark.parametrize("case", make_examples.hand_built(), ids=lambda c: c.name)
def test_every_case_states_a_verdict_for_every_check(case: make_examples.Case) -> None:
    expected = yaml.safe_load((EXAMPLES / case.name / "expected.yaml").read_text(encoding="utf-8"))
    assert expected["source"] == "hand-built"
    assert expected["namespace"] == case.lab.namespace
    assert list(expected["verdicts"]) == list(make_examples.CORRECT_VERDICTS)
    assert set(expected["verdicts"].values()) <= {"passed", "failed", "skipped"}
    suffix = case.lab.fmt
    assert (EXAMPLES / case.name / f"built.{suffix}").is_file() and (EXAMPLES / case.name / f"cleaned.{suffix}").is_file()


def test_cases_differ_from_the_model_answer_only_where_they_say() -> None:
    for case in make_examples.CASES[1:]:
        if case.name not in ("correct-other-namespace", "dual-stack"):  # harmless differences
            assert case.verdicts, f"{case.name} breaks nothing"
    assert not make_examples.CASES[0].verdicts


def _lab_items(case: str, phase: str, ns: str = "default") -> list[dict[str, Any]]:
    path = next((EXAMPLES / case).glob(f"{phase}.*"))
    return [i for i in load(path)["items"] if i["metadata"].get("namespace") == ns]


def test_correct_case_shapes() -> None:
    built = _lab_items("correct", "built")
    pods = [i for i in built if i["kind"] == "Pod"]
    assert sorted(p["metadata"]["name"].rsplit("-", 2)[0] for p in pods if p["metadata"]["name"] != "clientpod") == \
        ["deployment1"] * 2 + ["deployment2"] * 3
    labelled = [p for p in pods if p["metadata"]["labels"].get("svc2") == "yes"]
    assert len(labelled) == 2
    (svc2_slice,) = [i for i in built if i["kind"] == "EndpointSlice" and i["metadata"]["name"].startswith("service2-")]
    assert {e["targetRef"]["uid"] for e in svc2_slice["endpoints"]} == {p["metadata"]["uid"] for p in labelled}
    assert svc2_slice["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
    cleaned = _lab_items("correct", "cleaned")
    # recorded on kwok nodes, which delete pods at once: nothing of the lab is left (the hand-built cases
    # show a clientpod still terminating, deletionGracePeriodSeconds 30)
    assert [(i["kind"], i["metadata"]["name"]) for i in cleaned if i["kind"] in ("Pod", "Deployment", "ReplicaSet")] == []
    for case in make_examples.hand_built():
        (client,) = [i for i in _lab_items(case.name, "cleaned", case.lab.namespace)
                     if i["kind"] == "Pod" and i["metadata"]["name"] == "clientpod"]
        assert client["metadata"]["deletionGracePeriodSeconds"] == 30 and "deletionTimestamp" in client["metadata"]
    assert [i["metadata"]["name"] for i in cleaned if i["kind"] in ("Service", "Endpoints", "EndpointSlice")] == \
        ["kubernetes"] * 3


def test_kubernetes_recreated_changes_uid_not_the_slice() -> None:
    def kube(phase: str) -> dict[str, str]:
        return {i["kind"]: i["metadata"]["uid"] for i in _lab_items("kubernetes-recreated", phase)
                if i["metadata"]["name"] == "kubernetes"}

    base, built, cleaned = kube("baseline"), kube("built"), kube("cleaned")
    assert base == built
    assert cleaned["Service"] != built["Service"] and cleaned["Endpoints"] != built["Endpoints"]
    assert cleaned["EndpointSlice"] == built["EndpointSlice"]
    svc = next(i for i in _lab_items("kubernetes-recreated", "cleaned")
               if i["kind"] == "Service" and i["metadata"]["name"] == "kubernetes")
    assert svc["spec"]["clusterIP"] == "10.96.0.1" and svc["metadata"]["creationTimestamp"] > LAB_START


def test_hand_written_endpoints_are_mirrored_not_controlled() -> None:
    built = _lab_items("hand-written-endpoints", "built")
    slices = [i for i in built if i["kind"] == "EndpointSlice" and i["metadata"]["name"].startswith("service2-")]
    (mirror,) = slices
    assert mirror["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == MIRROR_CONTROLLER
    assert mirror["metadata"]["ownerReferences"][0]["kind"] == "Endpoints"
    assert all("targetRef" not in e and e["conditions"] == {"ready": True} for e in mirror["endpoints"])
    assert "kubectl.kubernetes.io/last-applied-configuration" not in mirror["metadata"].get("annotations", {})


# -- the builders on small clusters -------------------------------------------------------

def small_cluster(**kw: Any) -> Cluster:
    c = Cluster(**kw)
    c.namespace("default")
    return c


def test_deployment_owner_chain_and_names() -> None:
    c = small_cluster()
    dep = c.deployment("web", replicas=3, image="httpd", labels={"app": "web"})
    (rs,) = c.list("ReplicaSet")
    pods = c.pods_of(dep)
    assert rs["metadata"]["ownerReferences"] == [{"apiVersion": "apps/v1", "blockOwnerDeletion": True,
                                                  "controller": True, "kind": "Deployment", "name": "web",
                                                  "uid": dep["metadata"]["uid"]}]
    h = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{h}" and len(h) == 10
    assert len(pods) == 3 and len({p["status"]["podIP"] for p in pods}) == 3
    for p in pods:
        assert p["metadata"]["name"].startswith(f"web-{h}-") and len(p["metadata"]["name"]) == len(f"web-{h}-") + 5
        assert p["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
        st = p["status"]["containerStatuses"][0]
        assert st["image"] == "docker.io/library/httpd:latest" and st["imageID"].startswith("docker.io/library/httpd@sha256:")
        assert st["ready"] and st["started"] and "running" in st["state"]
        assert [cond["type"] for cond in p["status"]["conditions"]] == [
            "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    assert dep["status"]["readyReplicas"] == 3 and rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "4"
    assert_valid(c.objects())


def test_endpoints_track_ready_not_ready_and_terminating_pods() -> None:
    c = small_cluster()
    dep = c.deployment("web", replicas=2, image="httpd", labels={"app": "web"})
    c.bare_pod("slow", image="httpd", port=80, labels={"app": "web"}, state="NotReady")
    c.service("web", selector={"app": "web"}, ports=[service_port(80)])
    first, second = c.pods_of(dep)
    c.delete_pod(first)
    items = c.objects()
    assert_valid(items)
    ep = c.must("Endpoints", "web", "default")
    (subset,) = ep["subsets"]
    assert [a["targetRef"]["name"] for a in subset["addresses"]] == [second["metadata"]["name"]]
    assert [a["targetRef"]["name"] for a in subset["notReadyAddresses"]] == ["slow"]
    (s,) = c.list("EndpointSlice")
    conds = {e["targetRef"]["name"]: e["conditions"] for e in s["endpoints"]}
    assert conds[first["metadata"]["name"]] == {"ready": False, "serving": True, "terminating": True}
    assert conds["slow"] == {"ready": False, "serving": False, "terminating": False}
    assert s["metadata"]["generation"] > 1, "the controller updated the slice in place"


def test_slices_split_shrink_to_a_placeholder_and_keep_their_names() -> None:
    c = small_cluster(max_endpoints_per_slice=2)
    dep = c.deployment("web", replicas=3, image="httpd", labels={"app": "web"})
    c.service("web", selector={"app": "web"}, ports=[service_port(80, name="http")])
    slices = c.list("EndpointSlice")
    assert sorted(len(s["endpoints"]) for s in slices) == [1, 2]
    assert all(s["ports"] == [{"name": "http", "port": 80, "protocol": "TCP"}] for s in slices)
    first_name = min(slices, key=lambda s: (s["metadata"]["creationTimestamp"], s["metadata"]["name"]))["metadata"]["name"]
    c.delete_deployment("web")
    (placeholder,) = c.list("EndpointSlice")
    assert placeholder["metadata"]["name"] == first_name
    assert placeholder["endpoints"] is None and placeholder["ports"] is None
    assert "subsets" not in c.must("Endpoints", "web", "default")
    assert c.pods_of(dep) == []


def test_relabelling_moves_a_pod_between_services() -> None:
    c = small_cluster()
    dep = c.deployment("web", replicas=2, image="httpd", labels={"app": "web"})
    c.service("one", selector={"pick": "yes"}, ports=[service_port(80)], headless=True)
    assert c.list("EndpointSlice")[0]["endpoints"] is None
    pod = c.pods_of(dep)[0]
    c.label_pod(pod, {"pick": "yes"})
    (s,) = c.list("EndpointSlice")
    assert [e["targetRef"]["uid"] for e in s["endpoints"]] == [pod["metadata"]["uid"]]
    assert c.must("Endpoints", "one", "default")["metadata"]["labels"] == {"service.kubernetes.io/headless": ""}
    c.delete_service("one")
    assert c.list("EndpointSlice") == [] and c.get("Endpoints", "one", "default") is None


def test_base_cluster_background() -> None:
    c = base_cluster()
    items = c.objects()
    assert_valid(items)
    names = {(i["kind"], i["metadata"].get("namespace", ""), i["metadata"]["name"]) for i in items}
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert ("Namespace", "", ns) in names
    kube = c.must("Service", "kubernetes", "default")
    assert kube["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]
    assert kube["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}
    kslice = c.must("EndpointSlice", "kubernetes", "default")
    assert "ownerReferences" not in kslice["metadata"]
    assert kslice["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    dns = c.must("Service", "kube-dns", "kube-system")
    assert dns["spec"]["clusterIP"] == "10.96.0.10"
    assert [p["name"] for p in dns["spec"]["ports"]] == ["dns", "dns-tcp", "metrics"]
    assert len(c.pods_of(c.must("Deployment", "coredns", "kube-system"))) == 2
    age = parse_time(kube["metadata"]["creationTimestamp"]) - parse_time(
        c.must("Namespace", "default")["metadata"]["creationTimestamp"])
    assert 0 <= age.total_seconds() < 120, "the kubernetes Service is born with the cluster"


def test_same_calls_same_bytes() -> None:
    assert dump_yaml(to_list(base_cluster().objects())) == dump_yaml(to_list(base_cluster().objects()))
    assert base_cluster(seed="a").objects()[0]["metadata"]["uid"] != base_cluster(seed="b").objects()[0]["metadata"]["uid"]


# -- printing and images -------------------------------------------------------------------

def test_yaml_quotes_like_kubectl() -> None:
    shared = {"port": 80}
    text = dump_yaml({"b": "True", "a": "", "c": "yes", "d": "2026-11-20T08:15:02Z", "e": "25%", "f": None,
                      "g": "x\n", "h": [shared, shared], "i": {}, "j": "3600", "k": "中文"})
    assert text == ('a: ""\nb: "True"\nc: "yes"\nd: "2026-11-20T08:15:02Z"\ne: 25%\nf: null\ng: |\n  x\n'
                    'h:\n- port: 80\n- port: 80\ni: {}\nj: "3600"\nk: 中文\n')
    assert yaml.safe_load(text)["b"] == "True"


def test_json_like_kubectl() -> None:
    assert dump_json({"b": 1, "a": ["中"]}) == '{\n    "a": [\n        "中"\n    ],\n    "b": 1\n}\n'


@pytest.mark.parametrize(("image", "reported", "repository", "policy"), [
    ("httpd", "docker.io/library/httpd:latest", "docker.io/library/httpd", "Always"),
    ("httpd:2.4", "docker.io/library/httpd:2.4", "docker.io/library/httpd", "IfNotPresent"),
    ("nginx:httpd", "docker.io/library/nginx:httpd", "docker.io/library/nginx", "IfNotPresent"),
    ("bitnami/apache", "docker.io/bitnami/apache:latest", "docker.io/bitnami/apache", "Always"),
    ("swr.cn-north-4.myhuaweicloud.com/library/httpd:2.4", "swr.cn-north-4.myhuaweicloud.com/library/httpd:2.4",
     "swr.cn-north-4.myhuaweicloud.com/library/httpd", "IfNotPresent"),
    ("localhost:5000/httpd", "localhost:5000/httpd:latest", "localhost:5000/httpd", "Always"),
    ("httpd@sha256:" + "a" * 64, "docker.io/library/httpd@sha256:" + "a" * 64, "docker.io/library/httpd",
     "IfNotPresent"),
])
def test_images_as_containerd_reports_them(image: str, reported: str, repository: str, policy: str) -> None:
    assert normalize_image(image) == reported
    assert image_repository(image) == repository
    assert pull_policy(image) == policy
    assert image_id(image).startswith(repository + "@sha256:") and len(image_id(image)) == len(repository) + 72


def test_relabelling_a_pod_out_of_its_replicaset_selector_releases_and_replaces_it() -> None:
    """As the ReplicaSet controller does (seen on the real cluster): the ownerReferences go,
    generateName and pod-template-hash stay, and a replacement pod is started."""
    c = small_cluster()
    dep = c.deployment("web", replicas=2, image="httpd", labels={"app": "web"})
    pod = c.pods_of(dep)[0]
    c.label_pod(pod, {"extra": "yes"})  # still selected: nothing happens
    assert pod["metadata"]["ownerReferences"] and len(c.list("Pod")) == 2
    c.label_pod(pod, {"app": "other"})
    assert "ownerReferences" not in pod["metadata"]
    assert pod["metadata"]["generateName"].endswith(f"-{pod['metadata']['labels']['pod-template-hash']}-")
    assert len(c.pods_of(dep)) == 2 and pod not in c.pods_of(dep) and len(c.list("Pod")) == 3
    assert_valid(c.objects())


def test_pods_without_a_resolved_port_are_in_a_portless_slice_as_on_the_real_cluster() -> None:
    """Seen on v1.36: a named targetPort no container declares lists the selected pods in an
    EndpointSlice with ``ports: null`` and leaves the Endpoints without subsets; a headless
    Service without ports has them in a portless slice and in Endpoints addresses without ports.
    (The builder left the pods out of both.)"""
    c = small_cluster()
    dep = c.deployment("web", replicas=2, image="httpd", labels={"app": "web"})
    uids = sorted(p["metadata"]["uid"] for p in c.pods_of(dep))
    c.service("named", selector={"app": "web"}, ports=[service_port(80, "http")])
    (s,) = [x for x in c.list("EndpointSlice") if x["metadata"]["labels"]["kubernetes.io/service-name"] == "named"]
    assert s["ports"] is None and sorted(e["targetRef"]["uid"] for e in s["endpoints"]) == uids
    assert "subsets" not in c.must("Endpoints", "named", "default")
    c.service("bare", selector={"app": "web"}, ports=[], headless=True)
    (s,) = [x for x in c.list("EndpointSlice") if x["metadata"]["labels"]["kubernetes.io/service-name"] == "bare"]
    assert s["ports"] is None and sorted(e["targetRef"]["uid"] for e in s["endpoints"]) == uids
    (subset,) = c.must("Endpoints", "bare", "default")["subsets"]
    assert "ports" not in subset and len(subset["addresses"]) == 2
    assert_valid(c.objects())


def test_pods_offering_different_ports_get_a_slice_per_port_set() -> None:
    c = small_cluster()
    c.deployment("named", replicas=1, labels={"app": "web"},
                 containers=[container("httpd", port=80) | {"ports": [{"containerPort": 80, "name": "http", "protocol": "TCP"}]}])
    c.deployment("plain", replicas=1, image="httpd", labels={"app": "web"}, selector={"app": "web"})
    c.service("web", selector={"app": "web"}, ports=[service_port(80, "http")])
    slices = sorted(c.list("EndpointSlice"), key=lambda s: s["ports"] is None)
    assert [s["ports"] for s in slices] == [[{"name": "", "port": 80, "protocol": "TCP"}], None]
    assert [len(s["endpoints"]) for s in slices] == [1, 1]
