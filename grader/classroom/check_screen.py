"""What ``labgrade check`` shows: the steps table and the next step's
advice, drawn as plain tables (a log, a pipe, ``NO_COLOR``) or redrawn in
place on a colour terminal (cursor home, each line cleared to its end, the
rest of the screen cleared below: no full-screen flicker)."""
from __future__ import annotations

import shutil
import signal
import threading
import time
from datetime import datetime, tzinfo
from typing import Any, Callable, TextIO

from grader.classroom import ledger as ledger_mod
from grader.classroom.selfcheck import DONE, ERROR, TODO, Progress, StepState
from grader.i18n import Text
from grader.outcome import CheckResult, Status, StepResult
from grader.report.layout import cell_width, fit, wrap, wrap_prose_and_commands
from grader.report.safe import for_terminal
from grader.report.wording import HINT, NOT_YOUR_FAULT, TABLE_WORDS, label, points_str

_WORDS = {
    **TABLE_WORDS,
    "updated": Text("更新于", "updated"),
    "todo": Text("未完成", "not yet"),
    "error": Text("出错", "error"),
    "next": Text("下一步", "Next"),
    "all_done": Text("全部步骤都已完成！", "All steps are done!"),
    "stop": Text("按 Ctrl-C 停止", "Ctrl-C to stop"),
    "on_change": Text("集群有变化时刷新", "updates on each change"),
}


_COLOURS = {DONE: "32", TODO: "", ERROR: "33"}


