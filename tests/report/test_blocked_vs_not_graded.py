"""Blocked by a failed prerequisite (points lost) and not graded (no points
at stake) are told apart in every report (issue 7)."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from grader.report import console, html_report, json_report, junit
from tests.test_examples import grade_case


def test_every_check_that_lost_points_is_a_junit_failure_in_bare_pods():
    """In bare-pods JUnit showed 2 failures while 11 checks lost points: an
    LMS that counts failures must see every lost point, and a blocked check
    names the prerequisite that blocked it."""
    report, _ = grade_case("bare-pods")
    lost = [c for _, c in report.checks() if c.outcome.graded and c.earned < c.points]
    root = ET.fromstring(junit.to_junit_xml(report, "en"))
    failures = [tc for tc in root.iter("testcase") if tc.find("failure") is not None]
    assert len(failures) == len(lost) > 2
    blocked = {tc.get("name"): tc.find("failure") for tc in failures if tc.find("failure").get("type") == "blocked"}
    assert "deployment2-exists" in blocked["deployment2-replicas"].get("message")
    assert all(tc.find("skipped") is None for tc in failures)


def test_console_and_html_count_blocked_points_as_lost():
    report, _ = grade_case("bare-pods")
    out = console.render(report, "en")
    assert "blocked" in console.counts_line(report, "en", " · ")
    assert "skipped" not in out.split("\n\n")[-1]
    page = html_report.to_html(report, "en")
    lost = report.points - report.earned - report.ungraded
    assert lost > 40 and f"失分</span> {lost:g}</li>" in page
    assert "blocked" in page


def test_step5_on_a_dump_reads_graded_and_not_graded_not_skipped():
    """On a dump step 5's probes cannot run: its row must read "5/5 graded,
    10 not graded" (with the state of what was graded), never "skipped
    5/15", which a student takes for 10 lost points."""
    report, _ = grade_case("correct")
    row = next(line for line in console.render(report, "en").splitlines() if line.startswith("step5 "))
    assert re.search(r"  passed +5/5 graded, 10 not graded$", row), row
    zh = next(line for line in console.render(report, "zh").splitlines() if line.startswith("step5 "))
    assert zh.endswith("已评 5/5，10 分未评分"), zh
    assert "5/5 graded, 10 not graded" in html_report.to_html(report, "en")
    data = json_report.to_dict(report)
    wget = next(c for s in data["steps"] for c in s["checks"] if c["id"] == "clientpod-wget-service2")
    assert wget["graded"] is False and wget["blocked_by"] is None
