"""JUnit XML for the LMS and CI: one testsuite per run, one testcase per check.

Names stay stable across runs and students (``classname`` is
``<lab>.<step>``, ``name`` the check id) so that an LMS can track a check's
history; everything that varies (points, status, student text) lives in
properties and in the failure/error/skipped elements.

junit-xml 1.9 builds an ElementTree and serialises it as US-ASCII, so a
lone surrogate or U+FFFE becomes a character reference (``&#55296;``) that
no parser accepts, and it silently deletes CR and C1 characters after
escaping. Every string is therefore passed through ``safe.for_xml`` first.
The library has no per-testcase properties, so its output is parsed back,
completed, and re-serialised with a fixed indent: same report, same bytes.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from junit_xml import TestCase, TestSuite, to_xml_report_string

from grader.i18n import Text
from grader.outcome import CheckResult, GradeReport, Status, StepResult
from grader.report.safe import for_xml
from grader.report.wording import (
    EXPECTED,
    FALLBACK_MESSAGE,
    HINT,
    NOT_YOUR_FAULT,
    NOTE,
    OBSERVED,
    label,
    points_str,
)

MESSAGE_LIMIT = 300  # the message attribute: one sentence, shown in lists
FIELD_LIMIT = 4000  # each evidence field in the element body
NAME_LIMIT = 200  # ids, classnames, property values

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _attr(value: object, limit: int = NAME_LIMIT) -> str:
    return for_xml(value, limit, single_line=True)


def _seconds(value: float) -> str:
    return f"{value:.3f}" if value >= 0 else "0.000"


def message_of(check: CheckResult, lang: str) -> str:
    """The one student-safe sentence shown as the element's message."""
    text = _attr(check.outcome.message.get(lang), MESSAGE_LIMIT)
    return text or FALLBACK_MESSAGE[check.status].get(lang)


def evidence_of(check: CheckResult, lang: str) -> str:
    """The element body: labelled expected/observed/notes/hint lines.

    Line breaks inside a value are kept (exec output has lines); CR is
    folded into LF because XML parsers would do so anyway and junit-xml
    drops a raw CR.
    """
    outcome = check.outcome
    fields: list[tuple[Text, Text | None]] = [(EXPECTED, outcome.expected), (OBSERVED, outcome.observed)]
    fields += [(NOTE, note) for note in outcome.notes]
    if outcome.status is Status.ERROR:
        fields.append((NOTE, NOT_YOUR_FAULT))
    fields.append((HINT, check.hint))
    lines = []
    for word, value in fields:
        if value is None:
            continue
        text = for_xml(value.get(lang), FIELD_LIMIT).replace("\r\n", "\n").replace("\r", "\n")
        if text.strip():
            lines.append(f"{label(word, lang)}{text}")
    return "\n".join(lines)


def _case(report: GradeReport, step: StepResult, check: CheckResult, lang: str) -> TestCase:
    case = TestCase(
        name=_attr(check.id),
        classname=_attr(f"{report.lab}.{step.id}"),
        elapsed_sec=check.duration,
    )
    kind = _attr(check.use) or None
    if check.status is Status.FAILED:
        case.add_failure_info(message_of(check, lang), evidence_of(check, lang), kind)
    elif check.blocked:
        # Points lost to a failed prerequisite: a failure (an LMS counts
        # failures), whose message names the prerequisite.
        case.add_failure_info(message_of(check, lang), evidence_of(check, lang), "blocked")
    elif check.status is Status.ERROR:
        case.add_error_info(message_of(check, lang), evidence_of(check, lang), kind)
    elif check.status is Status.SKIPPED:
        case.add_skipped_info(message_of(check, lang), evidence_of(check, lang))
    return case


def _case_properties(check: CheckResult, lang: str) -> dict[str, str]:
    return {
        "points": points_str(check.earned),
        "max_points": points_str(check.points),
        "status": check.status.value,
        "graded": "true" if check.outcome.graded else "false",
        **({"blocked_by": _attr(check.outcome.blocked_by)} if check.outcome.blocked_by else {}),
        "title": _attr(check.title.get(lang)),
    }


def _suite_properties(report: GradeReport, lang: str) -> dict[str, str]:
    props = {
        "lab": _attr(report.lab),
        "title": _attr(report.title.get(lang)),
        "points": points_str(report.earned),
        "max_points": points_str(report.points),
        "ungraded_points": points_str(report.ungraded),
        "namespace": _attr(report.namespace),
        "rubric_version": _attr(report.rubric_version),
        "lang": lang,
    }
    if report.student is not None:
        props["student"] = _attr(report.student)
    for i, note in enumerate(report.notes, 1):
        props[f"note.{i}"] = _attr(note.get(lang), 1000)
    for source in report.sources:
        prefix = f"source.{_attr(source.phase)}"
        props[f"{prefix}.kind"] = _attr(source.kind)
        props[f"{prefix}.location"] = _attr(source.location, 1000)
        if source.collected_at:
            props[f"{prefix}.collected_at"] = _attr(source.collected_at)
    return props


def suite_name(report: GradeReport) -> str:
    name = _attr(report.lab)
    return f"{name} [{_attr(report.student)}]" if report.student else name


def _properties_element(props: dict[str, str]) -> ET.Element:
    element = ET.Element("properties")
    for key, value in props.items():
        ET.SubElement(element, "property", {"name": key, "value": value})
    return element


def to_junit_xml(report: GradeReport, lang: str = "en") -> str:
    """The whole run as a JUnit XML document (a str; write it as UTF-8)."""
    pairs = report.checks()
    suite = TestSuite(
        suite_name(report),
        [_case(report, step, check, lang) for step, check in pairs],
        timestamp=_attr(report.generated_at) or None,
        properties=_suite_properties(report, lang),
    )
    root = ET.fromstring(to_xml_report_string([suite], prettyprint=False))
    for element in (root, *root.iter("testsuite")):
        element.set("time", _seconds(report.duration))
    for element, (_, check) in zip(root.iter("testcase"), pairs):
        element.set("time", _seconds(check.duration))
        element.insert(0, _properties_element(_case_properties(check, lang)))
    ET.indent(root, space="  ")
    return XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n"


__all__ = ["to_junit_xml", "message_of", "evidence_of", "suite_name"]
