"""What a batch hands to the LMS: gradebooks, Gradescope results, class JUnit, a summary.

Everything here is a pure function of the batch's results (a GradeReport per
student, or the reason it could not be graded), in roster order, so the same
inputs give the same bytes.

**gradebook.csv** (one row per student): ``student_id, name, <one column per
step>, total, max, ungraded, status, error``. UTF-8 with a byte-order mark
(Excel otherwise opens it as the ANSI code page and garbles Chinese names),
comma-separated, CRLF rows, ``.`` as the decimal point, points written as
people write them (``5``, ``2.5``). A student who could not be graded has
``status`` ``error``, the reason in ``error``, and *empty* point cells: an
empty cell is "no grade" to every importer, a ``0`` would be a grade.
Text cells are trimmed to one line without control or bidi characters, and
those a spreadsheet would run as a formula (starting with ``=``, ``+``,
``-``, ``@`` or their full-width forms) get a leading ``'`` (OWASP's
CSV-injection advice; the tab and CR it also lists are gone by then). Student ids cannot start with such a
character (the roster rejects them), so the column Moodle matches on is
never altered.

Importing it into **Moodle** (Grades > Import > CSV file): encoding UTF-8
(Moodle's CSV reader drops the BOM itself), separator "Comma"; under
"Identify user by" map ``student_id`` to the user field that holds it
(usually "ID number", or "username"/"email address"); map ``total`` to the
lab's grade item, or a step column to a per-step item; leave every other
column "ignore". Moodle skips empty and ``-`` cells (error rows import
nothing) but rejects the whole import for a non-numeric value in a mapped
grade column, which is why ``status``/``error`` are separate columns.
A grade above the item's maximum (100 unless changed) is refused too.

**Canvas** (Grades > Import) reads columns by position: the first header
must contain ``Student``, the second ``ID``, then ``SIS User ID``, ``SIS
Login ID`` and ``Section``, and *every* other column becomes an assignment
(so ``max``, ``status``... would become assignments). gradebook.csv cannot
satisfy both, so the batch also writes **canvas.csv**: ``Student, ID, SIS
User ID, SIS Login ID, Section, <lab>`` with a ``Points Possible`` row. The
Canvas ``ID`` is left empty, so Canvas matches on ``SIS User ID`` (the
roster's student_id), then on the name; an empty grade cell changes nothing.
Rename the last header to ``<assignment name> (<assignment id>)`` to import
into an existing assignment; as is, Canvas offers to create one.

**results.json** follows Gradescope's autograder specification: ``score``
(which overrides the sum of the tests), one test per check with ``score``,
``max_score``, ``status`` (``passed``/``failed``: Gradescope has nothing
else; a check the grader could not judge says so in its output and takes no
points), ``output``, ``visibility``, and ``leaderboard``. ``max_score`` at
the top level is not in the spec (Gradescope takes the maximum from the
assignment) and is ignored there; it is written for other readers. Output
formats are pinned to ``text``: Gradescope's default ``simple_format``
renders some HTML, and exec output is the student's web page.
"""
from __future__ import annotations

import csv
import io
import math
import statistics
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from grader.i18n import Text
from grader.outcome import CheckResult, GradeReport, Status
from grader.report import json_report, junit
from grader.report.safe import for_terminal, for_xml
from grader.report.wording import by_content, points_str
from grader.rubric import Rubric

BOM = "\ufeff"
# Cell starts a spreadsheet treats as a formula; full-width forms because CJK
# input methods produce them and some spreadsheets fold them to ASCII.
_FORMULA_STARTS = ("=", "+", "-", "@", "＝", "＋", "－", "＠")
CELL_LIMIT = 1000
GRADESCOPE_OUTPUT_LIMIT = 8000
TOP_FAILED = 10


@dataclass(frozen=True)
class StudentResult:
    """One roster row's outcome: a report, or why there is none."""

    student_id: str
    name: str
    report: GradeReport | None = None
    error: Text | None = None

    @property
    def ok(self) -> bool:
        return self.report is not None


# -- CSV ------------------------------------------------------------------------

def csv_cell(value: object) -> str:
    """A text cell that a spreadsheet shows as text, never runs as a formula."""
    text = for_xml(value, CELL_LIMIT, single_line=True)  # one line, trimmed: no leading tab, CR or space
    return "'" + text if text[:1] in _FORMULA_STARTS else text


