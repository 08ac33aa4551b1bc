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
