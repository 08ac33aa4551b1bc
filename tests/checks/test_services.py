"""Steps 3 and 4: service1 over every pod of both Deployments, service2
(headless) over one pod of each. Ownership decides, not labels."""
from __future__ import annotations

import pytest

from tests.builders import base_cluster, container, pod_ref, service_port
from tests.checks.verdict import assert_verdict, run, view_of

APP = {"app": "httpd"}
SVC2 = {"svc2": "yes"}
HTTP = [service_port(80, 80)]
BOTH = ["deployment1", "deployment2"]


def two_deployments():
    c = base_cluster()
    d1 = c.deployment("deployment1", replicas=2, image="httpd", labels={**APP, "deploy": "deployment1"})
    d2 = c.deployment("deployment2", replicas=3, image="httpd", labels={**APP, "deploy": "deployment2"})
    return c, c.pods_of(d1), c.pods_of(d2)


def endpoints(c, name="service1", **kw):
    return run("service.endpoints", view_of(c), name=name, deployments=BOTH, **kw)


# -- service.exists ---------------------------------------------------------------------------------

def test_exists_passes_and_names_the_type():
    c = base_cluster()
    c.service("service2", ports=HTTP, selector=SVC2, headless=True)
    assert_verdict(run("service.exists", view_of(c), name="service2"), "passed", says="headless")


def test_exists_fails_without_the_service():
    assert_verdict(run("service.exists", view_of(base_cluster()), name="service1"), "failed")


def test_exists_fails_for_a_service_being_deleted():
    c = base_cluster()
    c.service("service1", ports=HTTP, selector=APP)["metadata"]["deletionTimestamp"] = c.clock.now()
    assert_verdict(run("service.exists", view_of(c), name="service1"), "failed", says="being deleted")


# -- service.endpoints: all -------------------------------------------------------------------------

def test_all_passes_over_every_pod_of_both():
    c, _, _ = two_deployments()
    c.service("service1", ports=HTTP, selector=APP)
    assert_verdict(endpoints(c), "passed")


def test_all_fails_when_the_selector_picks_one_deployment():
    c, _, _ = two_deployments()
    c.service("service1", ports=HTTP, selector={"deploy": "deployment1"})
    assert_verdict(endpoints(c), "failed", says="3 of their pods are missing")


def test_all_fails_with_a_stray_bare_pod_behind_it():
    c, _, _ = two_deployments()
    c.bare_pod("extra", image="httpd", labels=APP, applied=True, port=80)
    c.service("service1", ports=HTTP, selector=APP)
    assert_verdict(endpoints(c), "failed", says="to none of these deployments")


def test_all_fails_when_the_selector_matches_no_pod():
    c, _, _ = two_deployments()
    c.service("service1", ports=HTTP, selector={"app": "http"})
    assert_verdict(endpoints(c), "failed", says="matches no pods")


def test_all_fails_when_the_matching_pods_are_not_ready():
    c = base_cluster()
    for i in (1, 2):
        c.bare_pod(f"p{i}", image="httpd", labels=APP, applied=True, state="NotReady")
    c.service("service1", ports=HTTP, selector=APP)
    assert_verdict(endpoints(c), "failed", says="none is ready")


def not_ready(c, pods):
    """The pods' readiness fails (an image still pulling): Ready goes False
    and the endpoint controllers list them as not ready."""
    for pod in pods:
        for cond in pod["status"]["conditions"]:
            if cond["type"] in ("Ready", "ContainersReady"):
                cond["status"] = "False"
    c._reconcile()


def test_all_fails_when_the_selector_leaves_out_a_deployment_whose_pods_are_not_ready():
    """service1 selects deployment1 only while deployment2's pods are all
    unready: the ready endpoints are exactly the ready pods, yet service1
    will never route to deployment2."""
    c, _, p2 = two_deployments()
    c.service("service1", ports=HTTP, selector={"deploy": "deployment1"})
    not_ready(c, p2)
    assert_verdict(endpoints(c), "failed", says="leaves out 3 not-ready pods of deployment2")


def test_all_passes_when_the_not_ready_pods_are_selected_too():
    c, _, p2 = two_deployments()
    c.service("service1", ports=HTTP, selector=APP)
    not_ready(c, p2)
    assert_verdict(endpoints(c), "passed", says="routes to 2 pods")


def publish_not_ready(c, name):
    """``publishNotReadyAddresses: true``: the EndpointSlice controller
    publishes every selected pod as ready, ready or not (the builder's
    controller does not model it)."""
    c.must("Service", name, "default")["spec"]["publishNotReadyAddresses"] = True
    for s in c.list("EndpointSlice", "default"):
        if s["metadata"]["labels"].get("kubernetes.io/service-name") == name:
            for ep in s.get("endpoints") or []:
                ep["conditions"]["ready"] = not ep["conditions"]["terminating"]


