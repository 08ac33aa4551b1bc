"""No credential is ever printed: not the bearer token (inline, from a
token file ending in a newline, as a YAML block scalar), not what an exec
plugin printed, not a basic-auth password, not a client key; in no output
(console, JUnit, JSON, HTML; batch's gradebook.csv, junit.xml, summary.md,
error.txt). The stand-in's fault quotes the credential back in its error
message, which is the worst a server (or a library's exception text) can do.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import sys
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("aiohttp")

from grader import redact  # noqa: E402
from grader.cli import main  # noqa: E402
from grader.sources.live import api_client  # noqa: E402
from tests.standin.fixtures import load_dump, make_standin  # noqa: E402,F401

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "service-discovery"


def built() -> list[dict]:
    return load_dump(EXAMPLES / "correct" / "built.yaml")


def kubeconfig(server, tmp_path: Path, user: dict, name: str = "kubeconfig") -> Path:
    config = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "standin", "cluster": {"server": server.url}}],
        "users": [{"name": "standin", "user": user}],
        "contexts": [{"name": "standin", "context": {"cluster": "standin", "user": "standin"}}],
        "current-context": "standin",
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def exec_plugin(token: str) -> dict:
    out = json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                      "status": {"token": token}})
    return {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable,
                     "args": ["-c", f"print({out!r})"], "interactiveMode": "Never"}}


def users(tmp_path: Path, secret: str) -> dict[str, dict]:
    token_file = tmp_path / "token"
    token_file.write_text(secret + "\n")  # what `kubectl create token ... > file` writes
    return {
        "inline-token": {"token": secret},
        "token-file-with-newline": {"tokenFile": str(token_file)},
        "block-scalar-token": {"token": secret + "\n"},
        "exec-plugin-output": exec_plugin(secret),
        "basic-auth-password": {"username": "grader", "password": secret},
    }


FORMS = ["inline-token", "token-file-with-newline", "block-scalar-token", "exec-plugin-output", "basic-auth-password"]


def outputs(tmp_path: Path) -> list[str]:
    return ["--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml"), "--html", str(tmp_path / "r.html")]


def read_outputs(tmp_path: Path) -> str:
    return "".join((tmp_path / f).read_text(encoding="utf-8") for f in ("r.json", "r.xml", "r.html"))


@pytest.mark.parametrize("form", FORMS)
def test_a_server_quoting_the_credential_back_never_gets_it_into_a_report(make_standin, tmp_path, capsys, form):
    secret = f"Zq8-{form}-s3cr3t-value"
    server = make_standin(built(), token=secret)
    # Retry-After: the grader's retries wait what the server asks, not their 1.75 s of backoff.
    server.faults.add("GET", r"/pods$", times=None, status=500, message=f"etcd timeout for Bearer {secret}",
                      retry_after="0.01")
    cfg = kubeconfig(server, tmp_path, users(tmp_path, secret)[form])
    rc = main(["grade", "--rubric", "service-discovery", "--kubeconfig", str(cfg), "--no-poll", "--no-color",
               *outputs(tmp_path)])
    out, err = capsys.readouterr()
    assert rc in (0, 2)
    everything = out + err + read_outputs(tmp_path)
    assert "etcd timeout" in everything  # the message is there, only the secret is masked
    assert secret not in everything
    assert "[redacted]" in everything


def test_a_credential_across_the_cut_of_a_servers_exec_refusal_is_masked_whole(make_standin, tmp_path, capsys):
    """The exec's refusal is cut to 300 characters: cut first, the token's
    head would stay in the message, no longer the registered string."""
    secret = "Zq8-exec-refusal-s3cr3t-value-0123456789"
    server = make_standin(built(), token=secret)
    server.faults.add("GET", r"/exec$", times=None, status=500, message="A" * 280 + " the token " + secret)
    cfg = kubeconfig(server, tmp_path, users(tmp_path, secret)["inline-token"])
    rc = main(["grade", "--rubric", "service-discovery", "--kubeconfig", str(cfg), "--no-poll", "--no-color",
               *outputs(tmp_path)])
    out, err = capsys.readouterr()
    everything = out + err + read_outputs(tmp_path)
    assert rc in (0, 2) and "exec failed (500)" in everything
    assert secret[:12] not in everything and "the token [redacted" in everything  # the mask is what was cut


def test_a_list_failure_quoting_the_credential_across_its_cut_is_masked_whole(make_standin, tmp_path, capsys):
    secret = "Zq8-list-refusal-s3cr3t-value-0123456789"
    server = make_standin(built(), token=secret)
    server.faults.add("GET", r"/pods$", times=None, status=500, message="B" * 280 + " the token " + secret,
                      retry_after="0.01")
    cfg = kubeconfig(server, tmp_path, users(tmp_path, secret)["inline-token"])
    rc = main(["grade", "--rubric", "service-discovery", "--kubeconfig", str(cfg), "--no-poll", "--no-color",
               *outputs(tmp_path)])
    out, err = capsys.readouterr()
    everything = out + err + read_outputs(tmp_path)
    assert rc in (0, 2) and "BBBB" in everything
    assert secret[:8] not in everything  # the cut at 300 fell 9 characters into it


@pytest.mark.parametrize("limit", [9, 12, 20, 200])
def test_clip_masks_before_it_cuts(limit):
    redact.register("clip-s3cr3t-0123456789")
    clipped = redact.clip("x" * 8 + "clip-s3cr3t-0123456789 and more", limit)
    assert len(clipped) <= limit and "clip-s3cr3t"[: limit - 8] not in clipped
    assert clipped.startswith("x" * 8 + "[redacted]"[: limit - 8])


def test_a_token_file_ending_in_a_newline_is_trimmed_as_kubectl_does(make_standin, tmp_path, capsys):
    secret = "tok-with-newline-9f3e1"
    server = make_standin(built(), token=secret)
    cfg = kubeconfig(server, tmp_path, users(tmp_path, secret)["token-file-with-newline"])
    assert main(["grade", "--rubric", "service-discovery", "--kubeconfig", str(cfg), "--no-poll", *outputs(tmp_path)]) == 0
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["totals"]["earned"] == 85  # graded, not 85 points of "Invalid header value"
    assert secret not in capsys.readouterr().out + read_outputs(tmp_path)


def test_a_block_scalar_token_is_trimmed_too(make_standin, tmp_path):
    secret = "tok-block-scalar-77aa"
    server = make_standin(built(), token=secret)
    cfg = kubeconfig(server, tmp_path, users(tmp_path, secret)["block-scalar-token"])
    assert main(["grade", "--rubric", "service-discovery", "--kubeconfig", str(cfg), "--no-poll", "-q",
                 "--json", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["totals"]["earned"] == 85


def test_a_client_key_is_registered_and_masked(tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("grader")
    key_pem = cert.private_key_pem.bytes().decode()
    key_file = tmp_path / "client.key"
    key_file.write_text(key_pem)
    cert_file = tmp_path / "client.crt"
    cert_file.write_bytes(cert.cert_chain_pems[0].bytes())
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(ca.cert_pem.bytes())
    config = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1", "certificate-authority": str(ca_file)}}],
        "users": [{"name": "u", "user": {"client-certificate": str(cert_file), "client-key": str(key_file)}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    api_client(str(path), None).close()
    body_line = next(line for line in key_pem.splitlines() if "-----" not in line and len(line) > 40)
    assert body_line not in redact.text(f"ssl error near {body_line}")
    assert "PRIVATE KEY" not in redact.text(key_pem)


def test_the_authorization_header_is_masked_even_unregistered():
    assert "abc123def456" not in redact.text("Invalid header value b'Bearer abc123def456\\n'")
    assert redact.text("Basic authentication needs a password") == "Basic authentication needs a password"


def test_a_secret_containing_another_is_masked_whole_and_regex_characters_are_literal():
    redact.register("s3cr.t+[x]", "s3cr.t+[x]-and-more")
    assert redact.text("got s3cr.t+[x]-and-more and s3cr.t+[x]") == "got [redacted] and [redacted]"
    assert redact.text("s3crXt+[x]") == "s3crXt+[x]"  # the dot is a dot, not any character


def test_a_report_without_secrets_comes_back_as_the_same_object_and_one_with_a_secret_is_masked_deep_inside():
    from grader.i18n import Text
    from grader.outcome import CheckResult, GradeReport, Outcome, Status, StepResult

    check = CheckResult("svc", "service_exists", Text("服务", "service"), Text("提示", "hint"), 5, 5,
                        Outcome(Status.PASSED, Text("有", "found"), 1.0, notes=(Text("注", "note"),)))
    clean = GradeReport("lab", Text("实验", "lab"), "ns", "1", (StepResult("s1", "build", Text("一", "one"), 5, (check,)),))
    assert redact.report(clean) is clean
    redact.register("tok-9f8e7d6c")
    leaky = dataclasses.replace(clean, steps=(dataclasses.replace(clean.steps[0], checks=(dataclasses.replace(
        check, outcome=Outcome(Status.PASSED, Text("有", "found"), 1.0, notes=(Text("注", "Bearer? tok-9f8e7d6c"),))),)),))
    masked = redact.report(leaky)
    assert masked.steps[0].checks[0].outcome.notes[0].en == "Bearer? [redacted]"
    assert masked.steps[0].checks[0].title is check.title  # what held no secret is not copied


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_batch_files_never_hold_a_credential(make_standin, tmp_path, capsys):
    secret = "batch-s3cr3t-token-41"
    # The students' namespaces exist (a roster namespace that does not is an error row of its own).
    spaces = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "uid": f"ns-{n}"}} for n in ("lab-a", "lab-b")]
    server = make_standin(built() + spaces, token=secret)
    server.faults.add("GET", r"/namespaces/lab-b/", times=None, status=500, message=f"denied for token {secret}")
    server.faults.add("GET", r"/namespaces/lab-a/pods$", times=None, status=500, message=f"slow, token {secret}")
    cls = tmp_path / "class"
    cls.mkdir()
    # Each student has her own kubeconfig (so each takes her own reads), with the token in a file.
    for sid in ("a", "b"):
        kubeconfig(server, cls, users(cls, secret)["token-file-with-newline"], name=f"kc-{sid}")
    (cls / "roster.csv").write_text("student_id,namespace,kubeconfig\na,lab-a,kc-a\nb,lab-b,kc-b\n")
    out = tmp_path / "out"
    rc = main(["batch", str(cls / "roster.csv"), "--rubric", "service-discovery", "--out", str(out), "--no-poll", "-q"])
    printed = "".join(capsys.readouterr())
    assert rc == 1  # b is an error row
    files = [out / n for n in ("gradebook.csv", "junit.xml", "summary.md", "canvas.csv")]
    files += [p for p in (out / "a").iterdir()] + [out / "b" / "error.txt"]
    text = printed + "".join(p.read_text(encoding="utf-8") for p in files)
    assert "denied for token" in text and "slow, token" in text
    assert secret not in text
    rows = {r["student_id"]: r for r in read_csv(out / "gradebook.csv")}
    assert rows["b"]["status"] == "error" and "[redacted]" in rows["b"]["error"]


def test_a_batch_error_row_masks_a_credential_before_cutting_its_message(tmp_path, monkeypatch, capsys):
    """An internal error's message is cut to 300 characters for the row: cut
    first, a credential across the cut was no longer the registered string,
    and all of it but its tail reached error.txt, gradebook.csv and junit.xml."""
    from grader import engine

    secret = "cut-s3cr3t-token-0123456789abcdef"
    redact.register(secret)

    def leaky(*args, **kwargs):
        raise RuntimeError("x" * 250 + f" token={secret} in a request")  # the cut falls in the token

    monkeypatch.setattr(engine, "grade", leaky)
    (tmp_path / "roster.csv").write_text(
        f"student_id,built\na,{EXAMPLES / 'correct' / 'built.yaml'}\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["batch", str(tmp_path / "roster.csv"), "--rubric", "service-discovery", "--out", str(out),
                 "-q", "--lang", "en"]) == 1
    printed = "".join(capsys.readouterr())
    text = printed + "".join((out / n).read_text(encoding="utf-8")
                             for n in ("gradebook.csv", "junit.xml", "summary.md", "a/error.txt"))
    assert "internal grader error: RuntimeError" in text
    assert secret[:8] not in text


# -- credential commands in roster-named kubeconfigs ------------------------------------

def pwned_plugin(marker: Path, token: str) -> dict:
    out = json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                      "status": {"token": token}})
    code = f"open({str(marker)!r}, 'w').write('ran'); print({out!r})"
    return {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable,
                     "args": ["-c", code], "interactiveMode": "Never"}}


def test_a_roster_kubeconfig_with_an_exec_plugin_never_runs_it(make_standin, tmp_path, capsys):
    server = make_standin(built())
    cls = tmp_path / "class"
    cls.mkdir()
    marker = tmp_path / "PWNED"
    kubeconfig(server, cls, pwned_plugin(marker, server.token), name="kc-mallory")
    kubeconfig(server, cls, {"auth-provider": {"name": "oidc", "config": {"id-token": "x" * 20}}}, name="kc-oidc")
    (cls / "roster.csv").write_text("student_id,namespace,kubeconfig\nmallory,default,kc-mallory\noscar,default,kc-oidc\n")
    out = tmp_path / "out"
    rc = main(["batch", str(cls / "roster.csv"), "--rubric", "service-discovery", "--out", str(out), "--no-poll", "-q"])
    capsys.readouterr()
    assert rc == 1
    assert not marker.exists()  # the command never ran
    rows = {r["student_id"]: r for r in read_csv(out / "gradebook.csv")}
    assert rows["mallory"]["status"] == "error"
    assert "exec credential plugin" in rows["mallory"]["error"] and "--allow-exec-credentials" in rows["mallory"]["error"]
    assert rows["oscar"]["status"] == "error" and "auth-provider" in rows["oscar"]["error"]
    assert "--allow-exec-credentials" in (out / "mallory" / "error.txt").read_text(encoding="utf-8")


def test_allow_exec_credentials_lets_the_teacher_trust_the_roster(make_standin, tmp_path, capsys):
    server = make_standin(built())
    cls = tmp_path / "class"
    cls.mkdir()
    marker = tmp_path / "ran"
    kubeconfig(server, cls, pwned_plugin(marker, server.token), name="kc-eks")
    (cls / "roster.csv").write_text("student_id,namespace,kubeconfig\nalice,default,kc-eks\n")
    out = tmp_path / "out"
    rc = main(["batch", str(cls / "roster.csv"), "--rubric", "service-discovery", "--out", str(out), "--no-poll", "-q",
               "--allow-exec-credentials"])
    capsys.readouterr()
    assert rc == 0 and marker.exists()
    assert read_csv(out / "gradebook.csv")[0]["status"] == "ok"


@pytest.mark.parametrize("field", ["tokenFile", "client-key", "client-certificate"])
def test_a_roster_kubeconfig_cannot_send_the_graders_own_credential_files_to_its_server(
        make_standin, tmp_path, capsys, field):
    """``tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token`` (the
    grading Job's own token) or a teacher's ~/.kube file, named by a student's
    kubeconfig whose server is the student's: the client reads the file and
    sends it there. A roster kubeconfig reads credential files from its own
    folder only (symlinks resolved)."""
    server = make_standin(built())
    teacher = tmp_path / "teacher"
    teacher.mkdir()
    secret_file = teacher / "token"
    secret_file.write_text(server.token + "\n")  # the grader's own credential, outside the class folder
    cls = tmp_path / "class"
    cls.mkdir()
    (cls / "link").symlink_to(secret_file)  # a planted symlink is no way around it
    kubeconfig(server, cls, {field: str(secret_file)}, name="kc-abs")
    kubeconfig(server, cls, {field: "link"}, name="kc-link")
    kubeconfig(server, cls, {field: "../teacher/token"}, name="kc-up")
    (cls / "roster.csv").write_text("student_id,namespace,kubeconfig\n"
                                    "abs,default,kc-abs\nlink,default,kc-link\nup,default,kc-up\n")
    out = tmp_path / "out"
    rc = main(["batch", str(cls / "roster.csv"), "--rubric", "service-discovery", "--out", str(out), "--no-poll", "-q"])
    capsys.readouterr()
    assert rc == 1
    assert server.requests == []  # nothing was sent anywhere
    for row in read_csv(out / "gradebook.csv"):
        assert row["status"] == "error", row
        assert field in row["error"] and "outside the kubeconfig's folder" in row["error"]
        assert "--allow-exec-credentials" in row["error"]


def test_a_roster_kubeconfig_may_name_credential_files_beside_it(make_standin, tmp_path, capsys):
    server = make_standin(built())
    cls = tmp_path / "class"
    (cls / "alice").mkdir(parents=True)
    (cls / "alice" / "token").write_text(server.token + "\n")
    kubeconfig(server, cls / "alice", {"tokenFile": "token"}, name="kubeconfig")
    (cls / "roster.csv").write_text("student_id,namespace,kubeconfig\nalice,default,alice/kubeconfig\n")
    out = tmp_path / "out"
    rc = main(["batch", str(cls / "roster.csv"), "--rubric", "service-discovery", "--out", str(out), "--no-poll", "-q"])
    capsys.readouterr()
    assert rc == 0 and read_csv(out / "gradebook.csv")[0]["status"] == "ok"


@pytest.mark.parametrize("code, seconds, words", [
    ("import time; time.sleep(600)", 1.0, "did not finish within 1 s"),  # grade hung before its first request
    ("import os, sys\nwhile True: os.write(1, b'x' * 65536)", 30.0, "printed more than 1 MB"),  # all kept: 330 MB
])
def test_an_exec_plugin_that_never_ends_or_prints_without_end_is_stopped(make_standin, tmp_path, capsys, caplog,
                                                                          monkeypatch, code, seconds, words):
    """Run by the client (a trusted kubeconfig): bounded in time and output, the
    plugin killed, and the run goes on as with any plugin that fails (401 here)."""
    import threading

    from grader.sources import kubeconfig as kc

    monkeypatch.setattr(kc, "EXEC_PLUGIN_SECONDS", seconds)
    server = make_standin(built())
    plugin = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable,
                       "args": ["-c", code], "interactiveMode": "Never"}}
    cfg = kubeconfig(server, tmp_path, plugin)
    box: dict = {}
    t = threading.Thread(target=lambda: box.setdefault("rc", main(
        ["grade", "--rubric", "service-discovery", "--kubeconfig", str(cfg), "--no-poll", "-q"])), daemon=True)
    started = time.monotonic()
    t.start()
    t.join(60)
    assert not t.is_alive(), "the plugin was waited on without end"
    _, err = capsys.readouterr()
    assert time.monotonic() - started < 45
    assert box["rc"] == 2 and "credentials were rejected (401" in err
    assert words in caplog.text  # the client logs a plugin that failed (logging.error)
