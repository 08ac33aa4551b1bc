"""The class exports on their own: the gradebook CSVs an LMS imports,
Gradescope's results.json, the class JUnit file and the summary, fed with
the reporter tests' typical and hostile reports."""
from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest

from grader import rubric as rubric_mod
from grader.report import gradebook
from grader.report.gradebook import StudentResult, csv_cell
from grader.i18n import Text
from tests.report.reports import HOSTILE, hostile, service_discovery

RUBRIC = rubric_mod.load("service-discovery")
UNREACHABLE = Text("无法连接 API server：连接被拒绝", "cannot reach the API server: connection refused")


def parse_csv(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


@pytest.mark.parametrize("value, cell", [
    ("=1+1", "'=1+1"),
    ("+49 30 1234", "'+49 30 1234"),
    ("-1", "'-1"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("  =cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),  # trimmed, then caught
    ("\t=1", "'=1"),
    ("\r\n@x", "'@x"),
    ("＝1+1", "'＝1+1"),
    ("张三", "张三"),
    ("O'Brien, Pat", "O'Brien, Pat"),
    ("a=b", "a=b"),
    ("line1\nline2", "line1 line2"),
    ("\x1b[31mred\x1b[0m\u202e", "red"),
    ("", ""),
])
def test_a_csv_cell_is_text_a_spreadsheet_will_not_run(value, cell):
    assert csv_cell(value) == cell


def test_gradebook_has_a_column_per_step_and_empty_points_for_an_error():
    report = service_discovery()
    results = [StudentResult("alice", "Alice 李", report=report), StudentResult("bob", "=bob", error=UNREACHABLE)]
    rows = parse_csv(gradebook.gradebook_csv(RUBRIC, results, "zh"))
    assert rows[0] == ["student_id", "name", "step1", "step2", "step3", "step4", "step5", "step6",
                       "total", "max", "ungraded", "status", "error"]
    alice = dict(zip(rows[0], rows[1]))
    assert alice["name"] == "Alice 李"
    assert [alice[s.id] for s in RUBRIC.steps] == ["10", "15", "14", "8", "15", "0"]
    assert (alice["total"], alice["max"], alice["ungraded"], alice["status"]) == ("62", "100", "15", "ok")
    bob = dict(zip(rows[0], rows[2]))
    assert bob["name"] == "'=bob"
    assert all(bob[s.id] == "" for s in RUBRIC.steps) and bob["total"] == "" and bob["ungraded"] == ""
    assert (bob["max"], bob["status"], bob["error"]) == ("100", "error", UNREACHABLE.zh)


def test_canvas_csv_has_the_columns_canvas_reads_by_position():
    results = [StudentResult("2024001", "张三", report=service_discovery()), StudentResult("2024002", "", error=UNREACHABLE)]
    rows = parse_csv(gradebook.canvas_csv(RUBRIC, results))
    header = rows[0]
    # Canvas: first header contains "Student", second "ID", then SIS User ID, SIS Login ID, Section.
    assert "Student" in header[0] and "ID" in header[1]
    assert header[2:5] == ["SIS User ID", "SIS Login ID", "Section"] and header[5] == "service-discovery"
    assert rows[1][0] == "Points Possible" and rows[1][5] == "100"
    assert rows[2] == ["张三", "", "2024001", "", "", "62"]
    assert rows[3] == ["2024002", "", "2024002", "", "", ""]  # no grade: Canvas leaves it alone


def test_gradescope_results_follow_the_spec_and_never_show_an_error_as_the_students_fault():
    report = service_discovery()
    data = json.loads(gradebook.gradescope_results(report, "en"))
    assert set(data) == {"score", "max_score", "output", "output_format", "test_output_format", "tests", "leaderboard"}
    assert data["score"] == 62 and data["max_score"] == 100 and data["leaderboard"] == []
    assert data["output_format"] == data["test_output_format"] == "text"  # exec output is the student's HTML
    assert "15 more points were not graded" in data["output"]
    tests = {t["name"].split(":")[0]: t for t in data["tests"]}
    assert len(tests) == len(report.checks())
    replicas = tests["step1 · deployment1-replicas"]
    assert (replicas["score"], replicas["max_score"], replicas["status"]) == (0.0, 5.0, "failed")
    assert "Expected: 2 replicas" in replicas["output"] and "Observed: 3 replicas" in replicas["output"]
    partial = tests["step3 · service1-endpoints"]
    assert (partial["score"], partial["status"]) == (6.0, "failed")
    dns = tests["step5 · service1-dns"]  # a grader error
    assert dns["status"] == "failed" and dns["output"].startswith("NOT GRADED")
    assert tests["step6 · kubernetes-service-intact"]["output"].startswith("NOT GRADED")
    assert tests["step5 · service2-dns"]["status"] == "passed"
    assert sum(t["score"] for t in data["tests"]) == data["score"]
    zh = json.loads(gradebook.gradescope_results(report, "zh"))
    assert zh["tests"][1]["output"].startswith("deployment1 有 3 个副本")


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_gradescope_results_of_a_hostile_report_are_clean_json(kind):
    text = gradebook.gradescope_results(hostile(HOSTILE[kind]), "en")
    data = json.loads(text)
    text.encode("utf-8")  # no lone surrogates
    for test in data["tests"]:
        for field in ("name", "output"):
            assert "\x1b" not in test[field] and "\x00" not in test[field] and "\u202e" not in test[field]


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_class_junit_is_well_formed_whatever_the_reports_and_reasons_hold(kind):
    s = HOSTILE[kind]
    results = [
        StudentResult("alice", s, report=service_discovery()),
        StudentResult("mallory", s, report=hostile(s)),
        StudentResult("bob", s, error=Text(s, s)),
    ]
    text = gradebook.class_junit(RUBRIC.lab, results, "en")
    root = ET.fromstring(text.encode("utf-8"))
    suites = root.findall("testsuite")
    assert root.tag == "testsuites" and len(suites) == 3
    for key in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(key)) == sum(int(suite.get(key)) for suite in suites)
    assert suites[2].get("name") == "service-discovery [bob]"
    assert suites[2].find("testcase/error") is not None
    assert suites[0].find("properties/property[@name='student_name']") is not None


def test_the_histogram_has_ten_point_buckets_and_the_top_one_holds_the_maximum():
    counts = dict(gradebook.histogram([0, 9.5, 10, 55, 89.99, 90, 99, 100], 100))
    assert list(counts) == ["[0, 10)", "[10, 20)", "[20, 30)", "[30, 40)", "[40, 50)",
                            "[50, 60)", "[60, 70)", "[70, 80)", "[80, 90)", "[90, 100]"]
    assert counts["[0, 10)"] == 2 and counts["[10, 20)"] == 1 and counts["[50, 60)"] == 1
    assert counts["[80, 90)"] == 1 and counts["[90, 100]"] == 3
    assert [label for label, _ in gradebook.histogram([], 95)][-1] == "[90, 95]"


def test_the_summary_counts_and_ranks_failures_in_the_students_language():
    a, b = service_discovery(), service_discovery()
    results = [StudentResult("alice", "", report=a), StudentResult("bob", "", report=b),
               StudentResult("carol", "", error=Text("导出文件不是合法的 YAML | 第 3 行", "the dump is not valid YAML | line 3"))]
    text = gradebook.summary_markdown(RUBRIC, results, "zh")
    assert "| 学生 | 3 |" in text and "| 已评分 | 2 |" in text and "| 无法评分 | 1 |" in text
    assert "| 平均分 | 62 / 100 |" in text and "| 中位数 | 62 |" in text
    ranked = [(c, n, e) for c, _, _, n, e in gradebook.failed_checks(results)]
    assert ranked == [("deployment1-replicas", 2, 0), ("service1-endpoints", 2, 0), ("service2-endpoints", 2, 0),
                      ("service1-dns", 0, 2)]
    assert "| carol | 导出文件不是合法的 YAML \\| 第 3 行 |" in text  # a pipe cannot break the table


def test_a_summary_with_nobody_graded_says_so():
    text = gradebook.summary_markdown(RUBRIC, [StudentResult("bob", "", error=UNREACHABLE)], "en")
    assert "Nobody was graded" in text and "| bob | cannot reach the API server" in text
    assert "mean" not in text


def test_class_junit_puts_the_student_into_every_classname_so_ci_does_not_merge_students():
    results = [
        StudentResult("alice", "Alice", report=service_discovery()),
        StudentResult("bob", "Bob", report=service_discovery()),
        StudentResult("carol", "", error=Text("坏", "broken")),
    ]
    root = ET.fromstring(gradebook.class_junit(RUBRIC.lab, results, "en").encode("utf-8"))
    suites = root.findall("testsuite")
    keys = [(c.get("classname"), c.get("name")) for s in suites for c in s.iter("testcase")]
    assert len(keys) == len(set(keys))  # no two students' cases share classname + name
    first = suites[0].find("testcase")
    assert first.get("classname") == "service-discovery.alice.step1"
    assert suites[1].find("testcase").get("classname") == "service-discovery.bob.step1"
    assert suites[2].find("testcase").get("classname") == "service-discovery.carol.batch"
    # The per-student file is unchanged: <lab>.<step>, stable across students.
    from grader.report import junit
    own = ET.fromstring(junit.to_junit_xml(service_discovery(), "en").encode("utf-8"))
    assert own.find(".//testcase").get("classname") == "service-discovery.step1"
