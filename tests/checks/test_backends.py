"""service.backends: the ready endpoints are exactly the right pods, for
any workload kind; hand-written endpoints and bare pods do not count."""
from __future__ import annotations

from tests.builders import base_cluster, pod_ref, service_port
from tests.checks.test_generic_workloads import KINDS
from tests.workload_builders import WEB, statefulset
from tests.checks.verdict import assert_verdict, run, view_of

HTTP = [service_port(80, 80, name="http")]


def two_deployments():
    c = base_cluster()
    d1 = c.deployment("d1", replicas=2, image="httpd", labels={"app": "web", "d": "1"})
    d2 = c.deployment("d2", replicas=2, image="httpd", labels={"app": "web", "d": "2"})
    return c, d1, d2


def test_all_pods_of_a_statefulset():
    c = base_cluster()
    sts = statefulset(c, "web", replicas=3)
    c.service("web", ports=HTTP, selector=WEB, headless=True)
    v = view_of([*c.objects(), sts], kinds=KINDS)
    assert_verdict(run("service.backends", v, name="web", workloads=["StatefulSet/web"]), "passed",
                   says="exactly all ready pods of StatefulSet/web (3)")


def test_all_fails_when_a_workload_is_left_out():
    c, _, _ = two_deployments()
    c.service("web", ports=HTTP, selector={"d": "1"})
    assert_verdict(run("service.backends", view_of(c), name="web", workloads=["d1", "d2"]), "failed",
                   says="web has 2 endpoints, expected all ready pods of Deployment/d1 and Deployment/d2 (4)")


def _not_ready(c, pods):
    for pod in pods:
        for cond in pod["status"]["conditions"]:
            if cond["type"] in ("Ready", "ContainersReady"):
                cond["status"] = "False"
    c._reconcile()


def test_all_fails_when_the_selector_leaves_out_a_workload_whose_pods_are_not_ready():
    """Only d1 is selected and d2's pods are all unready: the ready endpoints
    equal the ready pods, but d2's pods will never be endpoints."""
    c, _, d2 = two_deployments()
    c.service("web", ports=HTTP, selector={"d": "1"})
    _not_ready(c, c.pods_of(d2))
    assert_verdict(run("service.backends", view_of(c), name="web", workloads=["d1", "d2"]), "failed",
                   says="leaves out 2 not-ready pods")


def test_all_passes_when_the_not_ready_pods_are_selected_too():
    c, _, d2 = two_deployments()
    c.service("web", ports=HTTP, selector={"app": "web"})
    _not_ready(c, c.pods_of(d2))
    assert_verdict(run("service.backends", view_of(c), name="web", workloads=["d1", "d2"]), "passed")


def test_all_counts_not_ready_pods_a_service_publishes_on_purpose():
    """publishNotReadyAddresses: the not-ready pod is a ready endpoint, and
    one of the pods asked for."""
    c, _, d2 = two_deployments()
    svc = c.service("web", ports=HTTP, selector={"app": "web"})
    _not_ready(c, c.pods_of(d2)[:1])
    svc["spec"]["publishNotReadyAddresses"] = True
    for s in c.list("EndpointSlice", "default"):
        if s["metadata"]["labels"].get("kubernetes.io/service-name") == "web":
            for ep in s["endpoints"]:
                ep["conditions"]["ready"] = True
    assert_verdict(run("service.backends", view_of(c), name="web", workloads=["d1", "d2"]), "passed",
                   says="4 endpoints are exactly all pods of Deployment/d1 and Deployment/d2, ready or not (4)")


def test_all_fails_when_a_bare_pod_is_selected_too():
    c, _, _ = two_deployments()
    c.bare_pod("stray", image="httpd", labels={"app": "web"}, port=80)
    c.service("web", ports=HTTP, selector={"app": "web"})
    o = run("service.backends", view_of(c), name="web", workloads=["d1", "d2"])
    assert_verdict(o, "failed")
    assert "stray" in o.observed.en


def test_one_of_each():
    c, d1, d2 = two_deployments()
    c.label_pod(c.pods_of(d1)[0], {"pick": "yes"})
    c.label_pod(c.pods_of(d2)[0], {"pick": "yes"})
    c.service("picked", ports=HTTP, selector={"pick": "yes"})
    c.service("everything", ports=HTTP, selector={"app": "web"})
    v = view_of(c)
    assert_verdict(run("service.backends", v, name="picked", workloads=["d1", "d2"], expect="one-of-each"), "passed")
    assert_verdict(run("service.backends", v, name="everything", workloads=["d1", "d2"], expect="one-of-each"), "failed")


def test_exactly_named_pods():
    c = base_cluster()
    sts = statefulset(c, "web", replicas=3)
    c.label_pod("web-0", {"leader": "yes"})
    c.service("leader", ports=HTTP, selector={"leader": "yes"})
    v = view_of([*c.objects(), sts], kinds=KINDS)
    assert_verdict(run("service.backends", v, name="leader", expect={"exactly": ["web-0"]}), "passed")
    assert_verdict(run("service.backends", v, name="leader", expect={"exactly": ["web-1"]}), "failed")


def test_a_selector_that_matches_nothing_says_so():
    c, _, _ = two_deployments()
    c.service("web", ports=HTTP, selector={"app": "wbe"})
    assert_verdict(run("service.backends", view_of(c), name="web", workloads=["d1"]), "failed",
                   says="selector app=wbe matches no pods")


def test_selected_pods_that_are_not_ready_say_so():
    c = base_cluster()
    c.bare_pod("p", image="httpd", labels={"app": "x"}, state="NotReady")
    c.service("web", ports=HTTP, selector={"app": "x"})
    assert_verdict(run("service.backends", view_of(c), name="web", expect={"exactly": ["p"]}), "failed",
                   says="matches 1 pods but none is ready")


def test_hand_written_endpoints_do_not_count():
    c, d1, _ = two_deployments()
    c.service("web", ports=HTTP, selector=None)
    pod = c.pods_of(d1)[0]
    c.endpoints("web", addresses=[{"ip": pod["status"]["podIP"], "targetRef": pod_ref(pod)}], ports=[{"port": 80}])
    assert_verdict(run("service.backends", view_of(c), name="web", workloads=["d1"]), "failed", says="no selector")


def test_an_external_name_service_has_no_endpoints():
    c, _, _ = two_deployments()
    svc = c.service("web", ports=HTTP, selector={"app": "web"})
    svc["spec"]["type"] = "ExternalName"
    assert_verdict(run("service.backends", view_of(c), name="web", workloads=["d1"]), "failed", says="ExternalName")


def test_a_missing_service_fails():
    assert_verdict(run("service.backends", view_of(base_cluster()), name="web", workloads=["d1"]), "failed",
                   says="no Service web")


def test_a_rubric_without_workloads_or_with_a_bad_expect_is_an_error():
    c, _, _ = two_deployments()
    c.service("web", ports=HTTP, selector={"app": "web"})
    v = view_of(c)
    assert_verdict(run("service.backends", v, name="web"), "error")
    assert_verdict(run("service.backends", v, name="web", expect={"some": ["x"]}), "error")


def test_either_kind_of_workload_counts():
    c = base_cluster()
    sts = statefulset(c, "web", replicas=2)
    c.service("web", ports=HTTP, selector=WEB, headless=True)
    v = view_of([*c.objects(), sts], kinds=KINDS)
    assert_verdict(run("service.backends", v, name="web", workloads=["Deployment|StatefulSet/web"]), "passed")
    assert_verdict(run("service.backends", v, name="web", workloads=["Deployment|StatefulSet/web"],
                       expect="one-of-each"), "failed")
