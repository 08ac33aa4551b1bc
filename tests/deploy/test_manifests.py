"""deploy/: the manifests are valid Kubernetes objects, the RBAC is read-only,
the Job runs the grader locked down, and the image builds what the Job runs.

Validity is checked twice: against the models of the official ``kubernetes``
client (with client-side validation on, plus a round trip that catches
misspelled or unknown fields, which the client would silently drop), and,
when the ``kubernetes-validate`` package is installed, against the JSON
schemas of real Kubernetes releases it bundles (offline, strict mode).
"""
from __future__ import annotations

import copy
import csv
import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from kubernetes import client

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MANIFESTS = sorted(DEPLOY.glob("*.yaml"))

SA = ("labgrade", "labgrade")  # namespace, name
JOB_NAME = "labgrade-service-discovery"

# What live grading lists in a student namespace (grader/sources/live.py, grader/kinds.py): (API group, resource).
READS = {
    ("", "pods"),
    ("", "services"),
    ("", "endpoints"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("discovery.k8s.io", "endpointslices"),
}
# The only non-read calls: websocket upgrades, so `get` (older API servers)
# and `create` (kubectl's POST; API servers from v1.35) on the subresource.
PROBES = {"pods/exec", "pods/portforward"}
READ_VERBS = {"get", "list"}
PROBE_VERBS = {"get", "create"}


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def _all_docs() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in MANIFESTS:
        for i, doc in enumerate(_documents(path)):
            yield f"{path.name}#{i}:{doc.get('kind')}/{doc.get('metadata', {}).get('name')}", doc


DOCS = dict(_all_docs())


def _one(kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    found = [d for d in DOCS.values() if d["kind"] == kind and d["metadata"]["name"] == name
             and d["metadata"].get("namespace") == namespace]
    assert len(found) == 1, f"expected one {kind} {namespace}/{name} in deploy/*.yaml, found {len(found)}"
    return found[0]


def test_the_deploy_folder_has_the_manifests() -> None:
    assert {p.name for p in MANIFESTS} >= {"rbac.yaml", "job.yaml", "roster-configmap.yaml", "observe.yaml"}
    kinds = sorted(d["kind"] for d in DOCS.values())
    assert kinds == sorted(["Namespace", "ServiceAccount"] + ["ClusterRole"] * 5
                           + ["ClusterRoleBinding", "RoleBinding", "Job", "ConfigMap"]
                           # observe.yaml
                           + ["ClusterRole", "ClusterRoleBinding", "PersistentVolumeClaim", "Deployment", "Service",
                              "NetworkPolicy"])


# --- the kubernetes client's models -----------------------------------------


def _model_name(doc: dict[str, Any]) -> str:
    version = doc["apiVersion"].rsplit("/", 1)[-1]
    return version[:1].upper() + version[1:] + doc["kind"]


def _deserialize(doc: dict[str, Any]) -> Any:
    """What the client does with an API response: build the typed model.
    Its constructors raise ValueError on a missing required field or a bad
    enum value while client-side validation is on (the default)."""
    return client.ApiClient()._ApiClient__deserialize(copy.deepcopy(doc), _model_name(doc))


def _round_trip(doc: dict[str, Any]) -> Any:
    return client.ApiClient().sanitize_for_serialization(_deserialize(doc))


def test_client_side_validation_is_on() -> None:
    assert client.Configuration.get_default_copy().client_side_validation
    job = copy.deepcopy(_one("Job", JOB_NAME, "labgrade"))
    del job["spec"]["template"]["spec"]["containers"][0]["name"]
    with pytest.raises(ValueError, match="name"):
        _deserialize(job)


@pytest.mark.parametrize("where", list(DOCS))
def test_each_document_is_a_valid_client_model(where: str) -> None:
    doc = DOCS[where]
    assert hasattr(client, _model_name(doc)), f"{where}: no model {_model_name(doc)} in the kubernetes client"
    _deserialize(doc)


@pytest.mark.parametrize("where", list(DOCS))
def test_each_document_survives_a_round_trip_unchanged(where: str) -> None:
    """The client drops fields it does not know: a misspelled field would
    pass deserialisation, and be ignored by the API server too."""
    assert _round_trip(DOCS[where]) == DOCS[where]


def test_the_round_trip_catches_a_misspelled_field() -> None:
    job = copy.deepcopy(_one("Job", JOB_NAME, "labgrade"))
    job["spec"]["template"]["spec"]["serviceAcountName"] = "labgrade"
    assert _round_trip(job) != job


# --- kubernetes-validate: the JSON schemas of real releases -----------------

def _kubernetes_validate() -> Any:
    return pytest.importorskip(
        "kubernetes_validate",
        reason="kubernetes-validate is not installed (pip install 'kubernetes-validate>=1.37,<2'); "
               "the client-model tests above still ran",
    )


def _schema_versions(kv: Any) -> tuple[str, str]:
    """The oldest release it bundles (course clusters lag) and the newest."""
    try:
        oldest = min(kv.utils.all_versions(), key=lambda v: tuple(int(x) for x in v.split(".")))
    except AttributeError:
        oldest = "1.25.0"
    return oldest, kv.latest_version()


@pytest.mark.parametrize("where", list(DOCS))
def test_each_document_matches_the_kubernetes_schemas_strictly(where: str) -> None:
    kv = _kubernetes_validate()
    for version in _schema_versions(kv):
        try:
            kv.validate(copy.deepcopy(DOCS[where]), version, strict=True)
        except kv.ValidationError as exc:
            pytest.fail(f"{where} is not a valid Kubernetes {version} object: {exc}")


def test_the_schemas_reject_an_unknown_field() -> None:
    kv = _kubernetes_validate()
    job = copy.deepcopy(_one("Job", JOB_NAME, "labgrade"))
    job["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    with pytest.raises(kv.ValidationError):
        kv.validate(job, kv.latest_version(), strict=True)


# --- RBAC: read-only, and only where it is needed ---------------------------

# The grader's own RBAC (the Job, grade, batch): rbac.yaml. observe.yaml adds
# one role for the observer's watches, tested on its own below.
RBAC = {where: d for where, d in DOCS.items() if where.startswith("rbac.yaml#")}
ROLES = {d["metadata"]["name"]: d for d in RBAC.values() if d["kind"] == "ClusterRole"}
BINDINGS = [d for d in RBAC.values() if d["kind"] in ("ClusterRoleBinding", "RoleBinding")]


def _rules() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, role in ROLES.items():
        for rule in role.get("rules") or []:
            yield name, rule


def _template_rolebindings(namespace: str) -> tuple[dict[str, Any], ...]:
    """The per-student RoleBindings (reader and prober) that the comment in
    rbac.yaml and the README tell the instructor to create."""
    text = (DEPLOY / "rbac.yaml").read_text(encoding="utf-8")
    commented = re.search(r"which are these objects:\n#\n((?:#   .*\n)+)", text)
    assert commented, "rbac.yaml lost the commented per-student RoleBindings"
    docs = [d for d in yaml.safe_load_all("".join(line[4:] + "\n" for line in commented.group(1).splitlines())) if d]
    for doc in docs:
        doc["metadata"]["namespace"] = namespace
    return tuple(docs)


def _template_rolebinding(namespace: str) -> dict[str, Any]:
    return _template_rolebindings(namespace)[0]


def _dns_binding() -> dict[str, Any]:
    """The optional kube-system binding the rbac.yaml comment shows (for grading without --dns-server)."""
    text = (DEPLOY / "rbac.yaml").read_text(encoding="utf-8")
    assert "kubectl create rolebinding labgrade-dns-prober -n kube-system" in text
    return {"kind": "RoleBinding", "metadata": {"name": "labgrade-dns-prober", "namespace": "kube-system"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "labgrade-dns-prober"},
            "subjects": [{"kind": "ServiceAccount", "name": SA[1], "namespace": SA[0]}]}


def can(verb: str, resource: str, namespace: str | None, *, group: str = "",
        extra_bindings: tuple[dict[str, Any], ...] = (), name: str | None = None) -> bool:
    """A small RBAC authorizer over deploy/rbac.yaml, for the grader's
    ServiceAccount (namespace None: a cluster-scoped request; ``name``: the
    object a get names, which resourceNames may restrict)."""
    for binding in [*BINDINGS, *extra_bindings]:
        subjects = {(s["kind"], s.get("namespace"), s["name"]) for s in binding["subjects"]}
        if ("ServiceAccount", *SA) not in subjects:
            continue
        if binding["kind"] == "RoleBinding" and namespace != binding["metadata"]["namespace"]:
            continue
        role = ROLES[binding["roleRef"]["name"]]
        for rule in role.get("rules") or []:
            names = rule.get("resourceNames")
            if (group in rule["apiGroups"] or "*" in rule["apiGroups"]) \
                    and (resource in rule["resources"] or "*" in rule["resources"]) \
                    and (verb in rule["verbs"] or "*" in rule["verbs"]) \
                    and (not names or name in names):
                return True
    return False


def test_no_rule_uses_a_wildcard_or_touches_secrets() -> None:
    for name, rule in _rules():
        for field in ("apiGroups", "resources", "verbs", "resourceNames"):
            assert "*" not in (rule.get(field) or []), f"{name}: wildcard in {field}"
        assert not rule.get("nonResourceURLs"), f"{name}: nonResourceURLs"
        assert not {"secrets", "configmaps", "serviceaccounts/token"} & set(rule["resources"]), name
    for role in ROLES.values():
        assert "aggregationRule" not in role


def test_every_verb_is_a_read_except_create_on_exactly_exec_and_portforward() -> None:
    creates = set()
    for name, rule in _rules():
        for resource in rule["resources"]:
            allowed = PROBE_VERBS if resource in PROBES else READ_VERBS
            assert set(rule["verbs"]) <= allowed, f"{name}: {rule['verbs']} on {resource}"
            if "create" in rule["verbs"]:
                assert rule["apiGroups"] == [""], name
                creates.add(resource)
    assert creates == PROBES


def test_the_reader_grants_get_and_list_on_what_live_grading_reads_and_nothing_else() -> None:
    granted = {}
    for rule in ROLES["labgrade-reader"]["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted[(group, resource)] = set(rule["verbs"])
    assert set(granted) == READS
    assert all(verbs == READ_VERBS for verbs in granted.values())


def test_the_reader_covers_every_kind_the_live_source_lists() -> None:
    kinds = pytest.importorskip("grader.kinds")
    lists, gets = kinds.plan(kinds.DEFAULT_READS, "lab-x")
    for kind in lists:
        k = kinds.lookup(kind)
        assert (k.group, k.plural) in READS, f"live grading lists {kind}; add {k.group or 'core'}/{k.plural} to the reader"
    for read in gets:  # single objects: each granted by name where it lives, nothing more
        k = kinds.lookup(read.kind)
        ns = read.namespace if k.namespaced else None
        assert can("get", k.plural, ns, group=k.group, name=read.name), read
        assert not can("get", k.plural, ns, group=k.group, name="something-else"), read
        assert not can("list", k.plural, ns, group=k.group), read


def test_the_grader_reads_student_namespaces_only_and_writes_nowhere() -> None:
    student = _template_rolebindings("lab-2023001")
    for group, resource in READS:
        assert can("list", resource, "lab-2023001", group=group, extra_bindings=student)
        assert can("get", resource, "lab-2023001", group=group, extra_bindings=student)
        for ns in ("lab-2023002", "default", "kube-system"):  # pod specs hold env values: not elsewhere
            assert not can("list", resource, ns, group=group, extra_bindings=student), (resource, ns)
            assert not can("get", resource, ns, group=group, extra_bindings=student, name="x"), (resource, ns)
    for ns in ("lab-2023001", "default", "kube-system"):
        for verb in ("create", "update", "patch", "delete", "deletecollection", "watch", "escalate", "bind", "impersonate"):
            for group, resource in READS | {("", "secrets"), ("", "configmaps"), ("", "pods/log")}:
                assert not can(verb, resource, ns, group=group, extra_bindings=student), (verb, resource, ns)
        assert not can("get", "secrets", ns, extra_bindings=student)
        assert not can("list", "secrets", ns, extra_bindings=student)
    assert can("get", "namespaces", None, name="default")  # `default`'s age, for step 6
    assert not can("get", "namespaces", None, name="kube-system")
    assert not can("list", "namespaces", None)  # never listed
    assert can("get", "services", "default", name="kubernetes")
    assert not can("get", "services", "default", name="other") and not can("list", "services", "default")


def test_exec_only_in_student_namespaces_and_portforward_only_in_kube_system() -> None:
    from grader.sources import dns_probe

    student = _template_rolebindings("lab-2023001")
    for verb in PROBE_VERBS:
        assert can(verb, "pods/exec", "lab-2023001", extra_bindings=student)
        assert not can(verb, "pods/exec", "lab-2023001")  # not before the instructor binds it
        assert not can(verb, "pods/exec", "kube-system", extra_bindings=student)
        assert not can(verb, "pods/exec", "lab-2023002", extra_bindings=student)
        # No port-forward at all as shipped (the Job asks --dns-server); the optional binding: kube-system only.
        assert not can(verb, "pods/portforward", dns_probe.DNS_NAMESPACE, extra_bindings=student)
        assert can(verb, "pods/portforward", dns_probe.DNS_NAMESPACE, extra_bindings=(*student, _dns_binding()))
        assert not can(verb, "pods/portforward", "lab-2023001", extra_bindings=(*student, _dns_binding()))
    assert not any(b["kind"] == "ClusterRoleBinding" and b["roleRef"]["name"] != "labgrade-cluster-identity"
                   for b in BINDINGS)


def test_the_authorizer_used_above_can_say_yes_and_no() -> None:
    student = _template_rolebindings("anywhere")
    assert can("list", "pods", "anywhere", extra_bindings=student)
    assert not can("list", "pods", "anywhere")
    assert not can("list", "pods", "anywhere", group="apps", extra_bindings=student)
    assert not can("create", "pods", "anywhere", extra_bindings=student)


def test_bindings_name_the_jobs_service_account_and_existing_roles() -> None:
    sa = _one("ServiceAccount", SA[1], SA[0])
    assert sa["metadata"]["namespace"] == SA[0]
    _one("Namespace", SA[0])
    for binding in [*BINDINGS, *_template_rolebindings("lab-x"), _dns_binding()]:
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                      "name": binding["roleRef"]["name"]}
        assert binding["roleRef"]["name"] in ROLES
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": SA[1], "namespace": SA[0]}]


def test_the_labgrade_namespace_enforces_the_restricted_pod_security_standard() -> None:
    labels = _one("Namespace", "labgrade")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


# --- the Job ------------------------------------------------------------------

JOB = _one("Job", JOB_NAME, "labgrade")
POD = JOB["spec"]["template"]["spec"]
(CONTAINER,) = POD["containers"]
ENV = {e["name"]: e.get("value") for e in CONTAINER.get("env", [])}


def test_the_job_is_indexed_and_bounded() -> None:
    spec = JOB["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] >= spec["parallelism"] >= 1
    assert spec["completions"] >= 100, "room for a class"
    assert 0 < spec["backoffLimit"] < spec["completions"]
    assert spec["ttlSecondsAfterFinished"] >= 3600, "time to collect the logs"
    assert spec["activeDeadlineSeconds"] > POD["activeDeadlineSeconds"] > 0
    assert POD["restartPolicy"] == "Never"


def test_the_job_runs_as_the_read_only_service_account() -> None:
    assert JOB["metadata"]["namespace"] == SA[0]
    assert POD["serviceAccountName"] == SA[1]
    assert "serviceAccount" not in POD


def test_the_pod_is_locked_down() -> None:
    pod_sc, sc = POD["securityContext"], CONTAINER["securityContext"]
    assert pod_sc["runAsNonRoot"] is True and sc["runAsNonRoot"] is True
    assert pod_sc["runAsUser"] > 0
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc.get("privileged") is not True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"} == sc["seccompProfile"]
    assert not POD.get("hostNetwork") and not POD.get("hostPID") and not POD.get("hostIPC")
    # restricted Pod Security Standard: only these volume types
    allowed = {"configMap", "emptyDir", "persistentVolumeClaim", "projected", "secret", "downwardAPI", "csi", "ephemeral"}
    for volume in POD["volumes"]:
        assert set(volume) - {"name"} <= allowed, volume


def test_the_container_has_requests_and_limits() -> None:
    resources = CONTAINER["resources"]
    for kind in ("requests", "limits"):
        assert set(resources[kind]) == {"cpu", "memory"}
    assert _quantity(resources["requests"]["memory"]) <= _quantity(resources["limits"]["memory"])
    assert _quantity(resources["requests"]["cpu"]) <= _quantity(resources["limits"]["cpu"])


def _quantity(q: str) -> float:
    units = {"m": 1e-3, "": 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", q).groups()
    return float(number) * units[unit]


def _mount(name: str) -> dict[str, Any]:
    (mount,) = [m for m in CONTAINER["volumeMounts"] if m["name"] == name]
    return mount


def _job_args(index: str = "7"):
    """The Job's command line as labgrade's own parser reads it, with
    $(JOB_COMPLETION_INDEX) expanded as the kubelet does."""
    from grader import cli

    assert CONTAINER["command"] == ["labgrade"]
    argv = [a.replace("$(JOB_COMPLETION_INDEX)", index) for a in CONTAINER["args"]]
    return cli.build_parser().parse_args(argv)


def test_each_pod_grades_its_roster_row_with_labgrade_batch_index() -> None:
    args = _job_args("7")
    assert args.command == "batch" and args.index == 7
    assert args.rubric == "service-discovery" and args.lang == "zh"
    assert "$(JOB_COMPLETION_INDEX)" in CONTAINER["args"], "the index comes from the Job controller"
    assert "JOB_COMPLETION_INDEX" not in ENV, "the Job controller sets it; a value here would fix every pod's row"


def _volume(name: str) -> dict[str, Any]:
    (volume,) = [v for v in POD["volumes"] if v["name"] == name]
    return volume


def test_the_roster_configmap_is_mounted_read_only_where_the_entrypoint_reads_it() -> None:
    configmap = _one("ConfigMap", "labgrade-roster", "labgrade")
    volume = _volume("roster")["configMap"]
    assert volume["name"] == configmap["metadata"]["name"]
    (item,) = volume["items"]
    assert item["key"] in configmap["data"]
    mount = _mount("roster")
    assert mount["readOnly"] is True
    assert volume["defaultMode"] & 0o222 == 0
    assert _job_args().roster == f"{mount['mountPath']}/{item['path']}"


def test_every_writable_path_is_a_volume() -> None:
    """readOnlyRootFilesystem: results, HOME and /tmp must be mounts."""
    writable = {m["mountPath"] for m in CONTAINER["volumeMounts"] if not m.get("readOnly")}
    assert _job_args().out in writable
    assert ENV["HOME"] in writable and "/tmp" in writable
    assert "emptyDir" in _volume("results"), "the default is an emptyDir; a PVC is the commented alternative"
    assert "persistentVolumeClaim:" in (DEPLOY / "job.yaml").read_text(encoding="utf-8")


def test_the_roster_example_is_the_documented_csv() -> None:
    rows = list(csv.reader(io.StringIO(_one("ConfigMap", "labgrade-roster", "labgrade")["data"]["roster.csv"])))
    assert rows[0] == ["student_id", "name", "namespace"]
    ns = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
    assert rows[1:] and all(len(r) == 3 and ns.fullmatch(r[2]) for r in rows[1:])


# --- the image ------------------------------------------------------------------

CONTAINERFILE = (DEPLOY / "Containerfile").read_text(encoding="utf-8")


def _instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", CONTAINERFILE)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def test_the_image_is_python_slim_non_root_and_runs_labgrade() -> None:
    ops = _instructions()
    assert ops[0] == ("FROM", "python:3.11-slim")
    assert any(op == "RUN" and "pip install --no-cache-dir ." in arg for op, arg in ops)
    users = [arg for op, arg in ops if op == "USER"]
    assert users and re.fullmatch(r"[1-9][0-9]*(:[0-9]+)?", users[-1]), "a numeric non-root USER"
    assert int(users[-1].split(":")[0]) == POD["securityContext"]["runAsUser"]
    assert ("ENTRYPOINT", '["labgrade"]') in ops
    assert ops.index(("USER", users[-1])) > max(i for i, (op, _) in enumerate(ops) if op == "RUN")


def test_the_image_copies_everything_pip_install_needs() -> None:
    tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    copied = set()
    for op, arg in _instructions():
        if op == "COPY" and not arg.startswith("--from"):
            copied.update(p.rstrip("/") for p in arg.split()[:-1])
    top_packages = {p.split(".")[0] for p in pyproject["tool"]["setuptools"]["packages"]}
    assert top_packages <= copied
    assert {"pyproject.toml", pyproject["project"]["readme"]} <= copied


def test_the_copied_files_alone_build_the_cli_and_its_rubrics(tmp_path: Path) -> None:
    """The Containerfile's `pip install .` without a container engine: let
    setuptools lay out the packages from a folder holding only what the COPY
    lines bring in (build_py: no wheel package, no network needed)."""
    setuptools = pytest.importorskip("setuptools", reason="setuptools builds the packages")
    if int(setuptools.__version__.split(".")[0]) < 61:
        pytest.skip("setuptools < 61 cannot read [project] from pyproject.toml")
    src = tmp_path / "src"
    src.mkdir()
    for op, arg in _instructions():
        if op == "COPY" and not arg.startswith("--from"):
            for item in arg.split()[:-1]:
                subprocess.run(["cp", "-r", str(ROOT / item), str(src / item)], check=True)
    built = tmp_path / "lib"
    run = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py", "-d", str(built)],
                         cwd=src, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    for path in ("grader/cli.py", "grader/sources/live.py", "grader/report/json_report.py", "checks/registry.py",
                 "rubrics/service-discovery.yaml"):
        assert (built / path).is_file(), f"the image would lack {path}"


# --- the instructions ---------------------------------------------------------


def test_the_readme_names_what_the_manifests_create() -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for text in ("kubectl apply -f deploy/rbac.yaml", "kubectl apply -f deploy/job.yaml",
                 f"job-name={JOB_NAME}", f"job/{JOB_NAME}", "kubectl cp",
                 "configmap labgrade-roster -n labgrade", "--from-file=roster.csv=",
                 "--clusterrole=labgrade-prober --serviceaccount=labgrade:labgrade",
                 "--clusterrole=labgrade-reader --serviceaccount=labgrade:labgrade", "--dns-server", "中文摘要"):
        assert text in readme, text
    assert _one("ConfigMap", "labgrade-roster", "labgrade")
    assert "roster.csv" in _one("ConfigMap", "labgrade-roster", "labgrade")["data"]


# --- the observer (observe.yaml) -------------------------------------------------

OBSERVER = _one("Deployment", "labgrade-observer", "labgrade")
OBSERVER_POD = OBSERVER["spec"]["template"]["spec"]
(OBSERVER_CONTAINER,) = OBSERVER_POD["containers"]


def _observer_args():
    from grader import cli

    assert OBSERVER_CONTAINER["command"] == ["labgrade"]
    return cli.build_parser().parse_args(OBSERVER_CONTAINER["args"])


def test_the_watcher_role_is_list_and_watch_on_the_readers_kinds_only() -> None:
    role = _one("ClusterRole", "labgrade-watcher")
    granted = {(g, r): set(rule["verbs"]) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert set(granted) == READS
    assert all(verbs == {"list", "watch"} for verbs in granted.values())
    binding = _one("ClusterRoleBinding", "labgrade-watcher")
    assert binding["roleRef"]["name"] == "labgrade-watcher"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": SA[1], "namespace": SA[0]}]


def test_the_watcher_covers_every_kind_the_observer_watches() -> None:
    from grader import kinds
    from grader.reads import rubric_reads
    from grader.rubric import load

    role = _one("ClusterRole", "labgrade-watcher")
    granted = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    for name in ("service-discovery", "service-expose", "headless-dns"):
        lists, _ = kinds.plan(rubric_reads(load(name)), "")
        for kind in lists:
            k = kinds.lookup(kind)
            assert (k.group, k.plural) in granted, f"{name} watches {kind}"


def test_the_observer_runs_labgrade_observe_on_its_volumes() -> None:
    args = _observer_args()
    assert args.command == "observe" and args.rubric == "service-discovery"
    mounts = {m["mountPath"]: m for m in OBSERVER_CONTAINER["volumeMounts"]}
    volumes = {v["name"]: v for v in OBSERVER_POD["volumes"]}
    roster_dir, ledgers, key_dir = (str(Path(p).parent) if p.endswith((".csv", ".key")) else p
                                    for p in (args.roster, args.ledgers, args.key_file))
    assert volumes[mounts[roster_dir]["name"]]["configMap"]["name"] == "labgrade-roster" and mounts[roster_dir]["readOnly"]
    assert "persistentVolumeClaim" in volumes[mounts[ledgers]["name"]], "a restarted pod resumes from its ledgers"
    _one("PersistentVolumeClaim", volumes[mounts[ledgers]["name"]]["persistentVolumeClaim"]["claimName"], "labgrade")
    key = volumes[mounts[key_dir]["name"]]["secret"]
    assert mounts[key_dir]["readOnly"] and key["items"] == [{"key": "observer.key", "path": "observer.key"}]
    assert key["defaultMode"] & 0o007 == 0, "the signing key is not world-readable"
    assert key["defaultMode"] & 0o040, "readable by the pod's fsGroup"
    assert OBSERVER["spec"]["replicas"] == 1 and OBSERVER["spec"]["strategy"] == {"type": "Recreate"}, "one ledger writer"
    assert OBSERVER_POD["serviceAccountName"] == SA[1]


def test_the_observer_pod_is_locked_down() -> None:
    pod_sc, sc = OBSERVER_POD["securityContext"], OBSERVER_CONTAINER["securityContext"]
    assert pod_sc["runAsNonRoot"] is True and sc["runAsNonRoot"] is True and pod_sc["runAsUser"] > 0
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]} and pod_sc["seccompProfile"] == sc["seccompProfile"]
    writable = {m["mountPath"] for m in OBSERVER_CONTAINER["volumeMounts"] if not m.get("readOnly")}
    assert writable == {_observer_args().ledgers, "/tmp"}


def test_the_service_and_the_policy_reach_the_dashboard_port_only_from_labgrade() -> None:
    args = _observer_args()
    assert args.listen == "0.0.0.0"
    (port,) = OBSERVER_CONTAINER["ports"]
    assert port["containerPort"] == args.port
    assert OBSERVER_CONTAINER["readinessProbe"]["httpGet"]["port"] == port["name"]
    labels = OBSERVER["spec"]["template"]["metadata"]["labels"]
    service = _one("Service", "labgrade-observer", "labgrade")
    assert service["spec"]["type"] == "ClusterIP" and service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    policy = _one("NetworkPolicy", "labgrade-observer", "labgrade")["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    assert rule["from"] == [{"podSelector": {}}], "pods of the labgrade namespace only"
    assert rule["ports"] == [{"port": args.port}]
