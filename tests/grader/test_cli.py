"""The command line as a user meets it: the README's main command, reports
on disk, exit codes, and one-line errors for bad input."""
from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.cli import main

ROOT = Path(__file__).resolve().parents[2]
CORRECT = ROOT / "examples" / "service-discovery" / "correct"
WRONG = ROOT / "examples" / "service-discovery" / "service2-all-pods"


def grade(*extra: str) -> list[str]:
    return ["grade", "--rubric", "service-discovery", "--no-color", *extra]


def test_readme_main_command_grades_the_correct_example(capsys):
    rc = main(grade("--snapshot", str(CORRECT / "built.yaml"), "--snapshot", str(CORRECT / "cleaned.yaml"), "--lang", "en"))
    out = capsys.readouterr().out
    assert rc == 0
    assert "90/100" in out
    assert "step6" in out


def test_wrong_submission_in_chinese_says_expected_and_seen(capsys):
    rc = main(grade("--snapshot", str(WRONG / "built.yaml"), "--lang", "zh"))
    out = capsys.readouterr().out
    assert rc == 0  # grading ran; the score is not the exit code
    assert "service2 的后端是 5 个就绪 Pod" in out
    assert "期望" in out or "应为" in out


def test_reports_are_written_and_well_formed(tmp_path, capsys):
    junit, js, html = tmp_path / "r.xml", tmp_path / "r.json", tmp_path / "r.html"
    rc = main(grade("--snapshot", str(WRONG / "built.yaml"), "--snapshot", str(WRONG / "cleaned.yaml"),
                    "--junit", str(junit), "--json", str(js), "--html", str(html), "--student", "s001"))
    assert rc == 0
    suite = ET.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["service2-endpoints"].get("classname") == "service-discovery.step4"
    assert cases["service2-endpoints"].find("failure") is not None
    # service2-endpoints failed, so the wget check is blocked: a failure naming it, not a skip.
    blocked = cases["clientpod-wget-service2"].find("failure")
    assert blocked is not None and blocked.get("type") == "blocked" and "service2-endpoints" in blocked.get("message")
    assert cases["service1-dns"].find("skipped") is not None  # a dump cannot ask DNS: not graded
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["schema"] == "labgrade.report/v1" and data["student"] == "s001"
    assert "<html" in html.read_text(encoding="utf-8")


def test_fail_under_sets_exit_1(capsys):
    assert main(grade("--snapshot", str(WRONG / "built.yaml"), "--fail-under", "99", "-q")) == 1


def test_explicit_phase_and_baseline(tmp_path, capsys):
    js = tmp_path / "r.json"
    rc = main(grade("--snapshot", f"cleaned={CORRECT / 'cleaned.yaml'}", "--baseline", str(CORRECT / "baseline.yaml"),
                    "--json", str(js)))
    assert rc == 0
    data = json.loads(js.read_text(encoding="utf-8"))
    checks = {c["id"]: c for s in data["steps"] for c in s["checks"]}
    assert "same uid as before the lab" in checks["kubernetes-service-intact"]["message"]["en"]
    assert checks["deployment1-exists"]["graded"] is False  # no built dump: not graded


@pytest.mark.parametrize(
    "args, words",
    [
        (["grade", "--rubric", "nope", "--snapshot", "x.yaml"], "nope: no bundled rubric"),
        (["grade", "--rubric", "service-discovery", "--snapshot", "/no/such.yaml"], "/no/such.yaml: no such file"),
        (["grade", "--rubric", "service-discovery", "--snapshot", "later=x.yaml"], "unknown phase 'later'"),
        (["grade", "--rubric", "service-discovery", "--snapshot", str(CORRECT / "built.yaml"),
          "--snapshot", str(CORRECT / "cleaned.yaml"), "--snapshot", str(CORRECT / "baseline.yaml")], "more dumps than phases"),
        (["grade"], "the following arguments are required: --rubric"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(capsys, args, words):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert words in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_junit_to_a_missing_folder_is_an_input_error(tmp_path, capsys):
    assert main(grade("--snapshot", str(WRONG / "built.yaml"), "--junit", str(tmp_path / "no" / "r.xml"))) == 2
    assert "its folder does not exist" in capsys.readouterr().err


def test_rubrics_explain_and_checks_list(capsys):
    assert main(["rubrics"]) == 0
    assert "service-discovery" in capsys.readouterr().out
    assert main(["explain", "service-discovery", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "创建deployment1" in out and "kubernetes-service-intact" in out
    assert main(["checks"]) == 0
    assert "service.endpoints" in capsys.readouterr().out


def test_snapshot_grading_does_not_import_the_kubernetes_client():
    code = (
        "import sys; from grader.cli import main; "
        f"rc = main(['grade', '--rubric', 'service-discovery', '--snapshot', {str(CORRECT / 'built.yaml')!r}, '-q']); "
        "assert 'kubernetes' not in sys.modules, 'kubernetes imported'; sys.exit(rc)"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_grade_from_a_ledger_rejects_mixing_and_a_tampered_file(tmp_path, capsys, monkeypatch):
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text('{"step": "step1", "lab": "service-discovery", "hmac": "00"}\n', encoding="utf-8")
    assert main(grade("--ledger", str(ledger), "--snapshot", str(CORRECT / "built.yaml"))) == 2
    assert "cannot be combined" in capsys.readouterr().err
    monkeypatch.setenv("LABGRADE_KEY", "instructor-secret")
    assert main(grade("--ledger", str(ledger))) == 2
    err = capsys.readouterr().err
    assert str(ledger) in err and err.count("\n") == 1
