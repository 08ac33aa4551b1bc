"""Words and numbers every reporter shares.

Kept in one place so the console, the JUnit body and any later reporter
(Gradescope, a gradebook CSV) call a state and a piece of evidence by the
same name in both languages, and print 2.5 points the same way.
"""
from __future__ import annotations

import functools
import math
from typing import Callable, TypeVar

from grader.i18n import Text
from grader.outcome import CheckResult, GradeReport, Status, StepResult

STATE: dict[Status, Text] = {
    Status.PASSED: Text("通过", "passed"),
    Status.FAILED: Text("未通过", "failed"),
    Status.ERROR: Text("出错", "error"),
    Status.SKIPPED: Text("跳过", "skipped"),
}

#: A check that did not run because a prerequisite failed: its points are
#: lost. Told apart everywhere from NOT_GRADED (no points at stake here).
BLOCKED = Text("前置未通过", "blocked")
NOT_GRADED = Text("未评分", "not graded")

EXPECTED = Text("期望", "Expected")
OBSERVED = Text("实际", "Observed")
NOTE = Text("说明", "Note")
HINT = Text("提示", "Hint")

# Said whenever a check ends in ERROR, so that nobody reads it as a failure.
NOT_YOUR_FAULT = Text("评分程序无法检查此项，不扣分。", "This check could not be evaluated; no points were taken.")

FALLBACK_MESSAGE: dict[Status, Text] = {
    Status.PASSED: Text("检查通过", "check passed"),
    Status.FAILED: Text("检查未通过", "check failed"),
    Status.ERROR: Text("无法完成此项检查", "the check could not be evaluated"),
    Status.SKIPPED: Text("此项检查未运行", "the check did not run"),
}


def check_state(check: CheckResult) -> tuple[str, Text]:
    """A check's state as reports name it: ``passed``, ``failed``,
    ``error``, ``blocked`` (prerequisite failed, points lost) or
    ``ungraded`` (not judged in this run)."""
    if check.blocked:
        return "blocked", BLOCKED
    if check.not_graded:
        return "ungraded", NOT_GRADED
    return check.status.value, STATE[check.status]


def step_state(step: StepResult) -> tuple[str, Text]:
    """A step's state, worst first: failed (a failure or a blocked check:
    points lost), error, not graded (nothing in it could be judged), else
    passed, even when part of it is not graded (the points say so)."""
    keys = {check_state(c)[0] for c in step.checks}
    if keys & {"failed", "blocked"}:
        return "failed", STATE[Status.FAILED]
    if "error" in keys:
        return "error", STATE[Status.ERROR]
    if keys and keys <= {"ungraded"}:
        return "ungraded", NOT_GRADED
    return "passed", STATE[Status.PASSED]


def step_points(step: StepResult, lang: str, *, compact: bool = False) -> str:
    """``12/15``; ``-/15`` when nothing could be judged; ``5/5 graded, 10 not
    graded`` when part of the step could not (a dump cannot run step 5's
    probes), so an ungraded part never reads as lost points."""
    ungraded = step.ungraded
    if step.points > 0 and ungraded >= step.points:
        return f"-/{points_str(step.points)}"
    if ungraded > 0:
        graded = points_str(round(step.points - ungraded, 4))
        if compact:
            return f"{points_str(step.earned)}/{graded} (+{points_str(ungraded)})"
        if lang == "zh":
            return f"已评 {points_str(step.earned)}/{graded}，{points_str(ungraded)} 分未评分"
        return f"{points_str(step.earned)}/{graded} graded, {points_str(ungraded)} not graded"
    return f"{points_str(step.earned)}/{points_str(step.points)}"


def state_counts(report: GradeReport) -> list[tuple[str, int, Text]]:
    """How many checks are in each reported state, in a fixed order;
    passed always, the others when there are any."""
    counts: dict[str, int] = {}
    for _, c in report.checks():
        key = check_state(c)[0]
        counts[key] = counts.get(key, 0) + 1
    words = {"passed": STATE[Status.PASSED], "failed": STATE[Status.FAILED], "blocked": BLOCKED,
             "error": STATE[Status.ERROR], "ungraded": NOT_GRADED}
    return [(k, counts.get(k, 0), w) for k, w in words.items() if counts.get(k) or k == "passed"]


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
    "BLOCKED",
    "NOT_GRADED",
    "check_state",
    "step_state",
    "step_points",
    "state_counts",
    "EXPECTED",
    "OBSERVED",
    "NOTE",
    "HINT",
    "NOT_YOUR_FAULT",
    "FALLBACK_MESSAGE",
    "points_str",
    "label",
    "by_content",
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


#: A check's texts longer than this in all are rendered each time, not kept:
#: the cache stays small whatever a pod prints.
MEMO_CHARS = 8192
#: Renderings kept per reporter function.
MEMO_SIZE = 2048

_R = TypeVar("_R")


def _content(check: CheckResult) -> tuple | None:
    """What a reporter reads of a check: everything but its duration and
    attempts (which differ in every run), or None when its texts are long."""
    o = check.outcome
    size = len(o.message.zh) + len(o.message.en) + len(check.hint.zh) + len(check.hint.en)
    for t in (o.expected, o.observed, *o.notes):
        if t is not None:
            size += len(t.zh) + len(t.en)
    if size > MEMO_CHARS:
        return None
    return (check.id, check.use, check.title, check.hint, check.points, check.earned, o)


def by_content(render: Callable[[CheckResult, str], _R]) -> Callable[[CheckResult, str], _R]:
    """``render(check, lang)``, kept for checks with the same content.

    A class's students mostly end a check the same way (the same message,
    the same evidence), and a batch renders every check three or four times
    per student (report.html, junit.xml, results.json, the class junit.xml):
    a check seen before is rendered once. Only for renderers that read
    nothing of a check but its content (not ``duration``/``attempts``), with
    results that are immutable strings or tuples.
    """
    @functools.lru_cache(maxsize=MEMO_SIZE)
    def cached(content: tuple, lang: str) -> _R:
        return render(CheckResult(*content), lang)

    @functools.wraps(render)
    def wrapper(check: CheckResult, lang: str) -> _R:
        content = _content(check)
        if content is None:
            return render(check, lang)
        try:
            return cached(content, lang)
        except TypeError:  # something unhashable in it: render as is
            return render(check, lang)

    wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return wrapper

