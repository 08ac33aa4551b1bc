"""labgrade as the ServiceAccount that deploy/rbac.yaml binds, judged by the real RBAC authorizer.

The manifest is applied as shipped (whatever it says today), the per-namespace prober binding is
made as the file's comment says, and the grader runs with a real service-account token minted by
``kubectl create token``: lists, exec over websockets and port-forward must all be allowed; a write
must be refused by the authorizer; a namespace without the prober binding must turn the exec
probe into an ``error`` (no points lost) carrying the API server's own RBAC wording.
"""

from __future__ import annotations

import json

import pytest

from tests.realcluster.cluster import REPO
from tests.realcluster_tests.lab import Lab, checks, verdicts
from tests.realcluster_tests.test_lab import expected_live

SA = "system:serviceaccount:labgrade:labgrade"


@pytest.fixture(scope="module")
def sa_kubeconfig(real_cluster, tmp_path_factory):
    real_cluster.kubectl("apply", "-f", str(REPO / "deploy" / "rbac.yaml"))
    real_cluster.wait_for(lambda: real_cluster.kubectl("get", "serviceaccount", "labgrade", "-n", "labgrade",
                                                       check=False).returncode == 0, 30, "the labgrade ServiceAccount")
    token = real_cluster.kubectl("create", "token", "labgrade", "-n", "labgrade", "--duration=2h").stdout.strip()
    assert token.count(".") == 2  # a signed JWT from the real TokenRequest API
    path = tmp_path_factory.mktemp("sa") / "kubeconfig"
    return real_cluster.write_kubeconfig(path, f"https://127.0.0.1:{real_cluster.api_port}", {"token": token})


def manifest_bindings() -> tuple[set[str], set[str]]:
    """(ClusterRoles the manifest defines, ClusterRoles it already binds somewhere)."""
    import yaml

    docs = [d for d in yaml.safe_load_all((REPO / "deploy" / "rbac.yaml").read_text()) if d]
    roles = {d["metadata"]["name"] for d in docs if d["kind"] == "ClusterRole"}
    bound = {d["roleRef"]["name"] for d in docs if d["kind"] in ("ClusterRoleBinding", "RoleBinding")}
    return roles, bound


def bind_as_the_manifest_says(cluster, ns: str, prober: bool = True) -> None:
    """The per-namespace RoleBindings deploy/rbac.yaml tells the instructor to make (its closing
    comment): the reader (unless bound cluster-wide) and the prober in the student namespace, and
    the optional port-forward binding to CoreDNS in kube-system."""
    roles, bound = manifest_bindings()
    wanted = [("labgrade-reader", ns)] + ([("labgrade-prober", ns)] if prober else [])
    if "labgrade-dns-prober" in roles and "labgrade-dns-prober" not in bound:
        wanted.append(("labgrade-dns-prober", "kube-system"))
    for role, where in wanted:
        if role not in roles or (role == "labgrade-reader" and _bound_cluster_wide(role)):
            continue
        yaml_text = cluster.kubectl("create", "rolebinding", role, "-n", where, f"--clusterrole={role}",
                                    "--serviceaccount=labgrade:labgrade", "--dry-run=client", "-o", "yaml").stdout
        cluster.kubectl("apply", "-f", "-", input=yaml_text)


def _bound_cluster_wide(role: str) -> bool:
    import yaml

    docs = [d for d in yaml.safe_load_all((REPO / "deploy" / "rbac.yaml").read_text()) if d]
    return any(d["kind"] == "ClusterRoleBinding" and d["roleRef"]["name"] == role for d in docs)


def built_lab(cluster, tmp_path, ns: str, bind_prober: bool) -> Lab:
    cluster.new_namespace(ns)
    lab = Lab(cluster, ns, tmp_path)
    bind_as_the_manifest_says(cluster, ns, prober=bind_prober)
    lab.build_correct()
    return lab


