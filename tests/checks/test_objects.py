"""object.exists / object.absent / object.matches: any kind, by name or
selector. One case per branch, each a tiny cluster from tests/builders.py."""
from __future__ import annotations

from grader.view import build_view
from tests.builders import base_cluster, container, service_port
from tests.checks.verdict import assert_verdict, run, view_of

HTTP = [service_port(80, 80, name="http")]


def lab():
    c = base_cluster()
    c.deployment("web", replicas=2, image="httpd", labels={"app": "web"})
    c.service("web", ports=HTTP, selector={"app": "web"}, labels={"tier": "front"})
    c.service("web-headless", ports=HTTP, selector={"app": "web"}, headless=True, labels={"tier": "front"})
    return c


# -- object.exists ----------------------------------------------------------------

def test_exists_passes_by_name_for_any_kind_spelling():
    assert_verdict(run("object.exists", view_of(lab()), kind="svc", name="web"), "passed", says="Service web exists")


def test_exists_fails_naming_what_the_namespace_has():
    o = run("object.exists", view_of(lab()), kind="Service", name="wbe")
    assert_verdict(o, "failed", says="no Service wbe in namespace default")
    assert "web-headless" in o.observed.en


def test_exists_by_selector_passes_and_counts():
    v = view_of(lab())
    assert_verdict(run("object.exists", v, kind="Service", selector="tier=front"), "passed")
    assert_verdict(run("object.exists", v, kind="Service", selector={"tier": "front"}, count=2), "passed")
    assert_verdict(run("object.exists", v, kind="Service", selector="tier=front", count=3), "failed", says="expected 3")


def test_exists_by_selector_that_matches_nothing_fails():
    assert_verdict(run("object.exists", view_of(lab()), kind="Service", selector="tier in (back,db)"), "failed",
                   says="no Services labelled")


def test_exists_fails_for_an_object_being_deleted():
    c = lab()
    pod = c.list("Pod", "default")[0]
    c.delete_pod(pod)
    assert_verdict(run("object.exists", view_of(c), kind="Pod", name=pod["metadata"]["name"]), "failed",
                   says="being deleted")


def test_exists_needs_exactly_one_of_name_and_selector():
    assert_verdict(run("object.exists", view_of(lab()), kind="Service"), "error")
    assert_verdict(run("object.exists", view_of(lab()), kind="Service", name="web", selector="a=b"), "error")


def test_exists_with_a_broken_selector_is_an_error():
    assert_verdict(run("object.exists", view_of(lab()), kind="Service", selector="a=b,(("), "error", says="selector")


def test_exists_on_a_dump_without_the_kind_is_an_error_not_a_failure():
    v = view_of(lab(), kinds=("Pod",))
    assert_verdict(run("object.exists", v, kind="ConfigMap", name="x"), "error")


def test_exists_for_a_cluster_scoped_kind_ignores_the_namespace():
    assert_verdict(run("object.exists", view_of(lab()), kind="Namespace", name="kube-system"), "passed")


def test_exists_finds_custom_resources():
    widget = {"apiVersion": "example.com/v1", "kind": "Widget",
              "metadata": {"name": "w1", "namespace": "default", "uid": "u-w1"}, "spec": {"size": 3}}
    v = build_view([widget], kinds=("Widget",))
    assert_verdict(run("object.exists", v, kind="Widget", name="w1"), "passed")
    assert_verdict(run("object.matches", v, kind="Widget", name="w1", expect={"spec": {"size": "(> 2)"}}), "passed")


# -- object.absent ------------------------------------------------------------------

def test_absent_passes_when_gone():
    assert_verdict(run("object.absent", view_of(lab()), kind="Service", names=["gone1", "gone2"]), "passed")


def test_absent_gives_partial_credit_per_name():
    o = run("object.absent", view_of(lab()), kind="Service", names=["web", "gone"])
    assert_verdict(o, "failed", 0.5, says="1 Service(s) still present: web")
    o = run("object.absent", view_of(lab()), kind="Service", names=["web", "gone", "also-gone"])
    assert_verdict(o, "failed", 2 / 3, says="1 Service(s) still present: web")  # not 0.6667: points x 0.6667 is off


def test_absent_counts_terminating_objects_as_gone_with_a_note():
    c = lab()
    pod = c.list("Pod", "default")[0]
    c.delete_pod(pod)
    o = run("object.absent", view_of(c), kind="Pod", name=pod["metadata"]["name"])
    assert_verdict(o, "passed")
    assert "being deleted" in o.notes[0].en


def test_absent_by_selector_fails_with_no_partial_credit():
    assert_verdict(run("object.absent", view_of(lab()), kind="Service", selector="tier=front"), "failed", 0.0)
    assert_verdict(run("object.absent", view_of(lab()), kind="Service", selector="tier=none"), "passed")


