"""selector.picks: an object's label selector picks the pods of the named
workloads (by ownership), whatever way it is written; and the
metav1.LabelSelector matching it rests on (checks/select.py). One case per
branch, each a tiny cluster from tests/builders.py."""
from __future__ import annotations

import pytest

from checks import select
from checks.selectors import picks_reads
from tests.builders import KIND_ORDER, Cluster, base_cluster, service_port
from tests.checks.verdict import assert_verdict, run, view_of
from tests.workload_builders import network_policy, pod_disruption_budget

KINDS = (*KIND_ORDER, "StatefulSet", "NetworkPolicy", "PodDisruptionBudget")
BACKEND = {"matchLabels": {"app": "backend"}}


def lab() -> Cluster:
    """backend (2 pods), and two bare pods: client (role=client) and other."""
    c = base_cluster()
    c.deployment("backend", replicas=2, image="nginx", labels={"app": "backend"})
    c.bare_pod("client", image="busybox", labels={"role": "client"})
    c.bare_pod("other", image="busybox")
    return c


def picks(c: Cluster, *extra: dict, kind: str = "NetworkPolicy", name: str = "np", **params):
    return run("selector.picks", view_of([*c.objects(), *extra], kinds=KINDS), kind=kind, name=name, **params)


# -- metav1.LabelSelector --------------------------------------------------------

@pytest.mark.parametrize("selector, labels, picked", [
    ({"matchLabels": {"app": "web"}}, {"app": "web", "x": "1"}, True),
    ({"matchLabels": {"app": "web"}}, {"app": "db"}, False),
    ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "db"]}]}, {"app": "db"}, True),
    ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, {}, True),  # a missing key is not in
    ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, {"app": "web"}, False),
    ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, {"app": ""}, True),
    ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, {"app": "web"}, False),
    ({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]},
     {"app": "web"}, False),  # ANDed
    ({}, {"anything": "x"}, True),  # the empty selector picks everything
])
def test_label_selector_has_the_apis_meaning(selector, labels, picked):
    assert select.label_selector(selector)(labels) is picked
    assert select.parse_selector(selector)(labels) is picked  # object.exists takes this form too