def test_all_passes_when_not_ready_pods_are_published_on_purpose():
    """service1 with publishNotReadyAddresses routes to all 5 pods, one of
    them not ready: exactly all pods of both deployments, so it passes and
    says so (it failed: "routes to 5 ready pods, expected ... (4 pods)")."""
    c, _, p2 = two_deployments()
    c.service("service1", ports=HTTP, selector=APP)
    not_ready(c, p2[:1])
    publish_not_ready(c, "service1")
    out = endpoints(c)
    assert_verdict(out, "passed", says="routes to 5 pods, exactly all pods of deployment1 and deployment2, ready or not")
    assert any("publishNotReadyAddresses" in n.en for n in out.notes)


def test_all_with_published_not_ready_pods_still_fails_for_a_pod_left_out():
    c, p1, p2 = two_deployments()
    # A label added by hand to all pods but one (relabelling a pod out of its
    # Deployment's selector would have it released and replaced instead).
    c.service("service1", ports=HTTP, selector={**APP, "tier": "web"})
    for pod in p1[1:] + p2:
        c.label_pod(pod, {"tier": "web"})
    not_ready(c, p2[:1])
    publish_not_ready(c, "service1")
    assert_verdict(endpoints(c), "failed", says="1 of their pods are missing")


def test_all_fails_for_a_missing_service():
    c, _, _ = two_deployments()
    assert_verdict(endpoints(c), "failed")


def test_an_externalname_service_has_no_endpoints():
    c, _, _ = two_deployments()
    svc = c.service("service1", ports=HTTP, selector=APP)
    svc["spec"].update(type="ExternalName", externalName="example.com")
    assert_verdict(endpoints(c), "failed", says="ExternalName")


# -- service.endpoints: one-of-each -----------------------------------------------------------------

def labelled(c, p1, p2, **kw):
    c.label_pod(p1, SVC2)
    c.label_pod(p2, SVC2)
    c.service("service2", ports=HTTP, selector=SVC2, headless=True, **kw)


def test_one_of_each_passes_with_one_labelled_pod_of_each():
    c, p1, p2 = two_deployments()
    labelled(c, p1[0], p2[0])
    assert_verdict(endpoints(c, "service2", expect="one-of-each"), "passed")


def test_one_of_each_fails_when_service2_covers_all_pods():
    c, _, _ = two_deployments()
    c.service("service2", ports=HTTP, selector=APP, headless=True)
    assert_verdict(endpoints(c, "service2", expect="one-of-each"), "failed", says="routes to 5 ready pods")


def test_one_of_each_fails_with_two_pods_of_one_deployment():
    c, p1, _ = two_deployments()
    labelled(c, p1[0], p1[1])
    assert_verdict(endpoints(c, "service2", expect="one-of-each"), "failed")