def test_absent_needs_names_or_a_selector():
    assert_verdict(run("object.absent", view_of(lab()), kind="Service"), "error")
    assert_verdict(run("object.absent", view_of(lab()), kind="Service", name="a", selector="b=c"), "error")


def test_absent_with_a_broken_selector_is_an_error():
    assert_verdict(run("object.absent", view_of(lab()), kind="Service", selector="!"), "error")


def test_a_selector_map_value_yaml_read_as_a_boolean_or_a_float_is_an_error_not_a_pass():
    # `selector: {managed: true}` matched no label ("True"): absent passed with the objects still there
    c = lab()
    c.service("extra", ports=HTTP, selector={"app": "web"}, labels={"managed": "true", "v": "1.10"})
    for bad in ({"managed": True}, {"v": 1.1}, {"managed": None}):
        for use in ("object.absent", "object.exists"):
            assert_verdict(run(use, view_of(c), kind="Service", selector=bad), "error", says="must be quoted text")
    assert_verdict(run("object.absent", view_of(c), kind="Service", selector={"managed": "true"}), "failed")


def test_a_selector_map_whole_number_reads_as_written():
    c = lab()
    c.service("extra", ports=HTTP, selector={"app": "web"}, labels={"tier": "2"})
    assert_verdict(run("object.exists", view_of(c), kind="Service", selector={"tier": 2}), "passed")


# -- object.matches -----------------------------------------------------------------

def test_matches_passes_when_every_leaf_matches():
    o = run("object.matches", view_of(lab()), kind="Service", name="web-headless",
            expect={"spec": {"clusterIP": "None", "ports": [{"name": "http", "port": 80}]}})
    assert_verdict(o, "passed", says="all 3 fields match")


def test_matches_fails_naming_each_leaf_with_path_expected_and_observed():
    o = run("object.matches", view_of(lab()), kind="Service", name="web",
            expect={"spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": "(>= 30000)"}]}})
    assert_verdict(o, "failed", 0.0, says='spec.type expected "NodePort", saw "ClusterIP"')
    assert "spec.ports[0].nodePort: <absent>" in o.observed.en
    assert 'spec.ports[0].nodePort = "(>= 30000)"' in o.expected.en


def test_matches_gives_credit_per_leaf_when_asked():
    o = run("object.matches", view_of(lab()), kind="Service", name="web", partial=True,
            expect={"spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": "(>= 30000)"}]}})
    assert_verdict(o, "failed", 1 / 3)


def test_matches_with_an_empty_tree_is_the_rubrics_error_not_a_pass():
    o = run("object.matches", view_of(lab()), kind="Service", name="web", expect={})
    assert_verdict(o, "error", says="any object would match")


def test_matches_uses_the_rubrics_wording():
    o = run("object.matches", view_of(lab()), kind="Service", name="web", expect={"spec": {"type": "NodePort"}},
            what={"zh": "NodePort 设置", "en": "the NodePort settings"})
    assert o.message.en.startswith("the NodePort settings does not match") and o.message.zh.startswith("NodePort 设置")


def test_matches_partial_credit_counts_every_leaf_of_a_missing_subtree():
    # status.loadBalancer.ingress is absent on a ClusterIP Service: its two leaves count, not one
    expect = {"metadata": {"labels": {"tier": "front"}}, "spec": {"type": "ClusterIP"},
              "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4", "ipMode": "VIP"}]}}}
    o = run("object.matches", view_of(lab()), kind="Service", name="web", expect=expect, partial=True)
    assert_verdict(o, "failed", 0.5, says="status.loadBalancer.ingress[0].ip expected")
    assert o.notes[0].en == "2 of 4 fields match"


def test_matches_by_selector_checks_every_object():
    o = run("object.matches", view_of(lab()), kind="Service", selector="tier=front", expect={"spec": {"clusterIP": "None"}})
    assert_verdict(o, "failed", says="web:spec.clusterIP")


def test_matches_a_missing_object_fails():
    assert_verdict(run("object.matches", view_of(lab()), kind="Service", name="nope", expect={"spec": {}}), "failed",
                   says="no Service nope")
    assert_verdict(run("object.matches", view_of(lab()), kind="Service", selector="x=y", expect={"spec": {}}), "failed")


def test_matches_with_a_bad_tree_or_target_is_an_error():
    v = view_of(lab())
    assert_verdict(run("object.matches", v, kind="Service", name="web", expect={"spec": {"type": "(bad(@,)"}}), "error")
    assert_verdict(run("object.matches", v, kind="Service", expect={"spec": {}}), "error")
    assert_verdict(run("object.matches", v, kind="Service", selector="((", expect={"spec": {}}), "error")


