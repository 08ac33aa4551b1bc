"""Reading kubectl dumps: every shape people really have on disk, and a
one-line error naming the file for everything else."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from grader.sources import snapshot
from grader.errors import InputError
from grader.view import MissingKind

SVC = {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "kubernetes", "namespace": "default", "uid": "u-svc", "resourceVersion": "200"},
    "spec": {"clusterIP": "10.96.0.1"},
}
NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default", "uid": "u-ns"}}


def kubectl_list(*items):
    return {"apiVersion": "v1", "items": list(items), "kind": "List", "metadata": {"resourceVersion": ""}}


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return p


def test_kubectl_yaml_list(tmp_path):
    snap = snapshot.load(write(tmp_path, "d.yaml", yaml.safe_dump(kubectl_list(NS, SVC))))
    view = snap.view()
    assert view.get("Service", "default", "kubernetes")["spec"]["clusterIP"] == "10.96.0.1"
    assert view.has("Namespace") and not view.has("Pod")
    with pytest.raises(MissingKind):
        view.objects("Pod")


def test_json_and_back_to_back_json_documents(tmp_path):
    text = json.dumps(kubectl_list(NS), indent=4) + "\n" + json.dumps(kubectl_list(SVC), indent=4)
    view = snapshot.load(write(tmp_path, "d.json", text)).view()
    assert [o["kind"] for o in view.objects("Namespace") + view.objects("Service")] == ["Namespace", "Service"]


def test_typed_api_list_gives_kinds_to_items_and_records_empty_kinds(tmp_path):
    pods = {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []}
    svcs = {"kind": "ServiceList", "apiVersion": "v1", "metadata": {}, "items": [{k: v for k, v in SVC.items() if k != "kind"}]}
    view = snapshot.load(write(tmp_path, "d.yaml", yaml.safe_dump_all([pods, svcs]))).view()
    assert view.objects("Pod") == []  # listed and empty: absence means something
    assert view.objects("Service")[0]["kind"] == "Service"


def test_multi_document_yaml_single_objects_and_kubectl_warnings(tmp_path):
    text = "Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice\n"
    text += yaml.safe_dump_all([NS, SVC])
    view = snapshot.load(write(tmp_path, "d.yaml", text)).view()
    assert len(view.objects("Service")) == 1


def test_folder_of_dumps_merges_and_dedupes_by_uid_keeping_newest(tmp_path):
    newer = {**SVC, "metadata": {**SVC["metadata"], "resourceVersion": "300"}, "spec": {"clusterIP": "10.96.0.2"}}
    write(tmp_path, "a.yaml", yaml.safe_dump(kubectl_list(NS, SVC)))
    write(tmp_path, "b.json", json.dumps(kubectl_list(newer)))
    write(tmp_path, "notes.txt", "ignored")
    view = snapshot.load(tmp_path).view()
    assert [s["spec"]["clusterIP"] for s in view.objects("Service")] == ["10.96.0.2"]


def test_utf16_dump_from_powershell(tmp_path):
    view = snapshot.load(write(tmp_path, "d.yaml", yaml.safe_dump(kubectl_list(SVC)).encode("utf-16"))).view()
    assert view.get("Service", "default", "kubernetes")


@pytest.mark.parametrize(
    "content, words",
    [
        ("", "is empty"),
        ("   \n\n", "is empty"),
        ("apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: a\n", "looks truncated"),
        ('{"apiVersion": "v1", "items": [{"kind": "Service", "metad', "not valid JSON"),
        ("apiVersion: v1\nitems:\n- kind: Service\n  metadata: {name: [\n", "not valid YAML"),
        ("lab: service-discovery\nsteps: []\n", "not a Kubernetes object"),
        ("- 1\n- 2\n", "item 1 is not a Kubernetes object"),
        ("apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  spec: {}\n", "has no metadata.name"),
        ("apiVersion: v1\nkind: List\nitems: []\n", "holds no Kubernetes objects"),
        ("just some words\n", "not a Kubernetes object"),
        (b"\xff\xfe\x00\xd8broken", "not UTF-8 text"),
    ],
)
def test_bad_dumps_are_one_line_errors_naming_the_file(tmp_path, content, words):
    p = write(tmp_path, "bad.yaml", content)
    with pytest.raises(InputError) as exc:
        snapshot.load(p)
    message = str(exc.value)
    assert message.startswith(str(p)), message
    assert words in message
    assert "\n" not in message


def test_missing_file_and_empty_folder(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        snapshot.load(tmp_path / "nope.yaml")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .yaml"):
        snapshot.load(tmp_path / "empty")


def test_bundle_carries_phase_namespace_kinds_and_probes(tmp_path):
    bundle = {
        "apiVersion": "labgrade/v1", "kind": "Snapshot",
        "metadata": {"phase": "built", "namespace": "lab-42", "collectedAt": "2026-11-27T08:00:00Z", "kinds": ["Pod"]},
        "items": [SVC],
        "probes": [
            {"type": "exec", "namespace": "lab-42", "pod": "clientpod", "argv": ["wget", "-q"], "stdout": "It works!",
             "stderr": "", "exitCode": 0},
            {"type": "dns", "qname": "service1.lab-42.svc.cluster.local", "rdtype": "A", "rcode": "NOERROR", "answers": ["10.96.5.5"]},
        ],
    }
    snap = snapshot.load(write(tmp_path, "b.yaml", yaml.safe_dump(bundle)))
    assert (snap.phase, snap.namespace) == ("built", "lab-42")
    view = snap.view()
    assert view.objects("Pod") == []
    assert view.exec("lab-42", "clientpod", ["wget", "-q"]).stdout == "It works!"
    assert view.dns("SERVICE1.lab-42.svc.cluster.local.").answers == ("10.96.5.5",)


# -- Secrets: dumped from the lab namespace only ---------------------------------------

SECRET_LAB = """\
lab: secret-lab
title: {zh: 机密, en: Secrets}
namespace: lab
steps:
  - id: build
    phase: built
    title: {zh: 建, en: build}
    checks:
      - id: made
        use: object.exists
        points: 1
        title: {zh: 有, en: made}
        hint: {zh: 建, en: create it}
        with: {kind: Secret, name: app-secret}
  - id: clean
    phase: cleaned
    title: {zh: 删, en: clean}
    checks:
      - id: gone
        use: object.absent
        points: 1
        title: {zh: 无, en: gone}
        hint: {zh: 删, en: delete it}
        with: {kind: Secret, names: [app-secret]}
      - id: elsewhere-gone
        use: object.absent
        points: 1
        title: {zh: 无, en: gone}
        hint: {zh: 删, en: delete it}
        with: {kind: Secret, names: [copy], namespace: other}