@pytest.mark.parametrize("selector, words", [
    ({"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["a"]}]}, "needs a key and an operator"),
    ({"matchExpressions": [{"key": "app", "operator": "In"}]}, "In and NotIn need values"),
    ({"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["a"]}]}, "take no values"),
    ({"matchLabels": {"app": "a"}, "podSelector": {}}, "holds only matchLabels and matchExpressions"),
    ({"matchExpressions": [{"key": "app", "operator": "In", "values": "web"}]}, "app In: values must be a list, not 'web'"),
    ({"matchExpressions": {"key": "app", "operator": "Exists"}}, "matchExpressions must be a list of requirements"),
])
def test_a_label_selector_the_api_server_would_refuse_cannot_be_read(selector, words):
    with pytest.raises(select.BadSelector, match=words):
        select.label_selector(selector)


def test_a_label_selector_reads_as_kubectl_would_take_it():
    assert select.label_selector_text({"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "tier", "operator": "NotIn", "values": ["a", "b"]}, {"key": "legacy", "operator": "DoesNotExist"}]}) \
        == "app=web,tier notin (a,b),!legacy"
    assert select.label_selector_text({}) == "{}"


# -- selector.picks ----------------------------------------------------------------

def test_picks_passes_for_a_selector_that_picks_exactly_the_workloads_pods():
    o = picks(lab(), network_policy("np", pod_selector=BACKEND), exactly=["Deployment/backend"])
    assert_verdict(o, "passed", says="spec.podSelector (app=backend) picks exactly the pods of Deployment/backend")
    assert o.observed.en.startswith("picks 2 pods: backend-")


def test_picks_passes_for_match_expressions_that_pick_the_same_pods():
    sel = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["backend"]}]}
    assert_verdict(picks(lab(), network_policy("np", pod_selector=sel), exactly=["backend"]), "passed",
                   says="(app in (backend))")


def test_picks_fails_a_selector_that_leaves_out_the_workloads_pods():
    o = picks(lab(), network_policy("np", pod_selector={"matchLabels": {"app": "bakend"}}), exactly=["Deployment/backend"])
    assert_verdict(o, "failed", says="(app=bakend) leaves out 2 pods of Deployment/backend: backend-")
    assert o.observed.en == "picks no pods" and "没有选中 Deployment/backend 的 2 个 Pod" in o.message.zh


def test_picks_fails_an_empty_selector_for_exactly_it_picks_every_pod_but_it_includes():
    policy = network_policy("np", pod_selector={})
    o = picks(lab(), policy, exactly=["Deployment/backend"])
    assert_verdict(o, "failed", says="({}) also picks 2 pods that are not Deployment/backend's: client, other")
    assert_verdict(picks(lab(), policy, includes=["Deployment/backend"]), "passed", says="picks all of the pods of")


def test_picks_fails_a_selector_that_picks_an_excluded_pod():
    sel = {"matchExpressions": [{"key": "role", "operator": "NotIn", "values": ["client"]}]}  # backend and other
    o = picks(lab(), network_policy("np", pod_selector=sel), includes=["backend"], excludes=["Pod/client", "Pod/other"])
    assert_verdict(o, "failed", says="picks 1 pod of Pod/other: other")
    assert_verdict(picks(lab(), network_policy("np", pod_selector=sel), excludes=["Pod/client"]), "passed",
                   says="picks none of pod client")


def test_picks_counts_pods_by_ownership_not_labels():
    c = lab()
    c.bare_pod("lookalike", image="nginx", labels={"app": "backend"})
    o = picks(c, network_policy("np", pod_selector=BACKEND), exactly=["Deployment/backend"])
    assert_verdict(o, "failed", says="also picks 1 pod that is not Deployment/backend's: lookalike")


def test_picks_a_missing_selector_picks_no_pods():
    policy = network_policy("np", pod_selector=BACKEND, ingress=[{"from": [{"namespaceSelector": {}}]}])
    o = picks(lab(), policy, path="spec.ingress[0].from[0].podSelector", exactly=["Pod/client"])
    assert_verdict(o, "failed", says="spec.ingress[0].from[0].podSelector is missing, so it picks no pods")


def test_picks_reads_a_peer_selector_at_a_path():
    policy = network_policy("np", pod_selector=BACKEND, ingress=[{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}]}])
    assert_verdict(picks(lab(), policy, path="spec.ingress[0].from[0].podSelector", exactly=["Pod/client"]), "passed",
                   says="picks exactly pod client")


def test_picks_reads_a_services_plain_map_where_empty_picks_nothing():
    c = lab()
    c.service("backend", ports=[service_port(80)], selector={"app": "backend"})
    assert_verdict(picks(c, kind="Service", name="backend", exactly=["backend"]), "passed", says="(app=backend)")
    c.service("manual", ports=[service_port(80)])
    assert_verdict(picks(c, kind="Service", name="manual", includes=["backend"]), "failed",
                   says="spec.selector is missing, so it picks no pods")


def test_picks_reads_a_pod_disruption_budgets_selector():
    pdb = pod_disruption_budget("backend", selector={"matchLabels": {"app": "backend"}})
    assert_verdict(picks(lab(), pdb, kind="PodDisruptionBudget", name="backend", exactly=["backend"]), "passed")


def test_picks_judges_a_workload_without_pods_by_its_pod_template():
    c = lab()
    c.deployment("idle", replicas=0, image="httpd", labels={"app": "idle"})
    o = picks(c, network_policy("np", pod_selector={"matchLabels": {"app": "idle"}}), exactly=["idle"])
    assert_verdict(o, "passed")
    assert "judged by its pod template's labels" in o.notes[0].en
    o = picks(c, network_policy("np", pod_selector=BACKEND), includes=["idle"])
    assert_verdict(o, "failed", says="does not pick the pod template of Deployment/idle (it has no pods yet)")
    o = picks(c, network_policy("np", pod_selector={}), excludes=["idle"])  # {} picks every pod, idle's to come too
    assert_verdict(o, "failed", says="picks the pod template of Deployment/idle (it has no pods yet)")
    assert "选中了 Deployment/idle 的 Pod 模板的标签" in o.message.zh


@pytest.mark.parametrize("params", [{"includes": ["Pod/client"]}, {"exactly": ["Pod/client"]}])
def test_picks_judges_a_named_pod_that_has_finished_by_its_labels(params):
    c = lab()
    client = next(p for p in c.list("Pod", "default") if p["metadata"]["name"] == "client")
    client["status"]["phase"] = "Succeeded"  # it ran its command once and exited
    peer = "spec.ingress[0].from[0].podSelector"
    wrong = network_policy("np", pod_selector=BACKEND, ingress=[{"from": [{"podSelector": {"matchLabels": {"role": "nobody"}}}]}])
    assert_verdict(picks(c, wrong, path=peer, **params), "failed", says="leaves out 1 pod of Pod/client: client")
    right = network_policy("np", pod_selector=BACKEND, ingress=[{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}]}])
    o = picks(c, right, path=peer, **params)
    assert_verdict(o, "passed")
    assert o.observed.en == "picks 1 pod: client"
    assert o.notes[0].en == "Pod/client has finished or is being deleted: judged by its labels"
    o = picks(c, right, path=peer, excludes=["Pod/client"])
    assert_verdict(o, "failed", says="picks 1 pod of Pod/client: client")