@pytest.mark.parametrize("pick", ["first-by-name", "oldest"])
def test_a_strict_pick_passes_for_the_first_pod(pick):
    c, p1, p2 = two_deployments()
    key = (lambda p: p["metadata"]["name"]) if pick == "first-by-name" else (
        lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"]))
    labelled(c, min(p1, key=key), min(p2, key=key))
    assert_verdict(endpoints(c, "service2", expect="one-of-each", pick=pick), "passed")


def test_a_strict_pick_fails_for_another_pod():
    c, p1, p2 = two_deployments()
    labelled(c, max(p1, key=lambda p: p["metadata"]["name"]), min(p2, key=lambda p: p["metadata"]["name"]))
    assert_verdict(endpoints(c, "service2", expect="one-of-each", pick="first-by-name"), "failed",
                   says="not the first-by-name pod of deployment1")


def test_hand_written_endpoints_without_a_selector_fail():
    c, p1, p2 = two_deployments()
    c.service("service2", ports=HTTP, selector=None, headless=True)
    c.endpoints("service2", addresses=[{"ip": p["status"]["podIP"], "targetRef": pod_ref(p)} for p in (p1[0], p2[0])],
                ports=[{"port": 80, "protocol": "TCP"}])
    assert_verdict(endpoints(c, "service2", expect="one-of-each"), "failed", says="no selector")


def test_hand_written_addresses_behind_a_selector_fail():
    """A selector that matches nothing plus a mirrored hand-written slice:
    the addresses were typed, not chosen by labels."""
    c, p1, p2 = two_deployments()
    labelled(c, p1[0], p2[0])
    view = view_of(c)
    for s in view.objects("EndpointSlice", "default"):
        if s["metadata"]["labels"].get("kubernetes.io/service-name") == "service2":
            for ep in s["endpoints"]:
                ep.pop("targetRef", None)
    out = run("service.endpoints", view, name="service2", deployments=BOTH, expect="one-of-each")
    assert_verdict(out, "failed", says="hand-written")


# -- service.target_port ----------------------------------------------------------------------------

def target(c, name="service1", **kw):
    return run("service.target_port", view_of(c), name=name, **kw)


def test_target_port_passes_for_80():
    c = base_cluster()
    c.service("service1", ports=HTTP, selector=APP)
    assert_verdict(target(c), "passed")


def test_target_port_passes_for_the_string_80():
    c = base_cluster()
    c.service("service1", ports=[service_port(8080, "80")], selector=APP)
    assert_verdict(target(c), "passed")


def test_a_named_target_port_resolves_against_the_pods():
    c = base_cluster()
    c.deployment("deployment1", replicas=1, labels=APP,
                 containers=[container("httpd", port=80) | {"ports": [{"containerPort": 80, "name": "web", "protocol": "TCP"}]}])
    c.service("service1", ports=[service_port(80, "web")], selector=APP)
    assert_verdict(target(c), "passed", says="named port web")


def test_a_named_target_port_that_no_pod_declares_fails():
    c = base_cluster()
    c.deployment("deployment1", replicas=1, image="httpd", labels=APP)
    c.service("service1", ports=[service_port(80, "www")], selector=APP)
    assert_verdict(target(c), "failed")


def test_target_port_fails_for_the_wrong_port_and_ignores_udp():
    c = base_cluster()
    c.service("service1", ports=[service_port(80, 8080), {"port": 80, "targetPort": 80, "protocol": "UDP", "name": "u"}],
              selector=APP)
    out = target(c)
    assert_verdict(out, "failed")
    assert "80→8080/TCP" in out.observed.en


def test_a_headless_service_without_ports_passes():
    c = base_cluster()
    c.service("service2", ports=[], selector=SVC2, headless=True)
    assert_verdict(target(c, "service2"), "passed", says="headless")


def test_a_clusterip_service_without_ports_fails():
    c = base_cluster()
    svc = c.service("service1", ports=HTTP, selector=APP)
    svc["spec"]["ports"] = []
    assert_verdict(target(c), "failed", says="no ports")


def test_target_port_fails_for_a_missing_service():
    assert_verdict(target(base_cluster()), "failed")


# -- service.headless -------------------------------------------------------------------------------

def test_headless_passes_for_cluster_ip_none():
    c = base_cluster()
    c.service("service2", ports=HTTP, selector=SVC2, headless=True)
    assert_verdict(run("service.headless", view_of(c), name="service2"), "passed")


def test_headless_fails_for_a_cluster_ip_service():
    c = base_cluster()
    c.service("service2", ports=HTTP, selector=SVC2)
    out = run("service.headless", view_of(c), name="service2")
    assert_verdict(out, "failed")
    assert out.observed.en.startswith("clusterIP: 10.")


def test_headless_fails_for_a_missing_service():
    assert_verdict(run("service.headless", view_of(base_cluster()), name="service2"), "failed")


def test_one_of_each_over_pods_relabelled_out_of_their_deployments_names_the_release():
    """``kubectl label pod <first pod> app=service2 --overwrite`` on one pod of each: the
    ReplicaSets release them (and start replacements), so service2 routes to no Deployment's
    pods. It fails, and says why instead of calling them bare pods the student never made."""
    c = base_cluster()
    d1 = c.deployment("deployment1", replicas=2, image="httpd", labels={"app": "deployment1"})
    d2 = c.deployment("deployment2", replicas=3, image="httpd", labels={"app": "deployment2"})
    firsts = [c.pods_of(d1)[0], c.pods_of(d2)[0]]
    for pod in firsts:
        c.label_pod(pod, {"app": "service2"})
    assert len(c.pods_of(d1)) == 2 and len(c.pods_of(d2)) == 3
    c.service("service2", ports=HTTP, selector={"app": "service2"}, headless=True)
    out = run("service.endpoints", view_of(c), name="service2", deployments=BOTH, expect="one-of-each")
    assert_verdict(out, "failed", says="released by deployment1 when relabelled out of its selector")
    assert "bare pod" not in out.message.en
    assert "脱离 deployment2" in out.message.zh


def test_a_headless_service2_without_ports_routes_to_its_two_pods():
    """``clusterIP: None`` and a selector, no ports (valid for a headless Service): the
    controllers list the pods in a portless EndpointSlice and CoreDNS names them, so step 5's
    wget reaches them on :80. The builder left them out of both (no backends at all)."""
    c = base_cluster()
    d1 = c.deployment("deployment1", replicas=2, image="httpd", labels={**APP, "deploy": "deployment1"})
    d2 = c.deployment("deployment2", replicas=3, image="httpd", labels={**APP, "deploy": "deployment2"})
    c.label_pod(c.pods_of(d1)[0], SVC2)
    c.label_pod(c.pods_of(d2)[0], SVC2)
    c.service("service2", ports=[], selector=SVC2, headless=True)
    out = run("service.endpoints", view_of(c), name="service2", deployments=BOTH, expect="one-of-each")
    assert_verdict(out, "passed")
    assert_verdict(run("service.target_port", view_of(c), name="service2"), "passed", says="without ports")