"""


def _secret(name, ns, uid):
    # as the API serves a list's items: no kind, no apiVersion
    return {"metadata": {"name": name, "namespace": ns, "uid": uid, "resourceVersion": "5"}, "type": "Opaque",
            "data": {"k": "dg=="}}


def _recipe_folder(tmp_path: Path, name: str, secrets: list) -> Path:
    """What `labgrade dump-command` prints for a Secret-reading rubric: a folder
    with the -A dump and the lab namespace's `kubectl get --raw` SecretList
    (compact JSON, as the API sends it)."""
    folder = tmp_path / name
    folder.mkdir()
    lab_ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lab", "uid": "u-lab"}}
    write(folder, "cluster.yaml", yaml.safe_dump(kubectl_list(NS, lab_ns, SVC)))
    write(folder, "secrets.json", json.dumps({"kind": "SecretList", "apiVersion": "v1",
                                              "metadata": {"resourceVersion": "9"}, "items": secrets},
                                             separators=(",", ":")))
    return folder


def test_a_folder_from_the_secret_recipe_proves_lab_secrets_gone_and_claims_no_other(tmp_path):
    from grader.cli import main

    (tmp_path / "lab.yaml").write_text(SECRET_LAB, encoding="utf-8")
    built = _recipe_folder(tmp_path, "built", [_secret("app-secret", "lab", "u-s1")])
    cleaned = _recipe_folder(tmp_path, "cleaned", [])  # the empty SecretList still names its kind
    out = tmp_path / "r.json"
    assert main(["grade", "--rubric", str(tmp_path / "lab.yaml"), "--snapshot", f"built={built}",
                 "--snapshot", f"cleaned={cleaned}", "--json", str(out), "-q"]) == 0
    checks = {c["id"]: c for s in json.loads(out.read_text(encoding="utf-8"))["steps"] for c in s["checks"]}
    assert checks["made"]["status"] == "passed"
    assert checks["gone"]["status"] == "passed"
    assert checks["elsewhere-gone"]["status"] == "error"
    assert "namespace lab only" in json.dumps(checks["elsewhere-gone"], ensure_ascii=False)


def test_a_dump_view_lists_secrets_in_the_lab_namespace_only(tmp_path):
    from grader.engine import _scoped

    snap = snapshot.load(_recipe_folder(tmp_path, "d", [_secret("a", "lab", "u-a")]))
    view = _scoped(snap.view(), "lab")
    assert [o["metadata"]["name"] for o in view.objects("Secret")] == ["a"]
    assert view.get("Secret", "lab", "b") is None  # listed there: absent is absent
    with pytest.raises(MissingKind):
        view.get("Secret", "other", "b")
    assert view.get("Service", "default", "kubernetes") is not None  # other kinds keep -A
    assert _scoped(snap.view(), "lab").objects("Namespace")


def test_a_dump_without_secrets_points_at_dump_command_not_at_minus_A(tmp_path):
    view = snapshot.load(write(tmp_path, "d.yaml", yaml.safe_dump(kubectl_list(NS, SVC)))).view()
    with pytest.raises(MissingKind) as exc:
        view.objects("Secret", "lab")
    assert "dump-command" in str(exc.value) and "-A" not in str(exc.value)
