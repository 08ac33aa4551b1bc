"""``labgrade batch ROSTER --index N``: pod N of the Indexed Job in
deploy/job.yaml grades roster row N, writes that student's folder, and
prints exactly one JSON line, so that ``kubectl logs`` alone collects the
class; the roster is read by the batch's own reader (one set of rules)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader import cli
from grader.sources import bundle
from tests.standin.fixtures import load_dump, make_standin  # noqa: F401 - pytest fixture

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "service-discovery"


@pytest.fixture
def pod(capsysbinary, tmp_path):
    """``labgrade batch ROSTER --index N`` as the Job runs it: (exit code, the JSON line, stderr)."""

    def run(roster: Path, index: object, *extra: object) -> tuple[int, dict, str]:
        code = cli.main(["batch", str(roster), "--rubric", "service-discovery", "--out", str(tmp_path / "results"),
                         "--index", str(index), "--lang", "en", "--no-poll", *map(str, extra)])
        out, err = capsysbinary.readouterr()
        lines = out.decode("utf-8").splitlines()
        assert len(lines) == 1, f"one JSON line on stdout, got {out!r}"
        return code, json.loads(lines[0]), err.decode("utf-8")

    return run


def dump_roster(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    for case in ("correct", "never-built"):
        (tmp_path / case).mkdir(exist_ok=True)
        for phase in ("built", "cleaned"):
            (tmp_path / case / f"{phase}.yaml").write_bytes((EXAMPLES / case / f"{phase}.yaml").read_bytes())
    path = tmp_path / "roster.csv"
    path.write_bytes(text.encode(encoding))
    return path


def alone(tmp_path: Path, case: str) -> dict:
    """The report ``labgrade grade`` writes for one case's dumps."""
    out = tmp_path / f"{case}.json"
    assert cli.main(["grade", "--rubric", "service-discovery", "--snapshot", str(tmp_path / case / "built.yaml"),
                     "--snapshot", str(tmp_path / case / "cleaned.yaml"), "-q", "--json", str(out)]) in (0, 1)
    return json.loads(out.read_text(encoding="utf-8"))


ROSTER = ("student_id,name,built,cleaned\n"
          "zhang,张三,correct/built.yaml,correct/cleaned.yaml\n"
          "\n"
          "#wang,commented out,correct/built.yaml,\n"
          "li,李四,never-built/built.yaml,never-built/cleaned.yaml\n")


def test_each_index_grades_its_row_and_writes_that_students_folder(pod, tmp_path, capsysbinary) -> None:
    roster = dump_roster(tmp_path, ROSTER)
    correct, never_built = alone(tmp_path, "correct"), alone(tmp_path, "never-built")
    capsysbinary.readouterr()

    code, line, _ = pod(roster, 0)
    assert code == 0
    assert (line["index"], line["status"], line["exit_code"], line["student_id"], line["name"]) == (
        0, "graded", 0, "zhang", "张三")
    assert line["report"]["student"] == "zhang"
    assert line["report"]["totals"] == correct["totals"], "the same run as labgrade grade"
    assert sorted(p.name for p in (tmp_path / "results" / "zhang").iterdir()) == [
        "inputs.json", "junit.xml", "report.html", "report.json", "results.json"]
    assert not (tmp_path / "results" / "gradebook.csv").exists(), "class files are the class run's, not a pod's"

    code, line, _ = pod(roster, 1)  # blank and '#' rows are not counted, as the batch counts students
    assert (code, line["student_id"], line["report"]["totals"]) == (0, "li", never_built["totals"])


def test_the_class_run_afterwards_resumes_every_pods_report(pod, tmp_path, capsysbinary, monkeypatch) -> None:
    from grader import engine

    roster = dump_roster(tmp_path, ROSTER)
    for index in (0, 1):
        pod(roster, index)
    monkeypatch.setattr(engine, "grade", lambda *a, **k: pytest.fail("resumed students are not graded again"))
    assert cli.main(["batch", str(roster), "--rubric", "service-discovery", "--out", str(tmp_path / "results"),
                     "-q", "--lang", "en"]) == 0
    assert "| students | 2 |" in capsysbinary.readouterr().out.decode("utf-8")
    assert (tmp_path / "results" / "gradebook.csv").is_file()


def test_an_index_past_the_roster_is_a_quiet_success(pod, tmp_path) -> None:
    code, line, err = pod(dump_roster(tmp_path, ROSTER), 2)
    assert (code, line["status"], line["student_id"], line["report"]) == (0, "no-student", None, None)
    assert "no row 2" in err


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "gb18030"])
def test_excel_encodings_are_read(pod, tmp_path, encoding: str) -> None:
    code, line, _ = pod(dump_roster(tmp_path, ROSTER, encoding), 1)
    assert (code, line["status"], line["name"]) == (0, "graded", "李四")


