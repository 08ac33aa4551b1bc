"""A cluster that cannot be reached and a kubeconfig that cannot be read:
one line naming the server (or file and line) and the cause, exit 2, the
report still written with every check ``error``, and no exception class
name in anything a person reads."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("aiohttp")

from grader.cli import main  # noqa: E402
from tests.standin.fixtures import load_dump, make_standin, shorten_request_deadline  # noqa: E402,F401
from tests.standin.server import StandIn  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "service-discovery"
CLASS_NAMES = re.compile(r"Error\b|Exception|urllib3|MaxRetry|HTTPConnection|Traceback|object at 0x")


def built() -> list[dict]:
    return load_dump(EXAMPLES / "correct" / "built.yaml")


def grade(cfg: Path, tmp_path: Path, capsys) -> tuple[int, str, dict]:
    out = tmp_path / "r.json"
    rc = main(["grade", "--rubric", "service-discovery", "--kubeconfig", str(cfg), "--no-poll", "--no-color",
               "--json", str(out)])
    _, err = capsys.readouterr()
    return rc, err, json.loads(out.read_text(encoding="utf-8"))


def messages(report: dict) -> list[str]:
    return [c["message"][lang] for s in report["steps"] for c in s["checks"] for lang in ("en", "zh")]


def assert_unreachable(rc: int, err: str, report: dict, server: str, cause: str) -> None:
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0] == f"labgrade: error: cannot reach the API server at {server}: {cause}"
    built_checks = [c for s in report["steps"] if s["phase"] == "built" for c in s["checks"]]
    assert {c["status"] for c in built_checks} == {"error"}
    assert all(server in c["message"]["en"] for c in built_checks)
    assert not any(CLASS_NAMES.search(m) for m in messages(report) + lines)


def test_a_stopped_api_server_is_one_line_with_the_address_and_refused(tmp_path, capsys):
    server = StandIn([]).start()
    cfg = server.kubeconfig_path(tmp_path)
    url = server.url
    server.stop()
    rc, err, report = grade(cfg, tmp_path, capsys)
    assert_unreachable(rc, err, report, url, "connection refused (the API server is not running, or the address or port is wrong)")


def test_rejected_credentials_are_one_line_with_401(make_standin, tmp_path, capsys):
    server = make_standin(built())
    rc, err, report = grade(server.kubeconfig_path(tmp_path, token="wrong-token-123"), tmp_path, capsys)
    assert_unreachable(rc, err, report, server.url, "the credentials were rejected (401: invalid or expired token)")


def test_tls_to_a_plain_http_server_is_one_line_with_tls(make_standin, tmp_path, capsys):
    server = make_standin(built())
    cfg = server.kubeconfig_path(tmp_path)
    https = server.url.replace("http://", "https://")
    cfg.write_text(cfg.read_text().replace(server.url, https))
    rc, err, report = grade(cfg, tmp_path, capsys)
    assert_unreachable(rc, err, report, https, "its TLS certificate is not trusted (check certificate-authority in the kubeconfig)")


def test_a_server_that_never_answers_is_one_line_with_timed_out(make_standin, tmp_path, capsys, monkeypatch):
    shorten_request_deadline(monkeypatch, 1.0)  # the same cut as at the production 12 s, sooner
    server = make_standin(built())
    server.faults.add("*", r".*", times=None, hang=True)
    rc, err, report = grade(server.kubeconfig_path(tmp_path), tmp_path, capsys)
    assert_unreachable(rc, err, report, server.url, "timed out (no answer)")


def test_the_unreachable_line_is_public_for_check_and_batch(tmp_path):
    from grader.sources.live import LiveSource, Retry, api_client
    from grader.sources.unreachable import Unreachable

    server = StandIn([]).start()
    cfg = server.kubeconfig_path(tmp_path)
    server.stop()
    src = LiveSource(api_client(str(cfg), None), "default", "built", retry=Retry(attempts=1, sleep=lambda s: None))
    src.view()
    assert isinstance(src.unreachable, Unreachable)
    assert src.unreachable.line("en").startswith(f"cannot reach the API server at {server.url}: connection refused")
    assert src.unreachable.line("zh").startswith(f"无法连接 API server {server.url}")


@pytest.mark.parametrize("text, line, words", [
    ("apiVersion: v1\ncurrent-context: a\n\tclusters: []\n", 3, "a YAML syntax error"),
    ("apiVersion: v1\nclusters: oops\n", 2, "'clusters' must be a list"),
    ("- just\n- a list\n", None, "not a mapping"),
])
def test_a_malformed_kubeconfig_is_one_line_with_file_and_line(tmp_path, capsys, text, line, words):
    cfg = tmp_path / "kubeconfig"
    cfg.write_text(text)
    rc = main(["grade", "--rubric", "service-discovery", "--kubeconfig", str(cfg), "--no-poll"])
    _, err = capsys.readouterr()
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    where = f"{cfg}:{line}:" if line else f"{cfg}:"
    assert err.startswith(f"labgrade: error: {where}") and words in err


@pytest.mark.parametrize("section, field, target, words", [
    # a device (/dev/zero filled memory without end; /dev/null here, harmless if this regresses)
    ("users", "tokenFile", "/dev/null", "is not a regular file"),
    ("clusters", "certificate-authority", "fifo", "is not a regular file"),  # open() blocked for ever
    ("users", "client-key", "big.pem", "is over 4 MB"),
])
def test_a_credential_file_that_is_a_device_a_pipe_or_huge_is_one_line(tmp_path, capsys, section, field, target, words):
    import os
    import threading

    if target == "fifo":
        os.mkfifo(tmp_path / "fifo")
    elif target == "big.pem":
        (tmp_path / "big.pem").write_bytes(b"x" * (4 * 1024 * 1024 + 1))
    cluster = {"server": "https://127.0.0.1:1", **({field: target} if section == "clusters" else {})}
    user = {field: target} if section == "users" else {"token": "abcd1234"}
    cfg = tmp_path / "kubeconfig"
    cfg.write_text(json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": "c",
                               "clusters": [{"name": "k", "cluster": cluster}], "users": [{"name": "u", "user": user}],
                               "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}]}))
    box: dict = {}
    t = threading.Thread(target=lambda: box.setdefault(
        "rc", main(["grade", "--rubric", "service-discovery", "--kubeconfig", str(cfg), "--no-poll"])), daemon=True)
    t.start()
    t.join(30)
    assert not t.is_alive(), "blocked on the file"
    _, err = capsys.readouterr()
    assert box["rc"] == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"labgrade: error: {cfg}: ") and f"{field} {target}" in err and words in err


def test_a_batch_row_of_an_unreachable_cluster_shows_the_one_line(tmp_path, capsys):
    import csv
    import io

    server = StandIn([]).start()
    cls = tmp_path / "class"
    cls.mkdir()
    server.kubeconfig_path(cls, filename="kc")
    url = server.url
    server.stop()
    (cls / "roster.csv").write_text("student_id,namespace,kubeconfig\nalice,default,kc\n")
    out = tmp_path / "out"
    assert main(["batch", str(cls / "roster.csv"), "--rubric", "service-discovery", "--out", str(out), "-q",
                 "--no-poll"]) == 1
    capsys.readouterr()
    row = next(csv.DictReader(io.StringIO((out / "gradebook.csv").read_text(encoding="utf-8-sig"))))
    assert row["status"] == "error"
    assert row["error"].startswith(f"cannot reach the API server at {url}: connection refused")
    assert not CLASS_NAMES.search(row["error"])


def test_state_files_load_without_libyaml(tmp_path):
    """bundle.py used yaml.CSafeLoader with no pure-Python fallback."""
    import subprocess
    import sys

    from grader.sources import bundle

    state = tmp_path / "state.yaml"
    state.write_text(bundle.dump([{"apiVersion": "labgrade/v1", "kind": "Snapshot",
                                   "metadata": {"phase": "built", "namespace": "default", "kinds": ["Pod"]},
                                   "items": [], "probes": []}]))
    code = (
        "import yaml\n"
        "for name in ('CSafeLoader', 'CLoader', 'CParser'):\n"
        "    if hasattr(yaml, name): delattr(yaml, name)\n"
        "from grader.sources import bundle\n"
        f"text = bundle.merge_state({str(state)!r}, {{'apiVersion': 'labgrade/v1', 'kind': 'Snapshot', "
        "'metadata': {'phase': 'cleaned', 'namespace': 'default', 'kinds': []}, 'items': [], 'probes': []})\n"
        "assert 'phase: built' in text and 'phase: cleaned' in text\n"
        f"assert set(bundle.load_state({str(state)!r})) == {{'built'}}\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
