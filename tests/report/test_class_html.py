"""class.html: the class grid, histogram and most-failed checks on one
offline page; hostile names and reasons stay text; a real browser renders it
when Chromium is installed."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from grader import rubric as rubric_mod
from grader.report.gradebook import StudentResult
from grader.i18n import Text
from grader.report.class_html import step_state, to_class_html
from tests.report.reports import hostile, service_discovery
from tests.report.test_html import ALLOWED_ATTRS, ATTACKS, _chromium, parse

RUBRIC = rubric_mod.load("service-discovery")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "service-discovery"
TABLE_TAGS = {"table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "dl", "div", "dt", "dd",
                "span", "ul", "li", "p", "a", "section", "footer", *TABLE_TAGS}


def klass(*extra: StudentResult) -> list[StudentResult]:
    return [StudentResult("alice", "Alice", report=service_discovery()),
            StudentResult("bob", "鲍勃", error=Text("无法读取 built.yaml", "cannot read built.yaml")), *extra]


def test_the_grid_has_a_row_per_student_and_a_coloured_cell_per_step():
    root = parse(to_class_html(RUBRIC, klass(), "en"))
    (grid,) = root.find("table", "grid")
    rows = grid.find("tbody")[0].find("tr")
    assert len(rows) == 2
    alice = rows[0].find("td")
    assert len(alice) == len(RUBRIC.steps) + 1  # the steps, then the total
    report = service_discovery()
    by_id = {s.id: s for s in report.steps}
    for cell, step in zip(alice, RUBRIC.steps):
        expected = step_state(by_id[step.id]) if step.id in by_id else "ungraded"
        assert expected in cell.classes
    assert "failed" in alice[0].classes  # alice's step 1 has the wrong replica count
    (link,) = alice[-1].find("a")
    assert link.attrs["href"] == "alice/report.html"
    assert "err" in rows[1].classes and "cannot read built.yaml" in rows[1].text() and not rows[1].find("a")


def test_the_page_is_bilingual_with_the_chosen_language_first():
    root = parse(to_class_html(RUBRIC, klass(), "zh"))
    h2 = [n.find("span", "p")[0].text() for n in root.find("h2")]
    assert h2[0] == "每位学生的步骤" and "分数分布" in h2 and "未通过最多的检查项" in h2
    assert "Score histogram" in root.text() and "Steps per student" in root.text()
    assert root.find("html")[0].attrs["lang"] == "zh-CN"


def test_histogram_and_most_failed_checks_come_from_the_graded_students():
    page = to_class_html(RUBRIC, klass(StudentResult("carol", "", report=service_discovery())), "en")
    root = parse(page)
    (hist,) = root.find("table", "hist")
    counts = [int(td.text()) for td in hist.find("td", "n")]
    assert sum(counts) == 2 and len(counts) == 10  # two graded students, ten 10-point buckets
    (failed,) = root.find("table", "failed")
    first = failed.find("tbody")[0].find("tr")[0]
    assert first.find("td", "n")[0].text() == "2"  # both graded students failed it


def test_nobody_graded_says_so():
    root = parse(to_class_html(RUBRIC, [StudentResult("bob", "", error=Text("x", "x"))], "en"))
    assert "Nobody was graded." in root.text() and not root.find("table", "hist")


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_hostile_names_titles_and_reasons_stay_text(name):
    s = ATTACKS[name]
    results = [StudentResult("mallory", s, report=hostile(s)), StudentResult("eve", s, error=Text(s, s)),
               StudentResult("alice", s, report=service_discovery())]
    page = to_class_html(RUBRIC, results, "en")
    page.encode("utf-8")
    root = parse(page)
    for node in root.walk():
        if node.tag == "#root":
            continue
        assert node.tag in ALLOWED_TAGS, node.tag
        assert set(node.attrs) <= ALLOWED_ATTRS | {"scope", "colspan"}, node.attrs
        for value in node.attrs.values():
            assert value is not None and "pwned" not in value and "alert" not in value and "<" not in value
    assert not root.find("script") and not root.find("img") and not root.find("svg")
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff\U0001fffe]", page)
    if name == "markup":
        assert '<script>alert("x")</script>' in root.find("main")[0].text()


def test_long_names_are_cut():
    page = to_class_html(RUBRIC, [StudentResult("a", "N" * 10_000, report=service_discovery())], "en")
    assert max(len(m) for m in re.findall("N+", page)) < 120


def test_batch_writes_class_html_linking_each_students_report(tmp_path, capsys):
    from grader.cli import main

    roster = tmp_path / "roster.csv"
    rows = [("ok", "correct"), ("wrong", "wrong-replicas")]
    roster.write_text("student_id,name,built,cleaned\n" + "".join(
        f"{sid},{sid},{EXAMPLES / case / 'built.yaml'},{EXAMPLES / case / 'cleaned.yaml'}\n" for sid, case in rows)
        + "broken,Broken,missing.yaml,\n")
    out = tmp_path / "out"
    assert main(["batch", str(roster), "--rubric", "service-discovery", "--out", str(out), "-q"]) == 1
    root = parse((out / "class.html").read_text(encoding="utf-8"))
    links = [a.attrs["href"] for a in root.find("a")]
    assert links == ["ok/report.html", "wrong/report.html"]
    for link in links:
        assert "<!DOCTYPE html>" in (out / link).read_text(encoding="utf-8")
    assert not (out / "broken" / "report.html").exists()


def test_chromium_renders_the_class_page(tmp_path):
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (CI: apt-get install -y --no-install-recommends chromium)")
    page = tmp_path / "class.html"
    page.write_text(to_class_html(RUBRIC, klass(StudentResult("mallory", ATTACKS["style"], report=service_discovery())), "zh"),
                    encoding="utf-8")
    dump = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dump.returncode == 0, dump.stderr[-2000:]
    dom = parse(dump.stdout)
    assert len(dom.find("table", "grid")[0].find("tbody")[0].find("tr")) == 3
    assert "</style><script>document.body.setAttribute" in dom.text()
    assert not dom.find("script") and all("data-pwned" not in n.attrs for n in dom.walk())
    shot = tmp_path / "class.png"
    run = _chromium(tmp_path, "--window-size=1280,900", f"--screenshot={shot}", page.as_uri())
    assert run.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