@pytest.mark.parametrize("row, problem", [
    ("bad id,x,correct/built.yaml,", "cannot be a folder name"),
    ('"zh\nang",x,correct/built.yaml,', "cannot be a folder name"),
    ("ok,x,,", "neither a namespace"),
])
def test_an_unusable_row_is_a_roster_error_and_a_success(pod, tmp_path, row: str, problem: str) -> None:
    """A retry cannot fix the row: the pod succeeds, its line says why."""
    code, line, err = pod(dump_roster(tmp_path, "student_id,name,built,cleaned\n" + row + "\n"), 0)
    assert (code, line["status"], line["report"]) == (0, "roster-error", None)
    assert problem in err and "roster.csv:2" in err


def test_a_bad_row_elsewhere_does_not_stop_this_pod(pod, tmp_path) -> None:
    roster = dump_roster(tmp_path, "student_id,name,built\nbad id,x,correct/built.yaml\nzhang,张三,correct/built.yaml\n")
    code, line, _ = pod(roster, 1)
    assert (code, line["status"], line["student_id"]) == (0, "graded", "zhang")


def test_a_namespace_that_is_not_a_namespace_name_is_a_roster_error(pod, tmp_path) -> None:
    code, line, err = pod(dump_roster(tmp_path, "student_id,name,namespace\nzhang,张三,Lab_Zhang\n"), 0)
    assert (code, line["status"], line["namespace"]) == (0, "roster-error", "Lab_Zhang")
    assert "not a Kubernetes namespace name" in err


def test_hostile_roster_strings_stay_data(pod, tmp_path) -> None:
    name = "$(touch pwned); `id` \x1b]0;title\x07 --help"
    roster = dump_roster(tmp_path, f'student_id,name,built\nzhang,"{name}",correct/built.yaml\n')
    code, line, _ = pod(roster, 0)
    assert (code, line["status"], line["student_id"], line["name"]) == (0, "graded", "zhang", name)
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


@pytest.mark.parametrize("index", ["-1", "x", ""])
def test_a_bad_index_is_a_usage_error(capsys, tmp_path, index: str) -> None:
    roster = dump_roster(tmp_path, ROSTER)
    code = cli.main(["batch", str(roster), "--rubric", "service-discovery", "--out", str(tmp_path / "o"), "--index", index])
    assert code == 2
    assert "--index" in capsys.readouterr().err


def test_an_unreadable_roster_fails_the_pod(capsys, tmp_path) -> None:
    code = cli.main(["batch", str(tmp_path / "missing.csv"), "--rubric", "service-discovery",
                     "--out", str(tmp_path / "o"), "--index", "0"])
    assert code == 2
    assert "missing.csv: no such roster CSV file" in capsys.readouterr().err


def test_a_cluster_that_cannot_be_read_fails_the_pod_for_a_retry(pod, make_standin, tmp_path) -> None:
    server = make_standin(load_dump(EXAMPLES / "correct" / "built.yaml"))
    server.faults.add("GET", r"/namespaces/default/", times=None, status=500, message="etcdserver: request timed out")
    cfg = server.kubeconfig_path(tmp_path)
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name,namespace\nzhang,张三,default\n", encoding="utf-8")
    code, line, err = pod(roster, 0, "--kubeconfig", cfg)
    assert (code, line["status"], line["exit_code"], line["report"]) == (1, "grader-failed", 1, None)
    assert "etcdserver: request timed out" in line["error"] and "zhang" in err
    assert (tmp_path / "results" / "zhang" / "error.txt").is_file()


def test_a_state_dir_grades_built_then_cleaned_across_two_jobs(pod, make_standin, tmp_path) -> None:
    """The first Job grades the built phase and keeps it; a Job after the
    cleanup grades the cleaned phase live and built from the state file."""
    server = make_standin(load_dump(EXAMPLES / "correct" / "built.yaml"))
    cfg = server.kubeconfig_path(tmp_path)
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name,namespace\nzhang,张三,default\n", encoding="utf-8")
    states = tmp_path / "state"

    code, line, _ = pod(roster, 0, "--kubeconfig", cfg, "--state-dir", states)
    assert code == 0 and set(bundle.load_state(str(states / "zhang.state.yaml"))) == {"built"}
    assert {s["phase"]: s["kind"] for s in line["report"]["sources"]} == {"built": "live"}

    server.set_objects(load_dump(EXAMPLES / "correct" / "cleaned.yaml"))
    code, line, _ = pod(roster, 0, "--kubeconfig", cfg, "--state-dir", states)
    assert code == 0 and line["report"]["totals"]["earned"] == 100
    assert {s["phase"]: s["kind"] for s in line["report"]["sources"]} == {"built": "snapshot", "cleaned": "live"}
    assert "after the cleanup" in line["report"]["notes"][0]["en"]
    assert set(bundle.load_state(str(states / "zhang.state.yaml"))) == {"built", "cleaned"}
    assert server.writes == []


def test_a_lone_surrogate_in_a_report_still_makes_one_json_line(tmp_path, capsysbinary) -> None:
    from grader.classroom.batch_cli import _json_line

    _json_line(3, "graded", 0, "zhang", report={"out": "wget: \udcff"})
    line = capsysbinary.readouterr().out
    assert line.count(b"\n") == 1 and json.loads(line)["report"]["out"] == "wget: \udcff"
