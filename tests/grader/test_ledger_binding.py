"""Progress that cannot be forged into another student's or cluster's
grade: the three forgeries that once gave 100/100, each refused with one
line or marked unverified in every report.

1. Records written by a script with the key: they name no student and no
   cluster, so every step is marked unverified.
2. A genuinely signed ledger made by pointing ``check`` at a fake API server
   that served a dump of the real cluster (same uids): its CA differs from
   the real API server's, and ``grade --ledger`` refuses it.
3. A classmate's ledger graded with ``--student carol``: refused.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

trustme = pytest.importorskip("trustme")
pytest.importorskip("aiohttp")

from grader import rubric  # noqa: E402
from grader.classroom import check_cli, ledger
from grader.cli import main  # noqa: E402
from tests.standin.fixtures import load_dump, make_standin  # noqa: E402,F401

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "service-discovery" / "correct"
KEY = "class-of-2026"
LAB = rubric.load("service-discovery")


def tls_files(folder: Path) -> tuple[str, str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    key, chain, ca_path = folder / "tls.key", folder / "tls.crt", folder / "ca.crt"
    cert.private_key_pem.write_to_path(str(key))
    chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    ca.cert_pem.write_to_path(str(ca_path))
    return str(chain), str(key), str(ca_path)


def cluster(make_standin, folder: Path):
    """A 'cluster' over https with its own CA, serving the correct built dump."""
    return make_standin(load_dump(EXAMPLES / "built.yaml"), tls=tls_files(folder))


def check(server, tmp_path: Path, ledger_path: Path, *extra: str) -> None:
    parser = check_cli.add_parser(__import__("argparse").ArgumentParser().add_subparsers())
    args = parser.parse_args(["--rubric", "service-discovery", "--kubeconfig", str(server.kubeconfig_path(tmp_path)),
                              "--ledger", str(ledger_path), "--lang", "en", *extra])
    out = __import__("io").StringIO()
    assert check_cli.run(args, out=out) == 0, out.getvalue()


def grade(server, tmp_path: Path, ledger_path: Path, capsys, *extra: str) -> tuple[int, str, str, dict | None]:
    out = tmp_path / "final.json"
    out.unlink(missing_ok=True)
    rc = main(["grade", "--rubric", "service-discovery", "--ledger", str(ledger_path), "--json", str(out),
               "--junit", str(tmp_path / "final.xml"), "--html", str(tmp_path / "final.html"), "--no-color",
               "--kubeconfig", str(server.kubeconfig_path(tmp_path, filename="teacher-kubeconfig")), *extra])
    stdout, stderr = capsys.readouterr()
    return rc, stdout, stderr, json.loads(out.read_text(encoding="utf-8")) if out.exists() else None


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("LABGRADE_KEY", KEY)


def test_a_genuine_ledger_of_this_student_and_cluster_is_verified(make_standin, tmp_path, capsys):
    real = cluster(make_standin, tmp_path / "real")
    path = tmp_path / "ledger.jsonl"
    check(real, tmp_path, path, "--student", "alice")
    record = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert record["student"] == "alice" and record["cluster"]["ca"].startswith("sha256:")
    rc, out, err, report = grade(real, tmp_path, path, capsys, "--student", "alice")
    assert rc == 0, err
    assert "unverified" not in out and "not verified against" not in json.dumps(report)
    assert report["totals"]["earned"] == 85


def test_records_written_by_a_script_with_the_key_are_marked_unverified_everywhere(make_standin, tmp_path, capsys):
    real = cluster(make_standin, tmp_path / "real")
    path = tmp_path / "ledger.jsonl"
    book = ledger.Ledger(str(path), KEY.encode())
    step = LAB.steps[0]
    book.append([{"step": step.id, "lab": LAB.lab, "at": "2026-11-20T10:31:00Z", "namespace": "default",
                  "uids": {}, "probes": [],
                  "checks": [{"id": c.id, "status": "passed", "earned": c.points, "points": c.points} for c in step.checks]}])
    rc, out, err, report = grade(real, tmp_path, path, capsys, "--student", "alice")
    assert rc == 0
    marked = ("steps not verified against the graded cluster: step1, because the record names no student and "
              "cluster (an older labgrade, or written by hand)")
    assert marked in " ".join(out.split())  # the console (its note may wrap)
    assert marked in (tmp_path / "final.xml").read_text(encoding="utf-8")
    assert marked in (tmp_path / "final.html").read_text(encoding="utf-8")
    assert any(marked in n["en"] for n in report["notes"])
    step1 = next(s for s in report["steps"] if s["id"] == "step1")
    why = "unverified: the record names no student and cluster (an older labgrade, or written by hand)"
    assert all(any(n["en"] == why for n in c["notes"]) for c in step1["checks"])


def test_the_unverified_note_says_why_and_lists_steps_with_the_chinese_separator(make_standin, tmp_path, capsys):
    """Graded without --student, the note read "未在被评分的集群上核实的步骤：step1,
    step2, ..." (ASCII commas in Chinese) and never why: the teacher could
    not tell a missing --student from a suspect ledger."""
    real = cluster(make_standin, tmp_path / "real")
    path = tmp_path / "ledger.jsonl"
    check(real, tmp_path, path, "--student", "alice")
    rc, out, err, report = grade(real, tmp_path, path, capsys, "--lang", "zh")
    assert rc == 0, err
    zh = "".join(out.split())
    assert ("未在被评分的集群上核实的步骤：step1、step2、step3、step4、step5，因为记录或评分没有给出学号"
            "（check与grade都用--student）。") in zh
    (note,) = [n for n in report["notes"] if "not verified against" in n["en"]]
    assert note["en"].startswith("steps not verified against the graded cluster: step1, step2, step3, step4, step5, "
                                 "because the record or the grading names no student (use --student with check and grade). ")


def test_a_ledger_made_against_a_fake_api_server_is_refused(make_standin, tmp_path, capsys):
    """The fake serves a dump of the real cluster (the same uids); only its
    CA gives it away."""
    real = cluster(make_standin, tmp_path / "real")
    fake = cluster(make_standin, tmp_path / "fake")
    path = tmp_path / "ledger.jsonl"
    check(fake, tmp_path / "student", path, "--student", "alice") if (tmp_path / "student").mkdir() is None else None
    rc, _, err, _ = grade(real, tmp_path, path, capsys, "--student", "alice")
    assert rc == 2
    assert len(err.strip().splitlines()) == 1
    assert "was made against another API server than the one graded" in err


def test_a_classmates_ledger_is_refused(make_standin, tmp_path, capsys):
    real = cluster(make_standin, tmp_path / "real")
    path = tmp_path / "ledger.jsonl"
    check(real, tmp_path, path, "--student", "alice")
    rc, _, err, _ = grade(real, tmp_path, path, capsys, "--student", "carol")
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "was made by student 'alice', not 'carol'" in err


def test_the_student_id_compares_as_the_roster_does_whatever_its_case(make_standin, tmp_path, capsys):
    real = cluster(make_standin, tmp_path / "real")
    path = tmp_path / "ledger.jsonl"
    check(real, tmp_path, path, "--student", "S001")
    rc, _, err, report = grade(real, tmp_path, path, capsys, "--student", "s001")
    assert rc == 0, err
    assert report["student"] == "s001" and "unverified" not in json.dumps(report)


def test_an_unreachable_cluster_leaves_every_step_unverified(make_standin, tmp_path, capsys):
    real = cluster(make_standin, tmp_path / "real")
    path = tmp_path / "ledger.jsonl"
    check(real, tmp_path, path, "--student", "alice")
    teacher = real.kubeconfig_path(tmp_path, filename="teacher-kubeconfig")
    real.stop()
    out = tmp_path / "final.json"
    rc = main(["grade", "--rubric", "service-discovery", "--ledger", str(path), "--json", str(out),
               "--kubeconfig", str(teacher), "--student", "alice", "-q"])
    _, err = capsys.readouterr()
    assert rc == 0
    assert "marked unverified" in err and "cannot reach the API server" in err
    text = out.read_text(encoding="utf-8")
    assert "unverified: the graded cluster could not be reached" in text


def test_the_readme_states_the_threat_model():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "convenience, not proof" in readme and "teacher's side" in readme
