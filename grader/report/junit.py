"""JUnit XML for the LMS and CI: one testsuite per run, one testcase per check.

Names stay stable across runs and students (``classname`` is
``<lab>.<step>``, ``name`` the check id) so that an LMS can track a check's
history; everything that varies (points, status, student text) lives in
properties and in the failure/error/skipped elements.

The document is the one junit-xml 1.9 wrote for this report, byte for
byte (its elements, attributes and their order, completed with the
per-testcase properties it lacks and laid out as ``ET.indent`` does), but
it is written here as text: the library's serialiser writes US-ASCII, so a
lone surrogate or U+FFFE became a character reference (``&#55296;``) that
no parser accepts, and it silently deleted CR and C1 characters, which
meant serialising, parsing back and serialising again (1.4 ms a report);
and a class of a thousand writes every student's suite twice (their file
and the class file, :func:`testsuite_xml` with the class's classnames).
Every string is passed through ``safe.for_xml`` first.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Callable, Iterable

from grader.i18n import Text
from grader.outcome import CheckResult, GradeReport, Status, StepResult
from grader.report.safe import for_xml
from grader.report.wording import (
    EXPECTED,
    by_content,
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


@dataclass(frozen=True)
class SuiteXml:
    """One ``<testsuite>`` as text (indented to sit one level inside
    ``<testsuites>``), and its counts for the enclosing element."""

    text: str
    tests: int
    failures: int
    errors: int
    skipped: int


def _properties(props: Iterable[tuple[str, str]], pad: str) -> str:
    inner = pad + "  "
    items = "".join(f'{inner}<property name="{_escape_value(k)}" value="{_escape_value(v)}" />' for k, v in props)
    return f"{pad}<properties>{items}{pad}</properties>"


def _outcome_element(check: CheckResult, lang: str, kind: str | None) -> tuple[str, str, str] | None:
    """(element, type, body) of a testcase's failure/error/skipped, as junit-xml adds them."""
    if check.status is Status.FAILED:
        return "failure", kind or "failure", evidence_of(check, lang)
    if check.blocked:
        # Points lost to a failed prerequisite: a failure (an LMS counts
        # failures), whose message names the prerequisite.
        return "failure", "blocked", evidence_of(check, lang)
    if check.status is Status.ERROR:
        return "error", kind or "error", evidence_of(check, lang)
    if check.status is Status.SKIPPED:
        return "skipped", "skipped", evidence_of(check, lang)
    return None


@by_content
def _case_body(check: CheckResult, lang: str) -> tuple[str, str | None]:
    """A testcase's children (its properties, its failure/error/skipped) as
    text, and the tag of the latter (None for a pass)."""
    pad2 = "\n      "
    body = _properties(_case_properties(check, lang).items(), pad2)
    outcome = _outcome_element(check, lang, _attr(check.use) or None)
    if outcome is None:
        return body, None
    tag, kind, text = outcome
    attrs = f'type="{_escape_value(kind)}" message="{_escape_value(message_of(check, lang))}"'
    body += f"{pad2}<{tag} {attrs}>{_escape_text(text)}</{tag}>" if text else f"{pad2}<{tag} {attrs} />"
    return body, tag