def test_shipped_roles_are_enough_for_every_check(real_cluster, sa_kubeconfig, tmp_path):
    lab = built_lab(real_cluster, tmp_path, "rbac-bound", bind_prober=True)
    who = json.loads(real_cluster.kubectl("auth", "whoami", "-o", "json", kubeconfig=sa_kubeconfig).stdout)
    assert who["status"]["userInfo"]["username"] == SA
    got = verdicts(lab.grade_live("sa-built", "--phase", "built", kubeconfig=sa_kubeconfig, state=False))
    want = {k: v for k, v in expected_live("correct").items()
            if not k.endswith("-deleted") and k != "kubernetes-service-intact"}
    assert {k: v for k, v in got.items() if k in want} == want  # exec (wget) and port-forward (DNS) included


def test_a_write_is_refused_by_the_real_authorizer(real_cluster, sa_kubeconfig, tmp_path):
    lab = built_lab(real_cluster, tmp_path, "rbac-write", bind_prober=True)
    r = real_cluster.kubectl("-n", lab.ns, "delete", "pod", "clientpod", kubeconfig=sa_kubeconfig, check=False)
    assert r.returncode != 0
    assert (f'User "{SA}" cannot delete resource "pods" in API group "" in the namespace "{lab.ns}"') in r.stderr
    r = real_cluster.kubectl("-n", lab.ns, "scale", "deployment/deployment1", "--replicas=1",
                             kubeconfig=sa_kubeconfig, check=False)
    assert r.returncode != 0 and "forbidden" in r.stderr.lower()
    assert lab.get("deployment", "deployment1")["spec"]["replicas"] == 2


def test_missing_prober_binding_is_an_error_with_the_rbac_wording(real_cluster, sa_kubeconfig, tmp_path):
    lab = built_lab(real_cluster, tmp_path, "rbac-unbound", bind_prober=False)
    report = lab.grade_live("sa-unbound", "--phase", "built", "--no-poll", kubeconfig=sa_kubeconfig, state=False)
    got = verdicts(report)
    assert got["clientpod-wget-service2"] == "error"
    assert got["service1-dns"] == "passed" and got["service2-dns"] == "passed"  # port-forward is bound in kube-system
    assert got["service1-endpoints"] == "passed"
    wget = checks(report)["clientpod-wget-service2"]
    text = json.dumps(wget, ensure_ascii=False)
    assert "forbidden" in text.lower() and "pods/exec" in text, text
    assert wget["earned"] == 0 and report["totals"]["ungraded"] >= wget["points"]


@pytest.mark.parametrize("path,verb,group,plural,ns,name", [
    ("/api/v1/namespaces/rbac-nobody/pods", "list", "", "pods", "rbac-nobody", None),
    ("/api/v1/namespaces/rbac-nobody/pods/clientpod", "get", "", "pods", "rbac-nobody", "clientpod"),
    ("/apis/apps/v1/namespaces/rbac-nobody/deployments", "list", "apps", "deployments", "rbac-nobody", None),
    ("/api/v1/secrets", "list", "", "secrets", None, None),
])
def test_forbidden_status_bodies_match_the_stand_ins(real_cluster, sa_kubeconfig, path, verb, group, plural, ns, name):
    """The real authorizer's 403 Status, byte for byte the one tests/standin/status.py builds."""
    import urllib.request

    from tests.standin import status as st

    token = json.loads(sa_kubeconfig.read_text())["users"][0]["user"]["token"]
    req = urllib.request.Request(f"https://127.0.0.1:{real_cluster.api_port}{path}",
                                 headers={"Authorization": f"Bearer {token}"})
    ctx = __import__("ssl").create_default_context(cafile=str(real_cluster.pki / "ca.crt"))
    try:
        urllib.request.urlopen(req, context=ctx, timeout=10)
        raise AssertionError(f"{path} was allowed")
    except urllib.error.HTTPError as e:
        code, body = e.code, json.loads(e.read())
    assert code == 403
    assert body == st.forbidden(SA, verb, group, plural, ns, name)