def test_picks_fails_when_a_named_workload_or_the_object_is_missing():
    policy = network_policy("np", pod_selector=BACKEND)
    o = picks(lab(), policy, exactly=["StatefulSet|Deployment/db"])
    assert_verdict(o, "failed", says="no StatefulSet or Deployment db in namespace default")
    assert "命名空间 default 中没有 StatefulSet或Deployment db" in o.message.zh
    assert_verdict(picks(lab(), policy, name="nope", exactly=["backend"]), "failed", says="no NetworkPolicy nope")


def test_picks_an_excluded_workload_that_does_not_exist_is_left_out_with_a_note():
    o = picks(lab(), network_policy("np", pod_selector=BACKEND), excludes=["Pod/ghost"])
    assert_verdict(o, "passed")
    assert o.notes[0].en == "Pod/ghost does not exist: there are no pods to leave out"


def test_picks_gives_partial_credit_per_workload_and_for_no_other_pod():
    sel = {"matchExpressions": [{"key": "app", "operator": "Exists"}]}  # backend, not client; nothing else
    o = picks(lab(), network_policy("np", pod_selector=sel), exactly=["backend", "Pod/client"], partial=True)
    assert_verdict(o, "failed", 2 / 3, says="leaves out 1 pod of Pod/client: client")
    assert_verdict(picks(lab(), network_policy("np", pod_selector=sel), exactly=["backend", "Pod/client"]), "failed", 0.0)


def test_picks_a_selector_the_api_would_refuse_fails_naming_it():
    sel = {"matchExpressions": [{"key": "app", "operator": "Like", "values": ["b*"]}]}
    assert_verdict(picks(lab(), network_policy("np", pod_selector=sel), exactly=["backend"]), "failed",
                   says="cannot read the selector at NetworkPolicy np's spec.podSelector")


@pytest.mark.parametrize("params, words", [
    ({}, "exactly, includes or excludes"),
    ({"exactly": ["backend"], "includes": ["backend"]}, "not both"),
    ({"kind": "ConfigMap", "name": "kube-root-ca.crt", "exactly": ["backend"]}, "must give path"),
    ({"exactly": ["backend"], "path": "spec.(("}, "the rubric's path is wrong"),
])
def test_picks_with_a_wrong_rubric_is_an_error(params, words):
    params = {"kind": "NetworkPolicy", "name": "np", **params}
    o = run("selector.picks", view_of([*lab().objects(), network_policy("np", pod_selector=BACKEND)], kinds=KINDS), **params)
    assert_verdict(o, "error", says=words)


def test_picks_reads_the_object_pods_and_the_named_workloads():
    assert picks_reads({"kind": "netpol", "name": "np", "exactly": ["backend", "Pod/client"], "excludes": ["StatefulSet/db"]}) \
        == ("NetworkPolicy", "Pod", "Deployment", "StatefulSet", "ReplicaSet")