def _paint(text: str, code: str, enabled: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if enabled and code and text else text


def _safe(value: Any, limit: int = 200) -> str:
    return for_terminal(value, limit)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(width - cell_width(text), 0)
    return gap + text if right else text + gap


def _clock(moment: datetime, now: datetime, tz: tzinfo | None) -> str:
    local, today = moment.astimezone(tz), now.astimezone(tz)
    return local.strftime("%H:%M") if local.date() == today.date() else local.strftime("%m-%d %H:%M")


def _state_text(s: StepState, lang: str, now: datetime, tz: tzinfo | None) -> str:
    if s.state == DONE:
        moment = ledger_mod.parse_at(s.record.at) if s.record is not None else None
        when = _clock(moment, now, tz) if moment is not None else _safe(s.record.at if s.record else "?", 20)
        return f"{when} 完成" if lang == "zh" else f"done at {when}"
    return _WORDS[s.state].get(lang)


def _step_points(s: StepState) -> str:
    return f"{points_str(s.earned)}/{points_str(s.step.points)}" if s.state == DONE else f"-/{points_str(s.step.points)}"


def _first(result: StepResult, *statuses: Status) -> CheckResult | None:
    for status in statuses:
        for c in result.checks:
            if c.status is status and (status is not Status.SKIPPED or c.outcome.graded):
                return c
    return None


def _next_lines(s: StepState, lang: str, width: int, color: bool) -> list[str]:
    zh = lang == "zh"
    colon = "：" if zh else ": "
    head = f"{_WORDS['next'].get(lang)}{colon}{_safe(s.step.id, 40)}  {_safe(s.step.title.get(lang))}"
    out = [_paint(fit(head, width), "1", color)]
    indent = "  "
    room = width - len(indent)

    def para(text: str, code: str = "") -> None:
        out.extend(indent + _paint(line, code, color) for line in wrap(text, room))

    check = _first(s.result, Status.FAILED, Status.ERROR, Status.SKIPPED)
    if check is None:
        return out
    title = _safe(check.title.get(lang))
    message = _safe(check.outcome.message.get(lang), 500)
    para(f"{title}{colon}{message}", "31" if check.status is Status.FAILED else "33")
    if check.status is Status.ERROR:
        para(NOT_YOUR_FAULT.get(lang), "2")
        return out
    hint = check.hint.get(lang).strip() if check.status is Status.FAILED else ""
    if hint:
        # A command in the hint gets a line of its own, never wrapped: the
        # student copies that line and runs all of it.
        head = label(HINT, lang)
        pieces = wrap_prose_and_commands(_safe(hint, 500), room - cell_width(head))
        first = True
        for is_command, text in pieces:
            if first and is_command:
                out.append(indent + head.rstrip())
            prefix = head if first and not is_command else " " * cell_width(head)
            out.append((indent + prefix + text).rstrip())
            first = False
    return out


def render(progress: Progress, lang: str = "en", *, color: bool = False, width: int = 100,
           tz: tzinfo | None = None, interval: float | None = None, follows: bool = False) -> str:
    """The self-check screen as text without a final newline; with
    ``--watch`` its footer says when it is redrawn: on each change when
    ``follows`` (a live cluster followed by WATCH), else every ``interval``
    seconds.  Every string
    from the cluster, the rubric or the ledger file goes through
    ``for_terminal`` before colour is added."""
    width = max(width, 40)
    zh = lang == "zh"
    sep = " · "
    header = (f"{_safe(progress.title.get(lang))} ({_safe(progress.lab, 60)}){sep}"
              f"{_WORDS['namespace'].get(lang)} {_safe(progress.namespace, 63)}{sep}"
              f"{_WORDS['updated'].get(lang)} {progress.at.astimezone(tz).strftime('%H:%M:%S')}")
    out = [_paint(fit(header, width), "1", color), ""]

    heads = [_WORDS[k].get(lang) for k in ("step", "title", "state", "points")]
    rows = [(_safe(s.step.id, 40), _safe(s.step.title.get(lang)), _state_text(s, lang, progress.at, tz), _step_points(s), s.state)
            for s in progress.steps]
    id_w = max([cell_width(heads[0])] + [cell_width(r[0]) for r in rows])
    state_w = max([cell_width(heads[2])] + [cell_width(r[2]) for r in rows])
    pts_w = max([cell_width(heads[3])] + [cell_width(r[3]) for r in rows])
    wanted = max([cell_width(heads[1])] + [cell_width(r[1]) for r in rows])
    title_w = max(min(wanted, width - id_w - state_w - pts_w - 6), 8)

    def line(cells: tuple[str, str, str, str], state: str | None = None) -> str:
        state_cell = _pad(cells[2], state_w)
        if state is not None:
            state_cell = _paint(state_cell, _COLOURS[state], color)
        return "  ".join([_pad(cells[0], id_w), _pad(fit(cells[1], title_w), title_w), state_cell,
                          _pad(cells[3], pts_w, True)]).rstrip()

    out.append(_paint(line(tuple(heads)), "1", color))
    out.append("─" * (id_w + title_w + state_w + pts_w + 6))
    for step_id, title, state_text, pts, state in rows:
        out.append(line((step_id, title, state_text, pts), state))
    out.append("")
    total = f"{points_str(progress.earned)}/{points_str(progress.total)}"
    so_far = f"目前得分：{total}（步骤完成后计分）" if zh else f"Points so far: {total} (a step counts once it is done)"
    out += [_paint(line, "1", color) for line in wrap(so_far, width)]

    nxt = progress.next_step
    out.append("")
    if progress.unreachable is not None:
        # Not the student's next step: the grader could not look at all.
        out += [_paint(line, "33", color) for line in wrap("! " + _safe(progress.unreachable.get(lang), 500), width)]
    elif nxt is None:
        out.append(_paint(_WORDS["all_done"].get(lang), "32", color))
    else:
        out += _next_lines(nxt, lang, width, color)

    for warning in progress.warnings:
        out += [_paint(w, "33", color) for w in wrap("! " + _safe(warning.get(lang), 500), width)]
    signed = ("已签名" if zh else "signed") if progress.signed else ("未签名" if zh else "unsigned")
    footer = (f"记录文件 {_safe(progress.ledger_path, 120)}：已记录 {progress.recorded} 个步骤（{signed}）" if zh
              else f"Ledger {_safe(progress.ledger_path, 120)}: {progress.recorded} step{'s' if progress.recorded != 1 else ''} recorded ({signed})")
    if follows:
        footer += sep + _WORDS["on_change"].get(lang) + sep + _WORDS["stop"].get(lang)
    elif interval:
        footer += (f" · 每 {points_str(interval)} 秒刷新 · " if zh else f" · every {points_str(interval)} s · ") + _WORDS["stop"].get(lang)
    out += [""] + [_paint(f, "2", color) for f in wrap(footer, width)]
    return "\n".join(out)


# -- the screen ------------------------------------------------------------------------

class PlainScreen:
    """One table per round, appended: for pipes, logs and NO_COLOR."""

    def __init__(self, out: TextIO):
        self.out = out
        self.frames = 0

    def draw(self, frame: str) -> None:
        self.out.write(("\n" if self.frames else "") + frame + "\n")
        self.out.flush()
        self.frames += 1

    def close(self, interrupted: bool) -> None:
        self.out.flush()


class LiveScreen:
    """Redraw in place on a terminal: cursor home, every line cleared to its
    end as it is rewritten, what is left below cleared once.  The screen is
    cleared only before the first frame, so nothing flickers."""

    HOME, CLEAR_SCREEN, CLEAR_EOL, CLEAR_BELOW = "\x1b[H", "\x1b[2J", "\x1b[K", "\x1b[J"
    HIDE_CURSOR, SHOW_CURSOR = "\x1b[?25l", "\x1b[?25h"

    def __init__(self, out: TextIO, rows: Callable[[], int] | None = None):
        self.out = out
        self.rows = rows or (lambda: shutil.get_terminal_size((100, 24)).lines)
        self.last: str | None = None

    def draw(self, frame: str) -> None:
        lines = frame.split("\n")
        room = max(self.rows() - 1, 5)  # a taller frame would scroll and break "home"
        lines = lines[:room]
        start = self.HOME if self.last is not None else self.HIDE_CURSOR + self.HOME + self.CLEAR_SCREEN
        # Remember the frame before writing it: Ctrl-C during the write must
        # redraw this frame, not the one before it.
        self.last = frame
        self.out.write(start + "".join(line + self.CLEAR_EOL + "\n" for line in lines) + self.CLEAR_BELOW)
        self.out.flush()

    def close(self, interrupted: bool) -> None:
        if interrupted and self.last is not None:
            self.draw(self.last)  # Ctrl-C may have cut a frame short: leave a whole one
        self.out.write(self.SHOW_CURSOR)
        self.out.flush()


def watch(next_frame: Callable[[], str], screen: Any, interval: float,
          sleep: Callable[[float], None] = time.sleep) -> int:
    """Draw a frame, wait, repeat, until Ctrl-C: then exit 0 with the last
    frame on screen."""
    interrupted = False
    try:
        while True:
            screen.draw(next_frame())
            sleep(interval)
    except KeyboardInterrupt:
        interrupted = True
        return 0
    finally:
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main and interrupted else None
        try:
            screen.close(interrupted)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)


# -- the command ---------------------------------------------------------------------


__all__ = ["render", "watch", "PlainScreen", "LiveScreen"]
