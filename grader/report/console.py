"""The report a student reads in their terminal.

First an overview table (one row per step), then each step's checks with a
symbol, and under every check that did not pass the reason: the message,
what was expected and seen, and the hint. It ends with the total and, when
some points could not be judged in this run, why, so a student never takes
an ungraded step for a lost one.

Chinese characters take two terminal columns, so widths are measured with
``unicodedata.east_asian_width``, never ``len``. Colour is plain ANSI and
only on request (the CLI decides from NO_COLOR and isatty); every string
that came from the cluster or the rubric goes through ``safe.for_terminal``
before any colour is added.
"""
from __future__ import annotations

from grader.i18n import Text, phase_name
from grader.outcome import CheckResult, GradeReport, Status, StepResult
from grader.report.layout import DEFAULT_WIDTH, MIN_WIDTH, cell_width, fit, pad, wrap, wrap_prose_and_commands
from grader.report.safe import for_terminal
from grader.report.wording import (
    TABLE_WORDS,
    check_state,
    state_counts,
    step_points,
    step_state,
    ungraded_reasons,
    EXPECTED,
    HINT,
    NOT_YOUR_FAULT,
    NOTE,
    OBSERVED,
    STATE,
    label,
    points_str,
)

SYMBOLS = {Status.PASSED: "✔", Status.FAILED: "✘", Status.ERROR: "!", Status.SKIPPED: "–"}
ASCII_SYMBOLS = {Status.PASSED: "+", Status.FAILED: "x", Status.ERROR: "!", Status.SKIPPED: "-"}

#: The status whose symbol and colour each reported state borrows.
_STATUS_OF = {"passed": Status.PASSED, "failed": Status.FAILED, "blocked": Status.FAILED,
              "error": Status.ERROR, "ungraded": Status.SKIPPED}

_COLOURS = {Status.PASSED: "32", Status.FAILED: "31", Status.ERROR: "33", Status.SKIPPED: "90"}
_BOLD, _DIM = "1", "2"

TITLE_LIMIT = 200
MESSAGE_LIMIT = 500
FIELD_LIMIT = 1500  # exec output can be long; the JSON keeps it whole
FIELD_LINES = 12

_WORDS = {
    **TABLE_WORDS,
    "student": Text("学生", "student"),
    "checks": Text("检查项", "Checks"),
    "total": Text("总分", "Total"),
}


