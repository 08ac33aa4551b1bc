"""One table of kinds (grader/kinds.py): what everything that lists kinds
derives from, and what a live source asks the API server for."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader import kinds, reads, rubric, view
from grader.sources import bundle
from grader.errors import InputError
from grader.sources.live import LiveSource, Retry, api_client
from tests.builders import base_cluster, service_port

ROOT = Path(__file__).resolve().parents[2]
README_DUMP = re.search(r"kubectl get (\S+) -A -o yaml", (ROOT / "README.md").read_text(encoding="utf-8")).group(0)

WIDGETS = """\
lab: widgets
title: {zh: 小部件, en: Widgets}
kinds:
  - {kind: Widget, apiVersion: example.com/v1, plural: widgets}
steps:
  - id: s1
    title: {zh: 一, en: one}
    checks:
      - id: w1
        use: object.matches
        with: {kind: Widget, name: w1, expect: {spec: {size: "(>= 3)"}}}
        points: 1
        title: {zh: 一, en: one}
        hint: {zh: 一, en: one}
"""


def test_the_views_kinds_and_scopes_come_from_the_table():
    assert view.KINDS == ("Namespace", "Deployment", "ReplicaSet", "Pod", "Service", "Endpoints", "EndpointSlice")
    assert {"Namespace", "Node"} <= view.CLUSTER_SCOPED and "Pod" not in view.CLUSTER_SCOPED


def test_rest_paths_for_core_and_group_kinds():
    assert kinds.lookup("Pod").collection_path("lab") == "/api/v1/namespaces/lab/pods"
    assert kinds.lookup("deploy").collection_path("lab") == "/apis/apps/v1/namespaces/lab/deployments"
    assert kinds.lookup("ns").object_path(None, "default") == "/api/v1/namespaces/default"
    assert kinds.lookup("EndpointSlice").api_version == "discovery.k8s.io/v1"


def test_names_plurals_and_short_names_find_the_same_kind():
    assert {kinds.lookup(n).kind for n in ("Service", "services", "svc", "SVC")} == {"Service"}
    assert kinds.lookup("Gadget") is None


def test_typed_lists_name_their_item_kind():
    assert kinds.item_kind("PodList") == "Pod" and kinds.item_kind("List") is None


def test_the_readme_dump_command_is_what_the_first_rubric_reads():
    assert reads.dump_command(rubric.load("service-discovery")) == README_DUMP


def test_single_objects_are_fetched_only_when_a_list_does_not_cover_them():
    lists, gets = kinds.plan(kinds.DEFAULT_READS, "default")
    assert "Service" in lists and [(g.kind, g.name) for g in gets] == [("Namespace", "default")]
    _, gets = kinds.plan(kinds.DEFAULT_READS, "lab-42")
    assert [(g.kind, g.namespace, g.name) for g in gets] == [("Namespace", None, "default"), ("Service", "default", "kubernetes")]


@pytest.mark.parametrize("lab, resources", [
    ("service-expose", "deployments,replicasets,pods,services,endpoints,endpointslices"),
    ("headless-dns", "deployments,statefulsets,replicasets,pods,services,endpoints,endpointslices"),
])
def test_the_new_labs_read_neither_default_nor_the_kubernetes_service(lab, resources):
    r = reads.rubric_reads(rubric.load(lab))
    assert not any(":" in x for x in r)
    assert reads.dump_command(rubric.load(lab)) == f"kubectl get {resources} -A -o yaml"


def test_a_rubric_declares_a_custom_resource(tmp_path):
    path = tmp_path / "widgets.yaml"
    path.write_text(WIDGETS, encoding="utf-8")
    r = rubric.load(str(path))
    assert reads.dump_command(r) == "kubectl get widgets.example.com -A -o yaml"
    assert kinds.lookup("Widget").collection_path("lab") == "/apis/example.com/v1/namespaces/lab/widgets"


def test_a_declared_kind_that_contradicts_the_table_is_a_rubric_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(WIDGETS.replace("{kind: Widget, apiVersion: example.com/v1, plural: widgets}",
                                    "{kind: Service, apiVersion: example.com/v1, plural: services}"), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        rubric.load(str(path))
    assert exc.value.line == 4 and "already known" in exc.value.message


def test_a_bundle_keeps_the_tables_order():
    c = base_cluster()
    c.deployment("web", replicas=1, image="httpd", labels={"app": "web"})
    c.service("web", ports=[service_port(80)], selector={"app": "web"})
    v = view.build_view(c.objects())
    order = [o["kind"] for o in bundle.to_bundle(v, phase="built", namespace="default")["items"]]
    ranks = [kinds.order(k) for k in order]
    assert ranks == sorted(ranks)


# -- the live source lists what the rubric reads ------------------------------------

pytest.importorskip("aiohttp")
from tests.standin.fixtures import make_standin  # noqa: E402,F401


def _source(server, tmp_path, namespace, rubric_name=None, rubric_obj=None):
    api = api_client(str(server.kubeconfig_path(tmp_path)), None)
    r = rubric_obj or rubric.load(rubric_name)
    return LiveSource(api, namespace, "built", retry=Retry(sleep=lambda s: None), reads=reads.rubric_reads(r))


def test_a_live_pass_lists_only_the_rubrics_kinds_in_the_lab_namespace(make_standin, tmp_path):
    server = make_standin(base_cluster().objects())
    src = _source(server, tmp_path, "lab-1", "service-expose")
    server.clear_requests()
    src.view()
    paths = sorted(r.path for r in server.requests)
    assert paths == sorted(kinds.lookup(k).collection_path("lab-1")
                           for k in ("Deployment", "ReplicaSet", "Pod", "Service", "Endpoints", "EndpointSlice"))
    assert {r.method for r in server.requests} == {"GET"}


def test_the_first_rubric_still_reads_default_and_the_kubernetes_service(make_standin, tmp_path):
    server = make_standin(base_cluster().objects())
    src = _source(server, tmp_path, "lab-1", "service-discovery")
    server.clear_requests()
    v = src.view()
    paths = {r.path for r in server.requests}
    assert {"/api/v1/namespaces/default", "/api/v1/namespaces/default/services/kubernetes"} <= paths
    assert len(paths) == 8 and v.get("Service", "default", "kubernetes") is not None


def test_a_kind_the_cluster_does_not_serve_is_an_error_not_lost_points(make_standin, tmp_path):
    from grader import engine

    path = tmp_path / "widgets.yaml"
    path.write_text(WIDGETS, encoding="utf-8")
    r = rubric.load(str(path))
    server = make_standin(base_cluster().objects())
    report = engine.grade(r, {"built": _source(server, tmp_path, "default", rubric_obj=r)},
                          options=engine.Options(poll=False))
    (_, c), = report.checks()
    assert c.status.value == "error" and "does not serve Widget" in c.outcome.message.en


def test_a_rubric_that_reads_one_kind_lists_one_kind(make_standin, tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text(WIDGETS.replace("kind: Widget, name: w1, expect: {spec: {size: \"(>= 3)\"}}",
                                    "kind: Deployment, name: coredns, expect: {spec: {replicas: 2}}"), encoding="utf-8")
    r = rubric.load(str(path))
    server = make_standin(base_cluster().objects())
    src = _source(server, tmp_path, "kube-system", rubric_obj=r)
    server.clear_requests()
    v = src.view()
    assert [q.path for q in server.requests] == ["/apis/apps/v1/namespaces/kube-system/deployments"]
    assert v.get("Deployment", "kube-system", "coredns") is not None and not v.has("EndpointSlice")


def test_the_kinds_of_a_typical_course_are_built_in():
    assert kinds.lookup("sa").collection_path("lab") == "/api/v1/namespaces/lab/serviceaccounts"
    assert kinds.lookup("Role").collection_path("lab") == "/apis/rbac.authorization.k8s.io/v1/namespaces/lab/roles"
    assert kinds.lookup("clusterrolebindings").collection_path("lab") == \
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
    assert not kinds.lookup("pv").namespaced and not kinds.lookup("sc").namespaced
    assert {kinds.lookup(n).kind for n in ("Secret", "secrets", "limits", "quota")} == \
        {"Secret", "LimitRange", "ResourceQuota"}
    assert kinds.dump_command(["Secret", "RoleBinding", "Role", "ServiceAccount"], "lab") == (
        "mkdir DIR\n"
        "kubectl get serviceaccounts,roles,rolebindings -A -o yaml > DIR/cluster.yaml\n"
        "kubectl get --raw /api/v1/namespaces/lab/secrets > DIR/secrets.json")


def test_secrets_are_dumped_from_the_lab_namespace_only_every_other_kind_with_all_namespaces():
    # without a namespace the recipe names the placeholder, never -A for Secrets
    assert kinds.dump_command(["Secret"]).splitlines() == [
        "mkdir DIR", "kubectl get --raw /api/v1/namespaces/NAMESPACE/secrets > DIR/secrets.json"]
    # a Secret named in another namespace is still dumped from the lab namespace (lint warns)
    command = kinds.dump_command(["Pod", "Secret:kube-system/token"], "lab")
    assert "-A" not in command.splitlines()[2] and "secrets" not in command.splitlines()[1]
    assert command.splitlines()[1] == "kubectl get pods -A -o yaml > DIR/cluster.yaml"
    # no Secret read: the one line as before
    assert kinds.dump_command(["Pod"], "lab") == "kubectl get pods -A -o yaml"


def test_a_built_in_kind_declared_as_the_table_has_it_is_the_same_kind(tmp_path):
    # lint used to advise declaring a Secret under kinds:; such a rubric still loads
    path = tmp_path / "secret.yaml"
    path.write_text(WIDGETS.replace("{kind: Widget, apiVersion: example.com/v1, plural: widgets}",
                                    "{kind: Secret, apiVersion: v1, plural: secrets}")
                           .replace("kind: Widget, name: w1", "kind: Secret, name: w1"), encoding="utf-8")
    assert reads.dump_command(rubric.load(str(path))).splitlines()[-1] == \
        "kubectl get --raw /api/v1/namespaces/default/secrets > DIR/secrets.json"
    assert kinds.lookup("Secret") is next(k for k in kinds.BUILTIN if k.kind == "Secret")
