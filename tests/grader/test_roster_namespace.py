"""A roster namespace that does not exist is an error row, not 0/100, and
a lab graded in the wrong namespace says where it is (issue 7)."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from grader.cli import main
from tests.standin.fixtures import load_dump, make_standin  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "service-discovery"


def test_a_roster_namespace_that_does_not_exist_is_an_error_row(make_standin, tmp_path):
    """A typo in the roster's namespace column graded an empty namespace
    as 0/100: a teacher would read it as a student who did nothing. The
    row is an error saying the namespace does not exist, and resumes."""
    server = make_standin(load_dump(EXAMPLES / "correct" / "built.yaml"))
    server.kubeconfig_path(tmp_path, filename="kubeconfig-ghost")
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,namespace,kubeconfig\nghost,lab-nobody,kubeconfig-ghost\n", encoding="utf-8")
    out = tmp_path / "results"
    run = subprocess.run([sys.executable, "-m", "grader.cli", "batch", str(roster), "--rubric", "service-discovery",
                          "--out", str(out), "--no-poll", "--lang", "en"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1, run.stderr
    with open(out / "gradebook.csv", encoding="utf-8-sig") as f:
        (row,) = list(csv.DictReader(f))
    assert row["status"] == "error" and "namespace lab-nobody does not exist" in row["error"]


def test_a_live_lab_in_another_namespace_says_grade_with_n(make_standin, tmp_path, capsys):
    objs = load_dump(EXAMPLES / "correct-other-namespace" / "built.json")
    server = make_standin(objs)
    cfg = str(server.kubeconfig_path(tmp_path))
    assert main(["grade", "--rubric", "service-discovery", "--kubeconfig", cfg, "--no-poll", "--lang", "en",
                 "--no-color"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "! deployment1 is in namespace lab-42: grade with -n lab-42"


def test_a_dump_of_a_lab_in_another_namespace_says_grade_with_n(capsys):
    """Graded without -n, correct-other-namespace showed "Deployment: -"
    and 15/100 with no word about where the lab was."""
    case = EXAMPLES / "correct-other-namespace"
    assert main(["grade", "--rubric", "service-discovery", "--snapshot", str(case / "built.json"), "--snapshot",
                 str(case / "cleaned.json"), "--lang", "zh", "--no-color"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "! deployment1 在命名空间 lab-42 中：请用 -n lab-42 评分"
    assert main(["grade", "--rubric", "service-discovery", "-n", "lab-42", "--snapshot", str(case / "built.json"),
                 "--lang", "en", "--no-color"]) == 0
    assert "grade with -n" not in capsys.readouterr().out


def test_an_unreachable_cluster_row_carries_the_one_line(tmp_path):
    from tests.standin.server import StandIn

    server = StandIn([]).start()
    server.kubeconfig_path(tmp_path, filename="kubeconfig-down")
    server.stop()
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,namespace,kubeconfig\ndown,lab-1,kubeconfig-down\n", encoding="utf-8")
    out = tmp_path / "results"
    run = subprocess.run([sys.executable, "-m", "grader.cli", "batch", str(roster), "--rubric", "service-discovery",
                          "--out", str(out), "--no-poll", "--lang", "en"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1, run.stderr
    with open(out / "gradebook.csv", encoding="utf-8-sig") as f:
        (row,) = list(csv.DictReader(f))
    assert row["status"] == "error" and row["error"].startswith("cannot reach the API server at http") and "127.0.0.1:" in row["error"]
    assert "Error" not in row["error"]  # no exception class names


def test_check_in_a_namespace_without_the_lab_says_where_it_is(make_standin, tmp_path, capsys):
    """A student checking -n s42 who ran the hint's `kubectl create
    deployment deployment1 ...` without -n saw "no Deployment deployment1 in
    namespace s42" and nothing else: check now says where the lab is and
    both ways out, in the student's language, and records nothing."""
    objs = load_dump(EXAMPLES / "correct-other-namespace" / "built.json")
    server = make_standin(objs)
    cfg = str(server.kubeconfig_path(tmp_path))
    ledger = tmp_path / "l.jsonl"
    argv = ["check", "--rubric", "service-discovery", "--kubeconfig", cfg, "--ledger", str(ledger), "--no-color"]
    assert main([*argv, "--lang", "en"]) == 0
    assert ("! deployment1 is in namespace lab-42, not in default: check with -n lab-42, or create it in default "
            "(kubectl -n default ...)") in " ".join(capsys.readouterr().out.split())
    assert main([*argv, "--lang", "zh"]) == 0
    zh = "! deployment1 在命名空间 lab-42 中，不在 default 中：请用 -n lab-42 检查，或者在 default 中创建（kubectl 命令加上 -n default）"
    assert "".join(zh.split()) in "".join(capsys.readouterr().out.split())
    assert not ledger.exists()
    assert main([*argv, "-n", "lab-42", "--lang", "en"]) == 0
    assert "check with -n" not in capsys.readouterr().out


def test_check_after_the_cleanup_does_not_hunt_for_the_lab(make_standin, tmp_path, capsys):
    """Once the ledger holds a step, an empty namespace is the cleanup's
    goal, not a wrong -n: no LIST across namespaces, no note."""
    from grader.classroom import ledger as ledger_mod

    case = EXAMPLES / "correct"
    server = make_standin(load_dump(case / "built.yaml"))
    cfg = str(server.kubeconfig_path(tmp_path))
    ledger = tmp_path / "l.jsonl"
    argv = ["check", "--rubric", "service-discovery", "--kubeconfig", cfg, "--ledger", str(ledger), "--no-color",
            "--lang", "en"]
    assert main(argv) == 0
    assert len(ledger_mod.read(str(ledger))) == 5
    capsys.readouterr()
    server.set_objects(load_dump(case / "cleaned.yaml"))
    server.clear_requests()
    assert main(argv) == 0
    assert "check with -n" not in capsys.readouterr().out
    assert not any("fieldSelector" in r.query for r in server.requests)


def test_check_in_a_namespace_that_does_not_exist_says_so(make_standin, tmp_path, capsys):
    """A typo in check's -n showed step 1 "not done" and nothing about the
    namespace: it now says the namespace does not exist and how to make it."""
    server = make_standin(load_dump(EXAMPLES / "correct" / "built.yaml"))
    cfg = str(server.kubeconfig_path(tmp_path))
    argv = ["check", "--rubric", "service-discovery", "--kubeconfig", cfg, "--ledger", str(tmp_path / "l.jsonl"),
            "--no-color", "-n", "lab-nobody"]
    assert main([*argv, "--lang", "en"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("! namespace lab-nobody does not exist: check the -n, or create it with kubectl create namespace "
            "lab-nobody") in out
    assert "! deployment1 is in namespace default, not in lab-nobody: check with -n default" in out
    assert main([*argv, "--lang", "zh"]) == 0
    assert "! 命名空间 lab-nobody 不存在：检查 -n 是否写错，或者用 kubectl create namespace lab-nobody 创建它" in capsys.readouterr().out
    assert main([*argv[:-2], "--lang", "en"]) == 0
    assert "does not exist" not in capsys.readouterr().out