def _csv_text(rows: Iterable[Sequence[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerows(rows)
    return BOM + buf.getvalue()


GRADEBOOK_TAIL = ("total", "max", "ungraded", "status", "error")


def gradebook_csv(rubric: Rubric, results: Sequence[StudentResult], lang: str = "en") -> str:
    """gradebook.csv (see the module docstring), BOM included."""
    header = ["student_id", "name", *(s.id for s in rubric.steps), *GRADEBOOK_TAIL]
    rows: list[list[str]] = [header]
    for r in results:
        row = [csv_cell(r.student_id), csv_cell(r.name)]
        if r.report is not None:
            earned = {s.id: s.earned for s in r.report.steps}
            row += [points_str(earned[s.id]) if s.id in earned else "" for s in rubric.steps]
            row += [points_str(r.report.earned), points_str(r.report.points), points_str(r.report.ungraded), "ok", ""]
        else:
            row += [""] * len(rubric.steps)
            row += ["", points_str(rubric.total), "", "error", csv_cell(_reason(r, lang))]
        rows.append(row)
    return _csv_text(rows)


def canvas_csv(rubric: Rubric, results: Sequence[StudentResult]) -> str:
    """canvas.csv: Canvas's positional gradebook layout, one assignment column."""
    rows: list[list[str]] = [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", csv_cell(rubric.lab)],
        ["Points Possible", "", "", "", "", points_str(rubric.total)],
    ]
    for r in results:
        score = points_str(r.report.earned) if r.report is not None else ""
        rows.append([csv_cell(r.name or r.student_id), "", csv_cell(r.student_id), "", "", score])
    return _csv_text(rows)


def _reason(r: StudentResult, lang: str) -> str:
    return r.error.get(lang) if r.error is not None else ""


# -- Gradescope -----------------------------------------------------------------

_NOT_GRADED = Text("未评分（评分程序无法判断此项，没有扣你的分，请联系老师）：",
                   "NOT GRADED (the grader could not judge this; no points were taken, ask your teacher): ")
_SUMMARY = {
    "total": Text("得分 {earned} / {points}", "Score {earned} / {points}"),
    "ungraded": Text("另有 {ungraded} 分未评分（见标为“未评分”的检查项），不计入得分。",
                     "{ungraded} more points were not graded (see the tests marked NOT GRADED) and are not counted."),
    "namespace": Text("命名空间：{ns}", "Namespace: {ns}"),
}


@by_content
def _test_output(check: CheckResult, lang: str) -> str:
    message = junit.message_of(check, lang)
    body = junit.evidence_of(check, lang)
    text = message + ("\n" + body if body else "")
    if not check.outcome.graded and check.status is not Status.PASSED:
        text = _NOT_GRADED.get(lang) + text
    return for_xml(text, GRADESCOPE_OUTPUT_LIMIT)


def gradescope_results(report: GradeReport, lang: str = "en") -> str:
    """results.json for Gradescope (see the module docstring)."""
    tests = []
    for step, check in report.checks():
        name = f"{step.id} · {check.id}: {check.title.get(lang)}" if check.title.get(lang) else f"{step.id} · {check.id}"
        tests.append({
            "name": for_xml(name, 300, single_line=True),
            "score": check.earned,
            "max_score": check.points,
            "status": "passed" if check.status is Status.PASSED else "failed",
            "output": _test_output(check, lang),
            "visibility": "visible",
        })
    lines = [_SUMMARY["total"].get(lang).format(earned=points_str(report.earned), points=points_str(report.points))]
    if report.ungraded:
        lines.append(_SUMMARY["ungraded"].get(lang).format(ungraded=points_str(report.ungraded)))
    lines.append(_SUMMARY["namespace"].get(lang).format(ns=for_xml(report.namespace, 100, single_line=True)))
    doc = {
        "score": report.earned,
        "max_score": report.points,
        "output": "\n".join(lines),
        "output_format": "text",
        "test_output_format": "text",
        "tests": tests,
        "leaderboard": [],
    }
    return json_report.dumps_indented(doc) + "\n"


# -- JUnit for the class --------------------------------------------------------

_GRADING_FAILED = Text("无法评分", "could not be graded")


def _error_suite(lab: str, r: StudentResult, lang: str) -> ET.Element:
    """A one-testcase suite saying why a student has no report."""
    name = f"{for_xml(lab, 200, single_line=True)} [{for_xml(r.student_id, 200, single_line=True)}]"
    suite = ET.Element("testsuite", {"name": name, "tests": "1", "failures": "0", "errors": "1",
                                     "skipped": "0", "time": "0.000"})
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", {"name": "student", "value": for_xml(r.student_id, 200, single_line=True)})
    ET.SubElement(props, "property", {"name": "status", "value": "error"})
    case = ET.SubElement(suite, "testcase", {"name": "grading", "classname": student_classname(lab, r.student_id, "batch"),
                                             "time": "0.000"})
    reason = _reason(r, lang)
    error = ET.SubElement(case, "error", {"message": for_xml(reason, junit.MESSAGE_LIMIT, single_line=True)
                                          or _GRADING_FAILED.get(lang), "type": "labgrade.batch"})
    error.text = for_xml(reason, junit.FIELD_LIMIT)
    return suite


def student_classname(lab: str, student_id: str, step_id: str) -> str:
    """``<lab>.<student>.<step>``: Jenkins (and GitLab) merge test cases with
    the same classname and name across suites, so in the class file each
    student's cases carry the student; Jenkins shows ``<lab>.<student>`` as
    the package and the step as the class."""
    return ".".join(for_xml(part, 200, single_line=True) for part in (lab, student_id, step_id))


def class_suite(lab: str, r: StudentResult, lang: str = "en") -> junit.SuiteXml:
    """One student's ``<testsuite>`` in the class file: exactly the one
    ``labgrade grade --junit`` writes (the same :func:`grader.report.junit.testsuite_xml`,
    so both stay one implementation; no student's file is rendered and parsed back)
    plus a ``student_name`` property, each ``classname`` with the student in it
    (see :func:`student_classname`); a student who could not be graded gets a
    suite with one ``error`` testcase. A batch's grading processes render it
    beside the student's own files, in parallel, so the class file at the end
    is only joined."""
    extra = [("student_name", for_xml(r.name, 200, single_line=True))] if r.name else []
    if r.report is not None:
        prefix = f"{for_xml(lab, 200, single_line=True)}.{for_xml(r.student_id, 200, single_line=True)}."
        return junit.testsuite_xml(r.report, lang, extra_properties=extra,
                                   classname=lambda step: prefix + for_xml(step.id, 200, single_line=True))
    element = _error_suite(lab, r, lang)
    if extra:
        ET.SubElement(element.find("properties"), "property", {"name": extra[0][0], "value": extra[0][1]})
    counts = [int(element.get(key) or 0) for key in ("tests", "failures", "errors", "skipped")]
    return junit.SuiteXml(junit.serialize(element, level=1), *counts)


def class_junit(lab: str, results: Sequence[StudentResult], lang: str = "en",
                suites: Mapping[str, junit.SuiteXml] | None = None) -> str:
    """All students in one ``<testsuites>``, one :func:`class_suite` each, roster order.

    ``suites`` holds suites already rendered (by student id, for the same
    ``lab`` and ``lang``); the others are rendered here."""
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    duration = 0.0
    texts: list[str] = []
    for r in results:
        suite = (suites or {}).get(r.student_id) or class_suite(lab, r, lang)
        if r.report is not None:
            duration += r.report.duration
        texts.append(suite.text)
        for key in totals:
            totals[key] += getattr(suite, key)
    attrs = "".join(f' {key}="{value}"' for key, value in totals.items())
    head = f'<testsuites name="{junit.escape_attribute(for_xml(lab, 200, single_line=True))}"{attrs} time="{duration:.3f}"'
    if not texts:
        return junit.XML_DECLARATION + head + " />\n"
    return junit.XML_DECLARATION + head + ">" + "".join("\n  " + text for text in texts) + "\n</testsuites>\n"


# -- summary --------------------------------------------------------------------

_W = {
    "title": Text("批量评分汇总", "batch summary"),
    "students": Text("学生", "students"),
    "graded": Text("已评分", "graded"),
    "errors": Text("无法评分", "could not be graded"),
    "mean": Text("平均分", "mean"),
    "median": Text("中位数", "median"),
    "min": Text("最低分", "min"),
    "max": Text("最高分", "max"),
    "ungraded": Text("有未评分项的学生", "students with points not graded"),
    "histogram": Text("分数分布", "Score histogram"),
    "points": Text("分数", "points"),
    "count": Text("人数", "students"),
    "failed_checks": Text("未通过最多的检查项", "Most-failed checks"),
    "check": Text("检查项", "check"),
    "step": Text("步骤", "step"),
    "failed": Text("未通过", "failed"),
    "error_col": Text("出错", "errors"),
    "title_col": Text("内容", "title"),
    "none_failed": Text("没有未通过的检查项。", "No check failed."),
    "error_list": Text("无法评分的学生", "Students who could not be graded"),
    "student": Text("学生", "student"),
    "reason": Text("原因", "reason"),
    "value": Text("数值", "value"),
    "nobody": Text("没有学生被评分，无统计。", "Nobody was graded: no statistics."),
}


def _md(value: object, limit: int = 300) -> str:
    """A table cell: one line, no control characters, no pipes breaking the row."""
    return for_terminal(value, limit).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def histogram(scores: Sequence[float], maximum: float, width: float = 10.0) -> list[tuple[str, int]]:
    """Counts per ``width``-point bucket from 0 to ``maximum``, labelled as
    intervals: ``[0, 10)`` ... ``[90, 100]`` (the last one holds the maximum,
    and anything above it)."""
    buckets = max(1, math.ceil(maximum / width)) if maximum > 0 else 1
    counts = [0] * buckets
    for score in scores:
        counts[min(int(max(score, 0.0) // width), buckets - 1)] += 1
    out = []
    for i, n in enumerate(counts):
        lo = points_str(i * width)
        label = f"[{lo}, {points_str(maximum)}]" if i == buckets - 1 else f"[{lo}, {points_str((i + 1) * width)})"
        out.append((label, n))
    return out


def failed_checks(results: Sequence[StudentResult], rubric: Rubric | None = None,
                  ) -> list[tuple[str, str, Text, int, int]]:
    """(check id, step id, title, failed count, error count), most failed first,
    ties in rubric order; only checks that failed or errored at least once.
    A check's title is the class rubric's when given (a variant rubric's
    preview, "web-⟨suffix⟩"), not the first report's: that one names one
    student's own values, which no other student's check had."""
    order: dict[str, int] = {}
    info: dict[str, tuple[str, Text]] = {}
    failed: dict[str, int] = {}
    errors: dict[str, int] = {}
    for r in results:
        if r.report is None:
            continue
        for step, check in r.report.checks():
            order.setdefault(check.id, len(order))
            if check.id not in info:
                shared = rubric.check(check.id) if rubric is not None else None
                info[check.id] = (step.id, shared.title if shared is not None else check.title)
            if check.status is Status.FAILED:
                failed[check.id] = failed.get(check.id, 0) + 1
            elif check.status is Status.ERROR:
                errors[check.id] = errors.get(check.id, 0) + 1
    ids = [cid for cid in order if failed.get(cid) or errors.get(cid)]
    ids.sort(key=lambda cid: (-failed.get(cid, 0), -errors.get(cid, 0), order[cid]))
    return [(cid, info[cid][0], info[cid][1], failed.get(cid, 0), errors.get(cid, 0)) for cid in ids]


def summary_markdown(rubric: Rubric, results: Sequence[StudentResult], lang: str = "en") -> str:
    """summary.md, also printed on stdout: counts, statistics, histogram,
    most-failed checks, and who could not be graded. Nothing in it depends on
    the run (no times, no "resumed" counts), so a resumed batch writes the
    same file as a fresh one."""
    w = {k: v.get(lang) for k, v in _W.items()}
    graded = [r for r in results if r.report is not None]
    errors = [r for r in results if r.report is None]
    scores = [r.report.earned for r in graded]  # type: ignore[union-attr]
    total = rubric.total
    lines = [f"# {_md(rubric.lab)}: {_md(rubric.title.get(lang))} — {w['title']}", ""]
    lines += [f"| | {w['value']} |", "|---|---|"]
    lines.append(f"| {w['students']} | {len(results)} |")
    lines.append(f"| {w['graded']} | {len(graded)} |")
    lines.append(f"| {w['errors']} | {len(errors)} |")
    if scores:
        lines.append(f"| {w['mean']} | {points_str(statistics.fmean(scores))} / {points_str(total)} |")
        lines.append(f"| {w['median']} | {points_str(statistics.median(scores))} |")
        lines.append(f"| {w['min']} | {points_str(min(scores))} |")
        lines.append(f"| {w['max']} | {points_str(max(scores))} |")
        partial = sum(1 for r in graded if r.report.ungraded)  # type: ignore[union-attr]
        if partial:
            lines.append(f"| {w['ungraded']} | {partial} |")
    lines.append("")
    if not scores:
        lines += [w["nobody"], ""]
    else:
        lines += [f"## {w['histogram']}", "", f"| {w['points']} | {w['count']} | |", "|---|---:|---|"]
        for label, n in histogram(scores, total):
            lines.append(f"| {label} | {n} | {'█' * n} |")
        lines.append("")
        lines += [f"## {w['failed_checks']}", ""]
        top = failed_checks(graded, rubric)[:TOP_FAILED]
        if top:
            lines += [f"| {w['check']} | {w['step']} | {w['failed']} | {w['error_col']} | {w['title_col']} |",
                      "|---|---|---:|---:|---|"]
            for cid, step_id, title, n_failed, n_errors in top:
                lines.append(f"| {_md(cid)} | {_md(step_id)} | {n_failed} | {n_errors} | {_md(title.get(lang))} |")
        else:
            lines.append(w["none_failed"])
        lines.append("")
    if errors:
        lines += [f"## {w['error_list']}", "", f"| {w['student']} | {w['reason']} |", "|---|---|"]
        for r in errors:
            lines.append(f"| {_md(r.student_id)} | {_md(_reason(r, lang))} |")
        lines.append("")
    return "\n".join(lines)


__all__ = [
    "StudentResult",
    "csv_cell",
    "gradebook_csv",
    "canvas_csv",
    "gradescope_results",
    "class_junit",
    "class_suite",
    "student_classname",
    "histogram",
    "failed_checks",
    "summary_markdown",
]