def test_exists_accepts_any_of_several_kinds():
    c = lab()
    v = view_of(c)
    assert_verdict(run("object.exists", v, kind=["StatefulSet", "Deployment"], name="web"), "passed", says="Deployment web")
    assert_verdict(run("object.exists", v, kind=["Deployment", "Service"], name="nope"), "failed", says="no Deployment nope")
    assert_verdict(run("object.exists", v, kind=[], name="web"), "error")


def test_exists_among_kinds_a_dump_never_listed_is_an_error_not_a_failure():
    v = view_of(lab())  # the README's kinds: no StatefulSets
    assert_verdict(run("object.exists", v, kind=["Deployment", "StatefulSet"], name="web"), "passed")
    assert_verdict(run("object.exists", v, kind=["Deployment", "StatefulSet"], name="nope"), "error")


def _run_with(use: str, view, params: dict):
    """Like verdict.run, for params that include the check's own ``namespace``
    (verdict.run takes ``namespace`` as the lab's)."""
    from checks.registry import CheckContext
    from grader.engine import run_check
    from grader.i18n import Text
    from grader.rubric import CheckDef

    ctx = CheckContext(view=view, views={"built": view}, namespace="default", phase="built")
    return run_check(CheckDef(use, use, params, 1.0, Text(use, use), Text("", ""), (), 0), ctx)


def test_a_selector_in_another_namespace_is_an_error_a_name_there_is_read_by_name():
    from checks import select

    v = view_of(lab())
    for use in ("object.exists", "object.absent"):
        assert_verdict(_run_with(use, v, {"kind": "Service", "selector": "tier=front", "namespace": "kube-system"}),
                       "error", says="lab namespace only")
    assert_verdict(_run_with("object.matches", v, {"kind": "Service", "selector": "a=b", "namespace": "x", "expect": {}}),
                   "error")
    assert_verdict(_run_with("object.exists", v, {"kind": "Service", "name": "kube-dns", "namespace": "kube-system"}),
                   "passed")
    assert_verdict(_run_with("object.absent", v, {"kind": "Service", "names": ["kube-dns"], "namespace": "kube-system"}),
                   "failed")
    assert select.reads_of({"kind": "svc", "names": ["a", "b"], "namespace": "kube-system"}) == \
        ("Service:kube-system/a", "Service:kube-system/b")
    assert select.reads_of({"kind": ["Deployment", "sts"], "name": "web"}) == ("Deployment", "StatefulSet")


def test_matches_an_expression_on_a_field_the_student_left_out_fails_not_errors():
    o = run("object.matches", view_of(lab()), kind="Service", name="web",
            expect={"metadata": {"annotations": {"note": "(contains(@, 'web'))"}}})
    assert_verdict(o, "failed", says="metadata.annotations.note expected")


def test_matches_with_exact_lists_fails_a_list_with_more_than_the_tree():
    v = view_of(lab())  # web has one port; ask for exactly none of the others
    expect = {"spec": {"ports": [{"port": 80}]}}
    assert_verdict(run("object.matches", v, kind="Service", name="web", expect=expect, exact_lists=True), "passed")
    c = lab()
    c.service("two", ports=[*HTTP, service_port(443, 8443, name="https")], selector={"app": "web"})
    o = run("object.matches", view_of(c), kind="Service", name="two", expect=expect, exact_lists=True)
    assert_verdict(o, "failed", says="length(spec.ports) expected 1, saw 2")
    assert_verdict(run("object.matches", view_of(c), kind="Service", name="two", expect=expect), "passed")


def test_matches_fills_in_the_lab_namespace():
    c = base_cluster()
    c.namespace("lab-42")
    c.service("web", namespace="lab-42", ports=HTTP, selector={"app": "web"})
    v = view_of(c)
    expect = {"metadata": {"namespace": "{{ namespace }}"}}
    assert_verdict(run("object.matches", v, kind="Service", name="web", expect=expect, namespace="lab-42"), "passed")
    c.service("web", ports=HTTP, selector={"app": "web"})
    o = run("object.matches", view_of(c), kind="Service", name="web", expect=expect, namespace="default")
    assert_verdict(o, "passed")


# -- object.matches any_of ------------------------------------------------------------

ENV = {"spec": {"containers": [{"env": [{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "MODE"}}}]}]}}
ENV_FROM = {"spec": {"containers": [{"envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": None}]}]}}


def app_pod(**extra):
    c = base_cluster()
    c.bare_pod("app", containers=[container("busybox", name="app", **extra)])
    return view_of(c)


