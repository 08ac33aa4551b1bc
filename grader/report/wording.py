"""Words and numbers every reporter shares.

Kept in one place so the console, the JUnit body and any later reporter
(Gradescope, a gradebook CSV) call a state and a piece of evidence by the
same name in both languages, and print 2.5 points the same way.
"""
from __future__ import annotations

import math

from grader.i18n import Text
from grader.outcome import GradeReport, Status

STATE: dict[Status, Text] = {
    Status.PASSED: Text("通过", "passed"),
    Status.FAILED: Text("未通过", "failed"),
    Status.ERROR: Text("出错", "error"),
    Status.SKIPPED: Text("跳过", "skipped"),
}

EXPECTED = Text("期望", "Expected")
OBSERVED = Text("实际", "Observed")
NOTE = Text("说明", "Note")
HINT = Text("提示", "Hint")

# Said whenever a check ends in ERROR, so that nobody reads it as a failure.
NOT_YOUR_FAULT = Text("此项无法评判，不扣分。", "This check could not be evaluated; no points were taken.")

FALLBACK_MESSAGE: dict[Status, Text] = {
    Status.PASSED: Text("检查通过", "check passed"),
    Status.FAILED: Text("检查未通过", "check failed"),
    Status.ERROR: Text("无法完成此项检查", "the check could not be evaluated"),
    Status.SKIPPED: Text("此项检查未运行", "the check did not run"),
}


def points_str(value: float) -> str:
    """Points as people write them: ``5``, ``2.5``, ``3.33`` (never ``5.0``)."""
    if not math.isfinite(value):
        return str(value)
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def label(word: Text, lang: str) -> str:
    """``word`` as a field label ready to precede its value (``Expected: ``
    / ``期望：``; the full-width colon brings its own spacing)."""
    return word.get(lang) + ("：" if lang == "zh" else ": ")


__all__ = [
    "STATE",
    "EXPECTED",
    "OBSERVED",
    "NOTE",
    "HINT",
    "NOT_YOUR_FAULT",
    "FALLBACK_MESSAGE",
    "points_str",
    "label",
]


def ungraded_reasons(report: GradeReport) -> tuple[int, list[str], int]:
    """Why points were not judged: (errors, phases without a source, other
    skipped checks). A phase is "missing" when the run had sources but none
    for that phase; skips without such an explanation are just counted."""
    have = {s.phase for s in report.sources}
    errors, others, missing = 0, 0, []
    for step, check in report.checks():
        if check.outcome.graded:
            continue
        if check.status is Status.ERROR:
            errors += 1
        elif report.sources and step.phase not in have:
            if step.phase not in missing:
                missing.append(step.phase)
        else:
            others += 1
    return errors, missing, others


# Table headings the console report and the self-check table share.
TABLE_WORDS = {
    "step": Text("步骤", "Step"),
    "title": Text("内容", "Title"),
    "state": Text("状态", "State"),
    "points": Text("得分", "Points"),
    "namespace": Text("命名空间", "namespace"),
}
