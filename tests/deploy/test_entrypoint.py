"""deploy/entrypoint.sh: pod N of the Indexed Job grades roster row N, and
no roster string is ever run as a command.

The script runs for real under each POSIX shell found here, with a fake
`labgrade` first on PATH that records its argv and writes a report where
`--json=` says.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"

SHELLS = [s for s in ("sh", "dash", "bash", "busybox") if shutil.which(s)]
FAKE_REPORT = {"schema": "fake", "earned": 42, "total": 100}

FAKE_LABGRADE = f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_ARGV_LOG"], "a", encoding="utf-8") as f:
    f.write(json.dumps(args) + "\\n")
if os.environ.get("FAKE_REPORT", "1") == "1":
    for a in args:
        if a.startswith("--json="):
            with open(a[len("--json="):], "w", encoding="utf-8") as f:
                f.write(os.environ.get("FAKE_REPORT_TEXT") or json.dumps({FAKE_REPORT!r}))
print("console report for", args)
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""


class Run:
    def __init__(self, proc: subprocess.CompletedProcess, calls: list[list[str]], out: Path):
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.calls = calls
        self.out = out

    @property
    def line(self) -> dict[str, Any]:
        lines = self.stdout.splitlines()
        assert len(lines) == 1, f"expected one JSON line on stdout, got {self.stdout!r}"
        return json.loads(lines[0])


@pytest.fixture(params=SHELLS)
def run_job(request, tmp_path: Path):
    shell = request.param
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "labgrade"
    fake.write_text(FAKE_LABGRADE, encoding="utf-8")
    fake.chmod(0o755)
    log = tmp_path / "argv.jsonl"

    def run(roster: str | None, index: str | None, *args: str, **env: str) -> Run:
        roster_path = tmp_path / "roster.csv"
        if roster is not None:
            roster_path.write_text(roster, encoding="utf-8")
        out = tmp_path / "results"
        environ = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "LABGRADE_ROSTER": str(roster_path),
            "LABGRADE_OUT": str(out),
            "LABGRADE_PYTHON": sys.executable,
            "FAKE_ARGV_LOG": str(log),
            "LC_ALL": "C",  # the pod's locale: none
            **env,
        }
        if index is not None:
            environ["JOB_COMPLETION_INDEX"] = index
        argv = [shell, "sh", str(ENTRYPOINT), *args] if shell == "busybox" else [shell, str(ENTRYPOINT), *args]
        proc = subprocess.run(argv, env=environ, cwd=tmp_path, capture_output=True, timeout=60,
                              encoding="utf-8")
        calls = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
        log.unlink(missing_ok=True)
        return Run(proc, calls, out)

    return run


def _expected_argv(out: Path, stem: str, namespace: str, student: str) -> list[str]:
    return ["grade", "--rubric=service-discovery", f"--namespace={namespace}", f"--student={student}",
            f"--json={out}/{stem}.json", f"--junit={out}/{stem}.xml", "--no-color"]


EXAMPLE_ROSTER = yaml.safe_load((ROOT / "deploy" / "roster-configmap.yaml").read_text(encoding="utf-8"))["data"]["roster.csv"]


@pytest.mark.parametrize("index, student, name, namespace", [
    ("0", "2023001", "张伟", "lab-2023001"),
    ("1", "2023002", "王芳", "lab-2023002"),
    ("2", "2023003", "Li, Na", "lab-2023003"),
])
def test_each_index_grades_its_row_of_the_example_roster(run_job, index, student, name, namespace) -> None:
    r = run_job(EXAMPLE_ROSTER, index)
    assert r.code == 0, r.stderr
    stem = f"{int(index):04d}-{namespace}"
    assert r.calls == [_expected_argv(r.out, stem, namespace, student)]
    assert r.line == {"index": int(index), "status": "graded", "exit_code": 0, "student_id": student,
                      "name": name, "namespace": namespace, "report": FAKE_REPORT}
    assert json.loads((r.out / f"{stem}.json").read_text(encoding="utf-8")) == FAKE_REPORT
    assert "console report" in (r.out / f"{stem}.txt").read_text(encoding="utf-8")


def test_an_index_past_the_roster_is_a_quiet_success(run_job) -> None:
    r = run_job(EXAMPLE_ROSTER, "3")
    assert r.code == 0
    assert r.calls == []
    assert r.line["status"] == "no-student" and r.line["index"] == 3
    assert "3 students" in r.stderr


def test_the_batch_roster_columns_are_found_by_header(run_job) -> None:
    roster = ("\ufeffname,student_id,context,namespace,kubeconfig,built,cleaned\r\n"
              "\r\n"
              "\"Zhang, Wei\",s1,lab,ns-one,/k/c,built/s1.yaml,\r\n"
              ",,,,,,\r\n"
              "Wang Fang,s2,lab,ns-two,,,\r\n")
    r = run_job(roster, "1")
    assert r.code == 0, r.stderr
    assert r.calls == [_expected_argv(r.out, "0001-ns-two", "ns-two", "s2")]
    assert (r.line["student_id"], r.line["name"]) == ("s2", "Wang Fang")


def test_rows_are_counted_as_labgrade_batch_counts_them(run_job) -> None:
    """Skipped: blank rows and rows whose student_id starts with '#'."""
    roster = "student_id;name;namespace\n#s0;dropped;ns-zero\n\ns1;Ann;ns-one\n  # s2;later;ns-two\ns3;Bo;ns-three\n"
    r = run_job(roster, "1")
    assert r.calls == [_expected_argv(r.out, "0001-ns-three", "ns-three", "s3")]
    assert run_job(roster, "2").line["status"] == "no-student"


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16", "utf-8-sig"])
def test_excel_encodings_are_read(run_job, tmp_path: Path, encoding: str) -> None:
    roster = "student_id\tname\tnamespace\r\n2023001\t张伟\tlab-2023001\r\n"
    r = run_job(None, "0", LABGRADE_ROSTER=str(_write_bytes(tmp_path / "excel.csv", roster.encode(encoding))))
    assert r.code == 0, r.stderr
    assert r.line["name"] == "张伟"


def test_a_roster_without_header_is_student_id_name_namespace(run_job) -> None:
    r = run_job("s1,Ann,ns-a\ns2,Bo,ns-b\n", "0")
    assert r.calls == [_expected_argv(r.out, "0000-ns-a", "ns-a", "s1")]


def test_an_empty_student_id_falls_back_to_the_namespace(run_job) -> None:
    r = run_job("student_id,name,namespace\n,Ann,ns-a\n", "0")
    assert r.calls[0][3] == "--student=ns-a"


def test_hostile_roster_strings_are_single_arguments_never_commands(run_job, tmp_path: Path) -> None:
    canary_dir = tmp_path / "canary"
    canary_dir.mkdir()
    pwned = tmp_path / "pwned"
    student = f"$(rm -rf {canary_dir}) `touch {pwned}` ${{IFS}}*"
    name = f"; touch {pwned}; echo pwned \"'\\ | && $HOME"
    roster = "student_id,name,namespace\n" + _csv_row(student, name, "lab-7")
    r = run_job(roster, "0")
    assert r.code == 0, r.stderr
    assert r.calls == [_expected_argv(r.out, "0000-lab-7", "lab-7", student)]
    assert (r.line["student_id"], r.line["name"]) == (student, name)
    assert canary_dir.is_dir() and not pwned.exists()
    assert "pwned" not in r.stderr


def test_a_student_id_that_looks_like_a_flag_stays_the_student_id(run_job) -> None:
    r = run_job("student_id,name,namespace\n--junit=/etc/passwd,-n,lab-1\n", "0")
    (argv,) = r.calls
    assert "--student=--junit=/etc/passwd" in argv
    assert [a for a in argv if a.startswith("--junit")] == [f"--junit={r.out}/0000-lab-1.xml"]


@pytest.mark.parametrize("namespace", ["lab; touch PWNED", "$(touch PWNED)", "Lab-1", "-n", "", "a" * 64, "lab_1"])
def test_a_namespace_that_is_not_a_namespace_name_is_a_roster_error(run_job, tmp_path: Path, namespace: str) -> None:
    r = run_job("student_id,name,namespace\n" + _csv_row("s1", "Ann", namespace.replace("PWNED", str(tmp_path / "pwned"))), "0")
    assert r.code == 0, "a retry cannot fix the roster: the pod must not fail"
    assert r.calls == []
    assert r.line["status"] == "roster-error" and r.line["student_id"] == "s1"
    assert not (tmp_path / "pwned").exists()


def test_a_line_break_inside_a_field_is_a_roster_error(run_job) -> None:
    r = run_job('student_id,name,namespace\ns1,"Ann\nlab-evil",lab-1\n', "0")
    assert r.calls == [] and r.line["status"] == "roster-error"


@pytest.mark.parametrize("index", [None, "", "one", "-1", "1; touch PWNED", "$(touch PWNED)"])
def test_a_missing_or_bad_index_fails_the_pod(run_job, tmp_path: Path, index: str | None) -> None:
    if index:
        index = index.replace("PWNED", str(tmp_path / "pwned"))
    r = run_job(EXAMPLE_ROSTER, index)
    assert r.code == 2
    assert r.calls == [] and r.stdout == ""
    assert "JOB_COMPLETION_INDEX" in r.stderr
    assert not (tmp_path / "pwned").exists()


def test_an_unusable_roster_fails_the_pod(run_job) -> None:
    assert run_job(None, "0").code == 2  # no file
    r = run_job("student_id,name\ns1,Ann\n", "0")
    assert r.code == 2 and r.calls == [] and "no namespace column" in r.stderr


def test_the_jobs_args_follow_the_entrypoints_flags(run_job) -> None:
    r = run_job(EXAMPLE_ROSTER, "0", "--fail-under", "60", "two words")
    (argv,) = r.calls
    assert argv[-3:] == ["--fail-under", "60", "two words"]


def test_a_state_dir_gives_each_student_a_state_file(run_job, tmp_path: Path) -> None:
    r = run_job(EXAMPLE_ROSTER, "1", "--phase", "cleaned", LABGRADE_STATE_DIR=str(tmp_path / "state"))
    (argv,) = r.calls
    assert argv[7:] == [f"--state={tmp_path}/state/0001-lab-2023002.state.yaml", "--phase", "cleaned"]
    assert (tmp_path / "state").is_dir()


def test_a_score_below_fail_under_is_still_graded(run_job) -> None:
    r = run_job(EXAMPLE_ROSTER, "0", FAKE_EXIT="1")
    assert r.code == 0 and r.line["status"] == "graded" and r.line["exit_code"] == 1


@pytest.mark.parametrize("fake_exit, expected_code", [("2", 2), ("1", 1), ("0", 1), ("137", 137)])
def test_no_report_means_the_grader_failed_and_the_pod_fails(run_job, fake_exit, expected_code) -> None:
    r = run_job(EXAMPLE_ROSTER, "0", FAKE_EXIT=fake_exit, FAKE_REPORT="0")
    assert r.code == expected_code
    assert r.line["status"] == "grader-failed" and r.line["exit_code"] == int(fake_exit)
    assert r.line["report"] is None


def test_a_report_that_is_not_json_fails_the_pod(run_job) -> None:
    r = run_job(EXAMPLE_ROSTER, "0", FAKE_REPORT_TEXT="{half")
    assert r.code == 1
    assert r.line["status"] == "grader-failed" and r.line["report"] is None


def test_a_report_with_lone_surrogates_still_makes_one_json_line(run_job) -> None:
    # what json_report writes for undecodable exec output
    report_text = '{"observed": "\\udcff bytes", "title": "服务"}'
    r = run_job(EXAMPLE_ROSTER, "0", FAKE_REPORT_TEXT=report_text)
    assert r.code == 0, r.stderr
    assert r.line["report"] == {"observed": "\udcff bytes", "title": "服务"}
    assert "服务" in r.stdout, "Chinese stays readable in the logs"


def test_the_script_is_posix_sh() -> None:
    assert ENTRYPOINT.read_text(encoding="utf-8").startswith("#!/bin/sh\n")
    assert "eval" not in ENTRYPOINT.read_text(encoding="utf-8").split()
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    run = subprocess.run(["shellcheck", "--shell=sh", "--severity=style", str(ENTRYPOINT)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout


def _csv_row(*fields: str) -> str:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(fields)
    return buf.getvalue()


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
