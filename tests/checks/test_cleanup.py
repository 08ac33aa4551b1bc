"""Step 6: the lab's objects are gone and the ``kubernetes`` Service was
left alone. Each case grades a cleaned view against the built one."""
from __future__ import annotations

import copy

from tests.builders import LAB_START, base_cluster, service_port
from tests.checks.verdict import assert_verdict, run, view_of

APP = {"app": "httpd"}
HTTP = [service_port(80, 80)]


def built_lab():
    c = base_cluster()
    c.clock.set(LAB_START)
    c.deployment("deployment1", replicas=2, image="httpd", labels={**APP, "deploy": "deployment1"})
    c.service("service1", ports=HTTP, selector=APP)
    c.bare_pod("clientpod", image="busybox", args=["sleep", "3600"])
    c.clock.advance(300)
    return c, view_of(copy.deepcopy(c.objects()))


def cleaned(c, built, use, **params):
    return run(use, view_of(c, phase="cleaned"), phase="cleaned", views={"built": built}, **params)


# -- cleanup.deleted --------------------------------------------------------------------------------

def test_deleted_passes_when_everything_is_gone():
    c, built = built_lab()
    c.delete_deployment("deployment1")
    c.delete_service("service1")
    c.delete_pod("clientpod", linger=False)
    assert_verdict(cleaned(c, built, "cleanup.deleted", kind="Deployment", names=["deployment1"]), "passed")
    assert_verdict(cleaned(c, built, "cleanup.deleted", kind="Service", names=["service1"]), "passed")
    assert_verdict(cleaned(c, built, "cleanup.deleted", kind="Pod", names=["clientpod"], owned_by=["deployment1"]),
                   "passed")


def test_deleted_gives_partial_credit_per_object_left():
    c, built = built_lab()
    c.service("service2", ports=HTTP, selector=APP)
    built = view_of(copy.deepcopy(c.objects()))
    c.delete_service("service1")
    out = cleaned(c, built, "cleanup.deleted", kind="Service", names=["service1", "service2"])
    assert_verdict(out, "failed", 0.5, says="service2")


def test_objects_being_deleted_count_as_gone_with_a_note():
    c, built = built_lab()
    c.delete_pod("clientpod", linger=True)
    out = cleaned(c, built, "cleanup.deleted", kind="Pod", names=["clientpod"])
    assert_verdict(out, "passed")
    assert any("clientpod" in n.en for n in out.notes)


def test_pods_of_a_deleted_deployment_still_running_are_found_by_uid():
    """The Deployment and ReplicaSet are gone but its pods were orphaned
    (``--cascade=orphan``): the built view knows they were deployment1's."""
    c, built = built_lab()
    pods = [copy.deepcopy(p) for p in c.list("Pod", "default") if p["metadata"]["name"].startswith("deployment1-")]
    for p in pods:
        p["metadata"].pop("ownerReferences")
    c.delete_deployment("deployment1")
    view = view_of(c.objects() + pods, phase="cleaned")
    out = run("cleanup.deleted", view, phase="cleaned", views={"built": built}, kind="Pod", owned_by=["deployment1"])
    assert_verdict(out, "failed", 0.0, says="2 Pod(s) still present")


def test_pods_released_by_relabelling_and_left_running_are_not_cleaned_up():
    """``kubectl label pod <deployment1 pod> app=service2 --overwrite`` (to
    build service2) takes the pod out of the ReplicaSet's selector: it is
    released, keeps running and survives ``kubectl delete deployment``.
    They were counted as deleted (no owner, not deployment1's in the built
    view either); their generateName and pod-template-hash still say whose
    they were."""
    c = base_cluster()
    c.clock.set(LAB_START)
    dep = c.deployment("deployment1", replicas=2, image="httpd", labels={"app": "deployment1"})
    first = c.pods_of(dep)[0]
    c.label_pod(first, {"app": "service2"})
    assert "ownerReferences" not in first["metadata"] and len(c.pods_of(dep)) == 2  # released and replaced
    c.bare_pod("clientpod", image="busybox", args=["sleep", "3600"])
    c.clock.advance(300)
    built = view_of(copy.deepcopy(c.objects()))
    c.delete_deployment("deployment1")
    c.delete_pod("clientpod", linger=False)
    assert [p["metadata"]["name"] for p in c.list("Pod", "default")] == [first["metadata"]["name"]]
    out = cleaned(c, built, "cleanup.deleted", kind="Pod", names=["clientpod"], owned_by=["deployment1"])
    assert_verdict(out, "failed", 3 / 4, says=f"1 Pod(s) still present: {first['metadata']['name']}")
    # Without any earlier view too.
    out = run("cleanup.deleted", view_of(c, phase="cleaned"), phase="cleaned", kind="Pod", owned_by=["deployment1"])
    assert_verdict(out, "failed", says=first["metadata"]["name"])


