"""Inside a pod the grader has no kubeconfig: it uses the service account
(token and CA mounted by the kubelet, the API server's address in the
environment), over https like every real API server. The stand-in serves
TLS with a throwaway CA so the real client's in-cluster path runs end to end."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

trustme = pytest.importorskip("trustme")
pytest.importorskip("aiohttp")

from grader.cli import main  # noqa: E402
from tests.standin.fixtures import load_dump, make_standin  # noqa: E402,F401

CORRECT = Path(__file__).resolve().parents[2] / "examples" / "service-discovery" / "correct"
SA_TOKEN = "service-account-token"


def write_tls(folder: Path, ca) -> tuple[str, str, str]:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    key, chain, ca_path = folder / "tls.key", folder / "tls.crt", folder / "ca.crt"
    cert.private_key_pem.write_to_path(str(key))
    chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    ca.cert_pem.write_to_path(str(ca_path))
    return str(chain), str(key), str(ca_path)


@pytest.fixture
def in_a_pod(tmp_path, monkeypatch):
    """The environment a Job's pod gives the grader: no kubeconfig, a
    mounted service account, KUBERNETES_SERVICE_HOST/PORT."""
    import kubernetes.config.incluster_config as incluster

    tls = write_tls(tmp_path, trustme.CA())
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(SA_TOKEN)
    monkeypatch.setattr(incluster, "SERVICE_TOKEN_FILENAME", str(account / "token"))
    monkeypatch.setattr(incluster, "SERVICE_CERT_FILENAME", tls[2])
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.kube/config

    def serve(make, objects, *, trusted=True):
        if not trusted:  # a certificate from a CA the pod was not given
            (tmp_path / "other").mkdir()
        server = make(objects, token=SA_TOKEN, tls=tls if trusted else write_tls(tmp_path / "other", trustme.CA()))
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server.port))
        return server

    return serve


def test_grading_in_a_pod_uses_the_service_account_over_https(make_standin, in_a_pod, tmp_path, capsys):
    server = in_a_pod(make_standin, load_dump(CORRECT / "built.yaml"))
    out = tmp_path / "report.json"
    assert main(["grade", "--rubric", "service-discovery", "--no-poll", "--json", str(out), "-q"]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    checks = {c["id"]: c for s in report["steps"] for c in s["checks"]}
    assert checks["deployment1-replicas"]["status"] == "passed", checks["deployment1-replicas"]["message"]["en"]
    assert checks["clientpod-wget-service2"]["status"] == "passed"  # exec over wss, verified against the mounted CA
    assert checks["service2-dns"]["status"] == "passed"  # port-forward over wss
    assert report["totals"]["earned"] == 85
    assert server.requests and server.writes == []


def test_an_api_server_certificate_the_pod_does_not_trust_is_an_error_not_lost_points(make_standin, in_a_pod, tmp_path, capsys):
    in_a_pod(make_standin, load_dump(CORRECT / "built.yaml"), trusted=False)
    out = tmp_path / "report.json"
    # Nothing reached the API server: exit 2 and one line with the cause, the report still written.
    assert main(["grade", "--rubric", "service-discovery", "--no-poll", "--json", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("labgrade: error: cannot reach the API server at https://127.0.0.1:")
    assert "its TLS certificate is not trusted" in err and len(err.strip().splitlines()) == 1
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["totals"]["earned"] == 0
    statuses = {c["status"] for s in report["steps"] if s["phase"] == "built" for c in s["checks"]}
    assert statuses <= {"error", "skipped"}
    assert all(not c["graded"] for s in report["steps"] for c in s["checks"])