def testsuite_xml(report: GradeReport, lang: str = "en", *,
                  classname: Callable[[StepResult], str] | None = None,
                  extra_properties: Iterable[tuple[str, str]] = ()) -> SuiteXml:
    """The run's ``<testsuite>``: what ``to_junit_xml`` wraps in
    ``<testsuites>``, and, with the class's ``classname`` and a
    ``student_name`` property, what the class file holds for each student."""
    pad1 = "\n    "  # a testcase's line (its children are one level deeper: _case_body)
    failures = errors = skipped = tests = 0
    cases = []
    classnames: dict[int, str] = {}  # per step: a step's checks share it
    for step, check in report.checks():
        tests += 1
        name = _escape_value(_attr(check.id))
        cls = classnames.get(id(step))
        if cls is None:
            cls = classnames[id(step)] = _escape_value(classname(step) if classname is not None
                                                       else _attr(f"{report.lab}.{step.id}"))
        seconds = _seconds(check.duration)
        # junit-xml writes time (when non-zero) before classname; set afterwards it comes last
        head = (f'<testcase name="{name}" time="{seconds}" classname="{cls}">' if check.duration
                else f'<testcase name="{name}" classname="{cls}" time="{seconds}">')
        body, tag = _case_body(check, lang)
        if tag == "failure":
            failures += 1
        elif tag == "error":
            errors += 1
        elif tag == "skipped":
            skipped += 1
        cases.append(f"{pad1}{head}{body}{pad1}</testcase>")
    props = list(_suite_properties(report, lang).items()) + list(extra_properties)
    stamp = _attr(report.generated_at)
    head = (f'<testsuite disabled="0" errors="{errors}" failures="{failures}" '
            f'name="{_escape_value(suite_name(report))}" skipped="{skipped}" tests="{tests}" '
            f'time="{_seconds(report.duration)}"' + (f' timestamp="{_escape_value(stamp)}">' if stamp else ">"))
    text = head + _properties(props, pad1) + "".join(cases) + "\n  </testsuite>"
    return SuiteXml(text, tests, failures, errors, skipped)


def to_junit_xml(report: GradeReport, lang: str = "en") -> str:
    """The whole run as a JUnit XML document (a str; write it as UTF-8)."""
    suite = testsuite_xml(report, lang)
    # junit-xml's <testsuites> totals, in its attribute order; the time is the run's.
    return (f'{XML_DECLARATION}<testsuites disabled="0" errors="{suite.errors}" failures="{suite.failures}" '
            f'tests="{suite.tests}" time="{_seconds(report.duration)}">\n  {suite.text}\n</testsuites>\n')


# -- writing ----------------------------------------------------------------------

def _escape_text(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def escape_attribute(text: str) -> str:
    """An attribute value escaped as ElementTree escapes it."""
    return _escape_value(text)


def _escape_value(text: str) -> str:
    text = _escape_text(text)
    if '"' in text:
        text = text.replace('"', "&quot;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    if "\n" in text:
        text = text.replace("\n", "&#10;")
    if "\t" in text:
        text = text.replace("\t", "&#09;")
    return text


def serialize(root: ET.Element, space: str = "  ", level: int = 0) -> str:
    """``ET.indent(root, space); ET.tostring(root, encoding="unicode")`` for a
    tree without namespaces, written in one pass (and ``root`` left as it was);
    with ``level``, as the tree would be written that deep inside another.

    ElementTree's writer first walks the whole tree for namespaces and then
    writes node by node through a chain of generic calls; for the batch's
    thousands of small documents that was most of the time spent on JUnit.
    The output is the same string: the same escaping (``&``, ``<``, ``>`` in
    text; also ``"``, CR, LF and tab in attribute values), attributes in
    their order, ``<tag />`` for an empty element, and the indentation
    ``ET.indent`` gives (a container's whitespace-only text and its
    children's whitespace-only tails become line breaks and ``space`` per
    level; other text is kept).
    """
    out: list[str] = []
    pads = ["\n"]

    def pad(level: int) -> str:
        while len(pads) <= level:
            pads.append(pads[-1] + space)
        return pads[level]

    def write(elem: ET.Element, level: int) -> None:
        tag = elem.tag
        out.append("<" + tag)
        for key, value in elem.items():
            out.append(f' {key}="{_escape_value(value)}"')
        text = elem.text
        if len(elem):
            inner = pad(level + 1)
            out.append(">")
            out.append(_escape_text(text) if text and text.strip() else inner)
            last = len(elem) - 1
            for i, child in enumerate(elem):
                write(child, level + 1)
                tail = child.tail
                if tail and tail.strip():
                    out.append(_escape_text(tail))
                else:
                    out.append(inner if i < last else pad(level))
            out.append("</" + tag + ">")
        elif text:
            out.append(">" + _escape_text(text) + "</" + tag + ">")
        else:
            out.append(" />")

    write(root, level)
    if root.tail:
        out.append(_escape_text(root.tail))
    return "".join(out)


__all__ = ["to_junit_xml", "testsuite_xml", "SuiteXml", "serialize", "escape_attribute", "message_of", "evidence_of", "suite_name"]