class _Painter:
    """Adds ANSI colour when asked, and nothing otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *codes: str) -> str:
        if not self.enabled or not codes or not text:
            return text
        return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"

    def status(self, text: str, status: Status) -> str:
        return self(text, _COLOURS[status])


def _safe(value: str, limit: int = TITLE_LIMIT, *, lines: bool = False) -> str:
    return for_terminal(value, limit, keep_newlines=lines)


def _header(report: GradeReport, lang: str, sep: str) -> str:
    parts = [f"{_safe(report.title.get(lang))} ({_safe(report.lab)})"]
    parts.append(f"{_WORDS['namespace'].get(lang)} {_safe(report.namespace)}")
    if report.student:
        parts.append(f"{_WORDS['student'].get(lang)} {_safe(report.student)}")
    return sep.join(parts)




def _step_table(report: GradeReport, lang: str, width: int, paint: _Painter, rule: str) -> tuple[list[str], int]:
    """The overview rows, and the width they take (the details align to it)."""
    heads = [_WORDS[k].get(lang) for k in ("step", "title", "state", "points")]
    rows = [(_safe(s.id, 40), _safe(s.title.get(lang)), step_state(s), step_points(s, lang)) for s in report.steps]
    id_w = max([cell_width(heads[0])] + [cell_width(r[0]) for r in rows])
    state_w = max([cell_width(heads[2])] + [cell_width(r[2][1].get(lang)) for r in rows])
    pts_w = max([cell_width(heads[3])] + [cell_width(r[3]) for r in rows])
    wanted = max([cell_width(heads[1])] + [cell_width(r[1]) for r in rows])
    if width - id_w - state_w - pts_w - 6 < min(wanted, 30):  # narrow: "5/5 (+10)"; the total line says what +10 is
        rows = [(r[0], r[1], r[2], step_points(s, lang, compact=True)) for r, s in zip(rows, report.steps)]
        pts_w = max([cell_width(heads[3])] + [cell_width(r[3]) for r in rows])
    if width - id_w - state_w - pts_w - 6 < 8:  # only absurdly long step ids get cut
        id_w = max(width - state_w - pts_w - 6 - 8, 5)
    wanted = max([cell_width(heads[1])] + [cell_width(r[1]) for r in rows])
    title_w = max(min(wanted, width - id_w - state_w - pts_w - 6), 8)
    total_w = id_w + title_w + state_w + pts_w + 6
    ellipsis = "..." if rule == "-" else "…"

    def line(cells: tuple[str, str, str, str], status: Status | None = None) -> str:
        state = pad(cells[2], state_w)
        if status is not None:
            state = paint.status(state, status)
        title = pad(fit(cells[1], title_w, ellipsis), title_w)
        return "  ".join([pad(fit(cells[0], id_w, ellipsis), id_w), title, state, pad(cells[3], pts_w, True)]).rstrip()

    out = [paint(line((heads[0], heads[1], heads[2], heads[3])), _BOLD), rule * total_w]
    for step_id, title, (key, word), pts in rows:
        out.append(line((step_id, title, word.get(lang), pts), _STATUS_OF[key]))
    return out, total_w


def _field(word: Text, value: str, lang: str, indent: int, width: int, *, commands: bool = False) -> list[str]:
    """``Expected: value`` with continuation lines under the value. With
    ``commands`` (hints), a shell command in the value gets a line of its
    own, never wrapped, so copying that line runs all of it."""
    head = label(word, lang)
    room = width - indent - cell_width(head)
    if commands:
        pieces = wrap_prose_and_commands(value, room)
    else:
        pieces = [(False, line) for line in wrap(value, room)]
    if len(pieces) > FIELD_LINES:  # a page of exec output would bury the next check
        pieces = pieces[: FIELD_LINES - 1] + [(False, "...")]
    lines = []
    if pieces[0][0]:  # a command first: the label alone, the command under it
        lines.append((" " * indent + head).rstrip())
    else:
        lines.append((" " * indent + head + pieces.pop(0)[1]).rstrip())
    lines += [(" " * (indent + cell_width(head)) + rest).rstrip() for _, rest in pieces]
    return lines


def _check_lines(check: CheckResult, lang: str, width: int, paint: _Painter, symbols: dict[Status, str], ellipsis: str) -> list[str]:
    outcome = check.outcome
    status = _STATUS_OF[check_state(check)[0]]  # a blocked check is shown as the lost points it is
    pts = f"{points_str(check.earned)}/{points_str(check.points)}" if outcome.graded else f"-/{points_str(check.points)}"
    head = f"  {symbols[status]} "
    title = fit(_safe(check.title.get(lang)) or _safe(check.id), width - cell_width(head) - cell_width(pts) - 2, ellipsis)
    gap = " " * max(width - cell_width(head) - cell_width(title) - cell_width(pts), 2)
    lines = [paint.status(head, status) + title + gap + paint(pts, _DIM if status is Status.SKIPPED else _BOLD)]
    if status is Status.PASSED:
        return lines

    indent = 6
    message = _safe(outcome.message.get(lang), MESSAGE_LIMIT, lines=True)
    lines += [" " * indent + paint.status(m, status) for m in wrap(message, width - indent) if m]
    if status is Status.SKIPPED or check.blocked:
        return lines
    for word, text in ((EXPECTED, outcome.expected), (OBSERVED, outcome.observed)):
        if text is not None and text.get(lang).strip():
            lines += _field(word, _safe(text.get(lang), FIELD_LIMIT, lines=True), lang, indent, width)
    for note in outcome.notes:
        if note.get(lang).strip():
            lines += _field(NOTE, _safe(note.get(lang), FIELD_LIMIT, lines=True), lang, indent, width)
    if status is Status.ERROR:
        lines += [" " * indent + paint(m, _DIM) for m in wrap(NOT_YOUR_FAULT.get(lang), width - indent)]
    if check.hint.get(lang).strip():
        lines += [paint(h, _DIM) for h in _field(HINT, _safe(check.hint.get(lang), MESSAGE_LIMIT), lang, indent, width,
                                                 commands=True)]
    return lines


def _step_details(step: StepResult, lang: str, width: int, paint: _Painter, symbols: dict[Status, str], ellipsis: str) -> list[str]:
    heading = fit(f"{_safe(step.id, 40)}  {_safe(step.title.get(lang))}", width, ellipsis)
    out = [paint(heading, _BOLD)]
    for check in step.checks:
        out += _check_lines(check, lang, width, paint, symbols, ellipsis)
    return out


def total_line(report: GradeReport, lang: str) -> str:
    """``Total 62/100 (15 points not graded: 1 error, phase 'cleaned' missing)``."""
    zh = lang == "zh"
    text = f"{_WORDS['total'].get(lang)} {points_str(report.earned)}/{points_str(report.points)}"
    if report.ungraded <= 0:
        return text
    errors, missing, others = ungraded_reasons(report)
    reasons = []
    if errors:
        reasons.append(f"{errors} 项出错" if zh else f"{errors} error{'s' if errors != 1 else ''}")
    for phase in missing:
        reasons.append(f"没有{phase_name(phase).zh}的集群状态" if zh else f"phase '{_safe(phase, 40)}' missing")
    if others:
        reasons.append(f"{others} 项未运行" if zh else f"{others} check{'s' if others != 1 else ''} not run")
    amount = points_str(report.ungraded)
    if zh:
        return f"{text}（{amount} 分未评分：{'，'.join(reasons)}）"
    return f"{text} ({amount} point{'s' if amount != '1' else ''} not graded: {', '.join(reasons)})"


def counts_line(report: GradeReport, lang: str, sep: str) -> str:
    parts = [f"{n} {word.get(lang)}" for _, n, word in state_counts(report)]
    return f"{_WORDS['checks'].get(lang)}{'：' if lang == 'zh' else ': '}{sep.join(parts)}"


def render(report: GradeReport, lang: str = "en", color: bool = False, width: int = DEFAULT_WIDTH, *,
           ascii: bool = False) -> str:
    """The whole report as terminal text, without a final newline (print it).

    ``ascii`` swaps the symbols and rules for plain ASCII, for consoles
    whose font lacks them; student text itself is left as it is.
    """
    width = max(width, MIN_WIDTH)
    paint = _Painter(color)
    symbols = ASCII_SYMBOLS if ascii else SYMBOLS
    rule = "-" if ascii else "─"
    sep = " | " if ascii else " · "
    ellipsis = "..." if ascii else "…"
    # Report notes come first: which phase was graded and why, swapped
    # dumps, the lab in another namespace. Read before any number.
    out = [paint(line, "33") for note in report.notes
           for line in wrap("! " + _safe(note.get(lang), MESSAGE_LIMIT), width)]
    out += [paint(fit(_header(report, lang, sep), width, ellipsis), _BOLD), ""]
    table, table_width = _step_table(report, lang, width, paint, rule)
    out += table
    # Check lines end where the table ends, unless the table is too narrow
    # to say anything useful; the message text may then use the full width.
    detail_width = max(table_width, min(width, 72))
    for step in report.steps:
        out += [""] + _step_details(step, lang, detail_width, paint, symbols, ellipsis)
    out += [""] + wrap(counts_line(report, lang, sep), width)
    out += [paint(line, _BOLD) for line in wrap(total_line(report, lang), width)]
    return "\n".join(out)


__all__ = ["render", "total_line", "counts_line", "ungraded_reasons", "cell_width", "fit", "pad", "wrap", "SYMBOLS",
           "ASCII_SYMBOLS"]