def test_a_bare_pod_named_like_a_deployments_pod_is_not_taken_for_a_released_one():
    """No pod-template-hash label (``kubectl run deployment1-abc``-style), or one that does not
    match the generateName: not the Deployment's."""
    c, built = built_lab()
    c.delete_deployment("deployment1")
    c.delete_pod("clientpod", linger=False)
    c.bare_pod("deployment1-7d9c8b6f5-x2x2x", image="httpd", labels={"pod-template-hash": "other"})
    c.must("Pod", "deployment1-7d9c8b6f5-x2x2x", "default")["metadata"]["generateName"] = "deployment1-7d9c8b6f5-"
    assert_verdict(cleaned(c, built, "cleanup.deleted", kind="Pod", names=["clientpod"], owned_by=["deployment1"]),
                   "passed")


def test_partial_credit_is_the_exact_fraction_of_the_points():
    """clientpod deleted, deployment1's two pods orphaned: one of three gone
    is 1 of 3 points. The score was rounded to 0.3333 first, so the report
    said 0.9999 (and 89.4999 of 100 is below a --fail-under 89.5)."""
    c, built = built_lab()
    pods = [copy.deepcopy(p) for p in c.list("Pod", "default") if p["metadata"]["name"].startswith("deployment1-")]
    for p in pods:
        p["metadata"].pop("ownerReferences")
    c.delete_deployment("deployment1")
    c.delete_pod("clientpod", linger=False)
    view = view_of(c.objects() + pods, phase="cleaned")
    out = run("cleanup.deleted", view, phase="cleaned", views={"built": built}, kind="Pod", names=["clientpod"],
              owned_by=["deployment1"])
    assert_verdict(out, "failed", 1 / 3, says="2 Pod(s) still present")
    assert round(3 * out.score, 4) == 1.0  # the engine's earned points for a 3-point check


def test_orphans_are_recognised_by_their_replicaset_name_without_a_built_view():
    c, _ = built_lab()
    pods = [copy.deepcopy(p) for p in c.list("Pod", "default") if p["metadata"]["name"].startswith("deployment1-")]
    c.delete_deployment("deployment1")
    view = view_of(c.objects() + pods[:1], phase="cleaned")
    out = run("cleanup.deleted", view, phase="cleaned", kind="Pod", owned_by=["deployment1"])
    assert_verdict(out, "failed", says="1 Pod(s) still present")


# -- cleanup.kubernetes_service_intact --------------------------------------------------------------

def intact(c, built=None):
    views = {"built": built} if built is not None else {}
    return run("cleanup.kubernetes_service_intact", view_of(c, phase="cleaned"), phase="cleaned", views=views)


def test_intact_passes_with_the_same_uid_as_in_the_built_phase():
    c, built = built_lab()
    assert_verdict(intact(c, built), "passed")


def test_intact_fails_when_the_uid_changed():
    c, built = built_lab()
    c.recreate_kubernetes_service()
    out = intact(c, built)
    assert_verdict(out, "failed", says="was deleted")


def test_intact_fails_when_the_service_is_gone():
    c, built = built_lab()
    c._drop(c.must("Service", "kubernetes", "default"))
    assert_verdict(intact(c, built), "failed", says="not yet re-created")


def test_without_an_earlier_view_a_young_service_fails_by_creation_time():
    c, _ = built_lab()
    c.clock.advance(3600)
    c.recreate_kubernetes_service()
    out = intact(c)
    assert_verdict(out, "failed", says="much younger")
    assert out.notes  # says it judged by creation time


def test_without_an_earlier_view_a_service_as_old_as_default_passes_with_a_note():
    c, _ = built_lab()
    out = intact(c)
    assert_verdict(out, "passed")
    assert out.notes


def test_a_dump_that_never_looked_at_default_is_an_error():
    c, _ = built_lab()
    objects = [o for o in c.objects() if o["metadata"].get("namespace") not in ("default",) and o["kind"] != "Namespace"]
    view = view_of(objects, phase="cleaned")
    out = run("cleanup.kubernetes_service_intact", view, phase="cleaned")
    assert_verdict(out, "error", says="-A")


def test_without_creation_times_it_cannot_tell():
    c, _ = built_lab()
    c.must("Service", "kubernetes", "default")["metadata"].pop("creationTimestamp")
    assert_verdict(intact(c), "error", says="cannot tell")
