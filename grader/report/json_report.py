"""The GradeReport as JSON, and back.

Batch marking writes one file per student and resumes from them, and other
tools (jq, spreadsheets, the gradebook export) read them, so the file holds
every field of the model (``from_json(to_json(r)) == r``) plus derived
values (totals, counts, step states) for readers that should not recompute.
Keys come in a fixed, documented order rather than sorted, so a diff of two
runs reads top-down like the report.

Strings are written as they are (JSON escapes control characters itself);
sanitising is the job of whoever displays them. Lone surrogates, which
exec output decoded with ``surrogateescape`` may contain, are written as
``\\udXXX`` escapes so the text stays encodable as UTF-8 and reads back
unchanged. (The one string JSON cannot return as it was: a high surrogate
directly followed by a low one, which a reader joins into one character.
Decoding with ``surrogateescape`` only yields low surrogates.)
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

from grader.i18n import Text
from grader.outcome import CheckResult, GradeReport, Outcome, SourceInfo, Status, StepResult
from grader.report.wording import by_content

SCHEMA = "labgrade.report/v1"

_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: Text | None) -> dict[str, str] | None:
    return None if value is None else value.to_dict()


def _check_dict(check: CheckResult) -> dict[str, Any]:
    outcome = check.outcome
    return {
        "id": check.id,
        "use": check.use,
        "title": _text(check.title),
        "status": outcome.status.value,
        "points": check.points,
        "earned": check.earned,
        "score": outcome.score,
        "graded": outcome.graded,
        "blocked_by": outcome.blocked_by,
        "message": _text(outcome.message),
        "expected": _text(outcome.expected),
        "observed": _text(outcome.observed),
        "notes": [_text(n) for n in outcome.notes],
        "hint": _text(check.hint),
        "duration": check.duration,
        "attempts": check.attempts,
    }


def _step_dict(step: StepResult, check_value: Callable[[CheckResult], Any] = _check_dict) -> dict[str, Any]:
    return {
        "id": step.id,
        "phase": step.phase,
        "title": _text(step.title),
        "status": step.status.value,
        "points": step.points,
        "earned": step.earned,
        "ungraded": step.ungraded,
        "checks": [check_value(c) for c in step.checks],
    }


def to_dict(report: GradeReport) -> dict[str, Any]:
    """The report as plain JSON-ready data, keys in their documented order."""
    return _report_dict(report, _check_dict)


def _report_dict(report: GradeReport, check_value: Callable[[CheckResult], Any]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "lab": report.lab,
        "title": _text(report.title),
        "rubric_version": report.rubric_version,
        "namespace": report.namespace,
        "student": report.student,
        "generated_at": report.generated_at,
        "duration": report.duration,
        "totals": {"points": report.points, "earned": report.earned, "ungraded": report.ungraded},
        "counts": report.counts(),
        "notes": [_text(n) for n in report.notes],
        "sources": [
            {"phase": s.phase, "kind": s.kind, "location": s.location, "collected_at": s.collected_at}
            for s in report.sources
        ],
        "steps": [_step_dict(s, check_value) for s in report.steps],
    }


def to_json(report: GradeReport) -> str:
    """UTF-8-ready JSON text, indent 2, ending in a newline.

    Each check's object but its last two members (``duration``,
    ``attempts``) is written once per distinct content and indentation
    (:func:`grader.report.wording.by_content`): a class's students mostly
    end a check alike. The text is what ``json.dumps(to_dict(report),
    indent=2)`` gives, which anything out of the ordinary falls back to."""
    try:
        text = dumps_indented(_report_dict(report, _CheckJson), strict=True)
    except _Unusual:
        text = json.dumps(to_dict(report), ensure_ascii=False, indent=2, allow_nan=False)
    try:  # a lone surrogate is the one thing UTF-8 cannot encode: the encoder finds one faster than a search
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text + "\n"


class _CheckJson:
    """A check in a document for :func:`dumps_indented`: its object, written
    from a kept rendering of everything but the duration and attempts."""

    __slots__ = ("check",)

    def __init__(self, check: CheckResult):
        self.check = check

    def write(self, out: list[str], newline: str) -> None:
        check = self.check
        out.append(_check_head(check, newline))
        inner = newline + "  "
        out.append(f',{inner}"duration": ')
        _write_json(check.duration, out, inner)
        out.append(f',{inner}"attempts": ')
        _write_json(check.attempts, out, inner)
        out.append(newline + "}")


@by_content
def _check_head(check: CheckResult, newline: str) -> str:
    """The check's object written at ``newline``'s depth, up to (not including)
    the comma before ``duration``."""
    data = _check_dict(check)
    assert list(data)[-2:] == ["duration", "attempts"]
    del data["duration"], data["attempts"]
    out: list[str] = []
    _write_json(data, out, newline)
    return "".join(out)[: -len(newline) - 1]  # without the closing newline and brace


class _Unusual(Exception):
    """A value the fast writer leaves to the json module."""


def dumps_indented(data: Any, *, strict: bool = False) -> str:
    """``json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False)``, the same string.

    With ``indent`` the json module gives up its C encoder for a generator
    per nesting level, and a batch writes two indented documents per
    student (report.json, results.json). Plain data (dicts with string keys,
    lists, strings, finite numbers, booleans, None) is written here in one
    recursive pass with the json module's own C string encoder; anything
    else (NaN, a non-string key, another type) goes to ``json.dumps``, which
    then writes it or raises exactly as before.
    """
    out: list[str] = []
    try:
        _write_json(data, out, "\n")
    except _Unusual:
        if strict:  # the caller has its own plain data to give json.dumps
            raise
        return json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False)
    return "".join(out)


_encode_str = json.encoder.encode_basestring  # the C one when the accelerator is there, as json.dumps uses


def _write_json(value: Any, out: list[str], newline: str) -> None:
    if isinstance(value, str):
        out.append(_encode_str(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _Unusual
        out.append(float.__repr__(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        first = True
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Unusual
            out.append(("{" if first else ",") + inner + _encode_str(key) + ": ")
            first = False
            _write_json(item, out, inner)
        out.append(newline + "}")
    elif isinstance(value, _CheckJson):
        value.write(out, newline)
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        first = True
        for item in value:
            out.append(("[" if first else ",") + inner)
            first = False
            _write_json(item, out, inner)
        out.append(newline + "]")
    else:
        raise _Unusual


class ReportFormatError(ValueError):
    """The JSON is not a labgrade report this version can read."""


def _get(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(data, dict):
        raise ReportFormatError(f"{where}: expected an object")
    if key not in data:
        raise ReportFormatError(f"{where}.{key}: missing")
    value = data[key]
    ok = isinstance(value, kind) and not (isinstance(value, bool) and bool not in _tuple(kind))
    if not ok:
        raise ReportFormatError(f"{where}.{key}: unexpected {type(value).__name__}")
    return value


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _number(data: dict[str, Any], key: str, where: str) -> float:
    return float(_get(data, key, (int, float), where))


def _read_text(value: Any, where: str) -> Text:
    if not isinstance(value, dict) or set(value) != {"zh", "en"}:
        raise ReportFormatError(f"{where}: expected {{zh, en}}")
    if not all(isinstance(v, str) for v in value.values()):
        raise ReportFormatError(f"{where}: zh and en must be strings")
    return Text(value["zh"], value["en"])


def _optional_text(value: Any, where: str) -> Text | None:
    return None if value is None else _read_text(value, where)


def _optional_str(data: dict[str, Any], key: str, where: str) -> str | None:
    """A key that reports written by older versions do not have."""
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ReportFormatError(f"{where}.{key}: unexpected {type(value).__name__}")
    return value


def _read_check(data: dict[str, Any], where: str) -> CheckResult:
    try:
        status = Status(_get(data, "status", str, where))
    except ValueError as exc:
        raise ReportFormatError(f"{where}.status: {exc}") from None
    notes = _get(data, "notes", list, where)
    try:
        outcome = Outcome(
            status=status,
            message=_read_text(_get(data, "message", dict, where), f"{where}.message"),
            score=_number(data, "score", where),
            expected=_optional_text(data.get("expected"), f"{where}.expected"),
            observed=_optional_text(data.get("observed"), f"{where}.observed"),
            notes=tuple(_read_text(n, f"{where}.notes[{i}]") for i, n in enumerate(notes)),
            graded=_get(data, "graded", bool, where),
            blocked_by=_optional_str(data, "blocked_by", where),
        )
    except ReportFormatError:
        raise
    except ValueError as exc:  # Outcome's own validation (score range)
        raise ReportFormatError(f"{where}: {exc}") from None
    return CheckResult(
        id=_get(data, "id", str, where),
        use=_get(data, "use", str, where),
        title=_read_text(_get(data, "title", dict, where), f"{where}.title"),
        hint=_read_text(_get(data, "hint", dict, where), f"{where}.hint"),
        points=_number(data, "points", where),
        earned=_number(data, "earned", where),
        outcome=outcome,
        duration=_number(data, "duration", where),
        attempts=_get(data, "attempts", int, where),
    )


def _read_step(data: dict[str, Any], where: str) -> StepResult:
    checks = _get(data, "checks", list, where)
    step = StepResult(
        id=_get(data, "id", str, where),
        phase=_get(data, "phase", str, where),
        title=_read_text(_get(data, "title", dict, where), f"{where}.title"),
        points=_number(data, "points", where),
        checks=tuple(_read_check(c, f"{where}.checks[{i}]") for i, c in enumerate(checks)),
    )
    derived = {"status": step.status.value, "earned": step.earned, "ungraded": step.ungraded}
    _agree(data, derived, where)
    return step


def _read_source(data: dict[str, Any], where: str) -> SourceInfo:
    collected = data.get("collected_at") if isinstance(data, dict) else None
    if collected is not None and not isinstance(collected, str):
        raise ReportFormatError(f"{where}.collected_at: unexpected {type(collected).__name__}")
    return SourceInfo(
        phase=_get(data, "phase", str, where),
        kind=_get(data, "kind", str, where),
        location=_get(data, "location", str, where),
        collected_at=collected,
    )


def _agree(data: dict[str, Any], derived: dict[str, Any], where: str) -> None:
    """Derived fields must match what the checks say: a hand-edited total
    that disagrees with its checks would otherwise resume silently."""
    for key, value in derived.items():
        if data.get(key) != value:
            raise ReportFormatError(f"{where}.{key}: {data.get(key)!r} disagrees with the checks ({value!r})")


def _notes(data: dict[str, Any], where: str) -> list[Any]:
    """Report notes; reports written before they existed have none."""
    notes = data.get("notes", [])
    if not isinstance(notes, list):
        raise ReportFormatError(f"{where}.notes: unexpected {type(notes).__name__}")
    return notes


def from_dict(data: Any) -> GradeReport:
    where = "report"
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise ReportFormatError(f"not a {SCHEMA} document (schema: {found!r})")
    student = data.get("student")
    if student is not None and not isinstance(student, str):
        raise ReportFormatError(f"{where}.student: unexpected {type(student).__name__}")
    steps = _get(data, "steps", list, where)
    sources = _get(data, "sources", list, where)
    report = GradeReport(
        lab=_get(data, "lab", str, where),
        title=_read_text(_get(data, "title", dict, where), f"{where}.title"),
        namespace=_get(data, "namespace", str, where),
        rubric_version=_get(data, "rubric_version", str, where),
        steps=tuple(_read_step(s, f"{where}.steps[{i}]") for i, s in enumerate(steps)),
        sources=tuple(_read_source(s, f"{where}.sources[{i}]") for i, s in enumerate(sources)),
        generated_at=_get(data, "generated_at", str, where),
        duration=_number(data, "duration", where),
        student=student,
        notes=tuple(_read_text(n, f"{where}.notes[{i}]") for i, n in enumerate(_notes(data, where))),
    )
    totals = {"points": report.points, "earned": report.earned, "ungraded": report.ungraded}
    _agree(data, {"totals": totals, "counts": report.counts()}, where)
    return report


def from_json(text: str | bytes) -> GradeReport:
    """Read back what ``to_json`` wrote; ReportFormatError on anything else."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportFormatError(f"not JSON: {exc}") from None
    return from_dict(data)


__all__ = ["SCHEMA", "ReportFormatError", "dumps_indented", "to_dict", "to_json", "from_dict", "from_json"]