def test_any_of_passes_by_any_alternative_and_names_it():
    v = app_pod(envFrom=[{"configMapRef": {"name": "cfg"}}])
    o = run("object.matches", v, kind="Pod", name="app", any_of=[ENV, ENV_FROM])
    assert_verdict(o, "passed", says="all 2 fields match (alternative 2 of 2)")
    assert "第 2 种写法" in o.message.zh


def test_any_of_fails_naming_the_closest_alternative_and_its_failing_leaves():
    v = app_pod(envFrom=[{"configMapRef": {"name": "cgf"}}])
    o = run("object.matches", v, kind="Pod", name="app", any_of=[ENV, ENV_FROM])
    assert_verdict(o, "failed", says="Pod app: none of the 2 alternatives matches; closest is alternative 2: "
                                     'spec.containers[0].envFrom[0].configMapRef.name expected "cfg", saw "cgf"')
    assert "最接近的是第 2 种" in o.message.zh and "不符合 2 种写法中的任何一种" in o.message.zh
    assert o.observed.en == 'spec.containers[0].envFrom[0].configMapRef.name: "cgf"'
    assert o.notes[1].en == "compared with: alternative 2 (of 2, the closest)"


def test_any_of_partial_credit_is_the_closest_alternatives_fraction():
    v = app_pod(envFrom=[{"configMapRef": {"name": "cgf"}}])  # 1 of 2 leaves of ENV_FROM, 0 of 3 of ENV
    assert_verdict(run("object.matches", v, kind="Pod", name="app", any_of=[ENV, ENV_FROM], partial=True), "failed", 0.5)


def test_any_of_beside_expect_needs_both():
    v = app_pod(envFrom=[{"configMapRef": {"name": "cfg"}}])
    both = {"any_of": [ENV, ENV_FROM], "kind": "Pod", "name": "app"}
    assert_verdict(run("object.matches", v, expect={"spec": {"restartPolicy": "Always"}}, **both), "passed",
                   says="all 3 fields match")
    o = run("object.matches", v, expect={"spec": {"restartPolicy": "Never"}}, partial=True, **both)
    assert_verdict(o, "failed", 2 / 3, says="does not match: spec.restartPolicy expected")  # the alternative matched


def test_any_of_failure_names_a_leaf_of_the_closest_alternative_not_of_expect_or_another_object():
    v = app_pod(envFrom=[{"configMapRef": {"name": "cgf"}}])
    o = run("object.matches", v, kind="Pod", name="app", expect={"spec": {"restartPolicy": "Never"}}, any_of=[ENV, ENV_FROM])
    assert_verdict(o, "failed", says="closest is alternative 2: spec.containers[0].envFrom[0].configMapRef.name "
                                     'expected "cfg", saw "cgf" (1 more fields differ)')
    assert '最接近的是第 2 种：spec.containers[0].envFrom[0].configMapRef.name 应为 "cfg"' in o.message.zh
    c = base_cluster()
    c.bare_pod("a", labels={"role": "app"}, containers=[container("busybox", name="a", envFrom=[{"configMapRef": {"name": "cfg"}}])])
    c.bare_pod("b", labels={"role": "app"}, containers=[container("busybox", name="b", envFrom=[{"configMapRef": {"name": "x"}}])])
    o = run("object.matches", view_of(c), kind="Pod", selector="role=app", expect={"metadata": {"name": "b"}}, any_of=[ENV, ENV_FROM])
    assert_verdict(o, "failed", says="(b): none of the 2 alternatives matches; closest is alternative 2: "
                                     'b:spec.containers[0].envFrom[0].configMapRef.name expected "cfg", saw "x"')


def test_any_of_by_selector_picks_the_closest_alternative_per_object():
    c = base_cluster()
    c.bare_pod("a", labels={"role": "app"}, containers=[container("busybox", name="a", envFrom=[{"configMapRef": {"name": "cfg"}}])])
    c.bare_pod("b", labels={"role": "app"}, containers=[container("busybox", name="b", env=ENV["spec"]["containers"][0]["env"])])
    o = run("object.matches", view_of(c), kind="Pod", selector="role=app", any_of=[ENV, ENV_FROM])
    assert_verdict(o, "passed", says="(a: alternative 2; b: alternative 1 of 2)")


def test_any_of_that_is_empty_or_missing_or_holds_an_empty_tree_is_the_rubrics_error():
    v = app_pod()
    assert_verdict(run("object.matches", v, kind="Pod", name="app"), "error", says="expect or any_of")
    assert_verdict(run("object.matches", v, kind="Pod", name="app", any_of=[]), "error", says="no alternative")
    assert_verdict(run("object.matches", v, kind="Pod", name="app", any_of=[ENV, {}]), "error", says="any object would match")
