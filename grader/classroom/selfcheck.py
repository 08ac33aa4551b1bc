"""``labgrade check``: a student checks their own work while doing the lab.

Every round grades the live cluster with *every* phase's steps (during the
lab the cluster is "built"; after the cleanup step 6 passes), records each
step the first time it is done in the ledger (see :mod:`grader.classroom.ledger`),
and shows the six steps with a state each, the points so far, and for the
first unfinished step what is wrong and the hint, in the student's
language.  Because steps 1-5 are gone once step 6 is done, a step recorded
in the ledger stays done ("done at 10:42") whatever the cluster shows now.

Two rules keep the ledger honest:

- a step of a later phase (the cleanup) is recorded only after every step
  of the earlier phases is: an empty namespace "passes" the cleanup before
  anything was built;
- the cleanup's ``kubernetes`` Service check compares with the uid the
  ledger recorded while building, so deleting that Service is caught even
  though each round looks at one moment only.

``--watch`` re-grades every few seconds.  On a colour terminal it redraws
in place (cursor home, each line cleared to its end, the rest of the screen
cleared below: no full-screen flicker); with ``NO_COLOR``, ``--no-color``
or output that is not a terminal it prints one plain table per round with
no escape codes at all.  Ctrl-C ends it with exit 0, the last table left on
screen.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Callable, TextIO

from grader import engine
from grader.clock import utc_now
from grader.classroom import ledger as ledger_mod
from grader.errors import InputError
from grader.i18n import LANGS, Text, default_lang
from grader.outcome import CheckResult, SourceInfo, Status, StepResult
from grader.report.layout import cell_width, fit, terminal_width, wrap, wrap_prose_and_commands
from grader.report.safe import for_terminal
from grader.report.wording import HINT, NOT_YOUR_FAULT, TABLE_WORDS, label, points_str
from grader.rubric import Rubric, StepDef, only_phase
from grader.view import ClusterView, build_view

DONE, TODO, ERROR = "done", "todo", "error"
DEFAULT_INTERVAL = 5.0
MIN_INTERVAL = 1.0

_WORDS = {
    **TABLE_WORDS,
    "updated": Text("更新于", "updated"),
    "todo": Text("未完成", "not yet"),
    "error": Text("出错", "error"),
    "next": Text("下一步", "Next"),
    "all_done": Text("全部步骤都已完成！", "All steps are done!"),
    "stop": Text("按 Ctrl-C 停止", "Ctrl-C to stop"),
}


# -- one round ------------------------------------------------------------------------

class _RoundSource:
    """One live pass per round, shared by every phase's grading; an engine
    re-poll (``Session(poll=True)``) asks for a fresh pass, which the later
    phases then see too."""

    def __init__(self, source: Any):
        self.source = source
        self.latest: ClusterView | None = None
        self._armed = False

    @property
    def info(self) -> SourceInfo:
        return self.source.info

    @property
    def live(self) -> bool:
        return bool(getattr(self.source, "live", False))

    def refresh(self) -> ClusterView:
        self.latest = self.source.view()
        return self.latest

    def arm(self) -> None:
        self._armed = True

    def view(self) -> ClusterView:
        if self._armed and self.latest is not None:
            self._armed = False
            return self.latest
        return self.refresh()


def recorded_view(records: list[ledger_mod.Record], phase: str, namespace: str) -> ClusterView:
    """The lab's objects as the ledger recorded them (kind, name and uid
    only), as a view of ``phase``: proof of what was built, once step 6 has
    removed it. Only kinds the records name count as listed, so a kind the
    ledger never saw proves nothing either way."""
    objects: dict[str, dict[str, Any]] = {}
    for r in records:
        for key, uid in r.uids.items():
            kind, _, rest = key.partition("/")
            if not kind or not rest:
                continue
            if key == ledger_mod.NAMESPACE_KEY:
                meta = {"name": rest, "uid": uid}
            elif key == ledger_mod.KUBERNETES_KEY:
                meta = {"name": "kubernetes", "namespace": "default", "uid": uid}
            else:
                meta = {"name": rest, "namespace": r.namespace, "uid": uid}
            objects.setdefault(key, {"kind": kind, "metadata": meta})
    return build_view(list(objects.values()), location="ledger", phase=phase)


@dataclass(frozen=True)
class StepState:
    step: StepDef
    state: str  # DONE, TODO or ERROR
    result: StepResult  # this round's grading
    record: ledger_mod.Record | None  # the ledger's first record of it
    earned: float  # the points it counts: a done step's recorded points, else 0
    waiting: bool = False  # passes now, but earlier phases are not all done
    new: bool = False  # recorded in this round


@dataclass(frozen=True)
class Progress:
    title: Text
    lab: str
    namespace: str
    at: datetime
    steps: tuple[StepState, ...]
    total: float
    warnings: tuple[Text, ...]
    ledger_path: str
    recorded: int
    signed: bool
    #: No request reached the API server this round: the one line that says
    #: why (server and cause), shown instead of a next step.
    unreachable: Text | None = None

    @property
    def earned(self) -> float:
        return round(sum(s.earned for s in self.steps), 4)

    @property
    def next_step(self) -> StepState | None:
        return next((s for s in self.steps if s.state != DONE), None)


def _unreachable(source: Any) -> Text | None:
    """The live source's unreachable line for its last pass, if any."""
    found = getattr(source, "unreachable", None)
    text = getattr(found, "text", None)
    return text if isinstance(text, Text) else None


def _state(result: StepResult) -> str:
    statuses = {c.status for c in result.checks}
    if Status.FAILED not in statuses and Status.ERROR in statuses:
        return ERROR
    return TODO


class Session:
    """The grading rounds of one ``labgrade check`` run."""

    def __init__(self, rubric: Rubric, source: Any, book: ledger_mod.Ledger, namespace: str, *,
                 poll: bool = False, now: Callable[[], datetime] = utc_now):
        self.rubric = rubric
        self.source = _RoundSource(source)
        self.ledger = book
        self.namespace = namespace
        self.poll = poll
        self.now = now

    def _grade(self, records: list[ledger_mod.Record]) -> dict[str, StepResult]:
        """Every phase's steps against this round's view.  Phase by phase,
        so that the cleanup never takes this very moment for an earlier
        one: its only earlier view is the ledger's baseline."""
        baseline = ledger_mod.baseline_view(records, self.source.latest) if self.source.latest is not None else None
        results: dict[str, StepResult] = {}
        options = engine.Options(poll=self.poll)
        for i, phase in enumerate(self.rubric.phases):
            part = only_phase(self.rubric, phase)
            if not part.steps:
                continue
            sources: dict[str, Any] = {}
            if baseline is not None:
                sources["baseline"] = engine.StaticSource(baseline, SourceInfo("baseline", "ledger", self.ledger.path))
            if i > 0:
                # What the ledger saw built: the cleanup earns points only
                # for removing objects an earlier step recorded.
                earlier = self.rubric.phases[i - 1]
                built = recorded_view(records, earlier, self.namespace)
                sources[earlier] = engine.StaticSource(built, SourceInfo(earlier, "ledger", self.ledger.path))
            sources[phase] = self.source
            self.source.arm()
            report = engine.grade(part, sources, namespace=self.namespace, options=options)
            results.update({s.id: s for s in report.steps})
        return results

    def _check_ledger(self, records: list[ledger_mod.Record], view: ClusterView) -> list[Text]:
        """Refuse a ledger of another namespace or cluster (copied, or from
        an earlier cluster); warn when the kubernetes Service changed."""
        path = self.ledger.path
        for r in records:
            if r.namespace != self.namespace:
                raise InputError(path, f"record {r.number} is for namespace {r.namespace!r}, but this check grades "
                                       f"namespace {self.namespace!r}: use -n {r.namespace} or another --ledger", r.line)
        foreign = ledger_mod.other_cluster(records, view)
        if foreign is not None:
            raise InputError(path, f"record {foreign.number} was made in another cluster (its default namespace "
                                   "has another uid): a ledger belongs to one cluster; start a new one with "
                                   "--ledger NEW_FILE", foreign.line)
        warnings = []
        changed = ledger_mod.kubernetes_recreated(records, view)
        if changed is not None:
            warnings.append(Text(
                f"kubernetes 服务的 uid 与 {changed.step} 完成时（{changed.at}）不同：它被删除后又被重建了，清理步骤不能通过",
                f"the kubernetes service has another uid than when {changed.step} was done ({changed.at}): "
                "it was deleted and re-created, so the cleanup step cannot pass"))
        return warnings

    def round(self) -> Progress:
        view = self.source.refresh()
        records = self.ledger.records()
        warnings = self._check_ledger(records, view)
        results = self._grade(records)
        view = self.source.latest or view
        first = ledger_mod.first_by_step(records)
        moment = self.now()

        entries = []
        waiting: set[str] = set()
        recorded = set(first)
        for step in self.rubric.steps:
            if step.id in recorded or not ledger_mod.step_done(results[step.id]):
                continue
            earlier = [s.id for s in self.rubric.steps
                       if self.rubric.phases.index(s.phase) < self.rubric.phases.index(step.phase)]
            if any(e not in recorded for e in earlier):
                waiting.add(step.id)
                continue
            entries.append(ledger_mod.make_record(self.rubric.lab, step, results[step.id], view, self.namespace, moment))
            recorded.add(step.id)
        new: set[str] = set()
        if entries:
            records, written = self.ledger.append(entries)
            first = ledger_mod.first_by_step(records)
            new = {w["step"] for w in written}

        states = []
        for step in self.rubric.steps:
            rec = first.get(step.id)
            result = results[step.id]
            if rec is not None:
                earned = ledger_mod.step_from_record(step, rec, self.ledger.path).earned
                states.append(StepState(step, DONE, result, rec, earned, new=step.id in new))
            else:
                states.append(StepState(step, _state(result), result, None, 0.0, waiting=step.id in waiting))
        return Progress(
            title=self.rubric.title, lab=self.rubric.lab, namespace=self.namespace, at=moment,
            steps=tuple(states), total=self.rubric.total, warnings=tuple(warnings),
            ledger_path=self.ledger.path, recorded=len(first), signed=self.ledger.key is not None,
            unreachable=_unreachable(self.source.source),
        )


# -- the table ------------------------------------------------------------------------

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
           tz: tzinfo | None = None, interval: float | None = None) -> str:
    """The self-check screen as text without a final newline.  Every string
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
    if interval:
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

def _interval(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not seconds >= MIN_INTERVAL or seconds != seconds or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"must be at least {MIN_INTERVAL:g} second")
    return seconds


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``check`` to the CLI's subcommands (``run`` executes it)."""
    p = subparsers.add_parser(
        "check", help="check your own lab work as you go, and record finished steps in a ledger",
        description="Grade the live cluster against every step of the rubric, record each step the first "
                    "time it is done in a ledger, and show what to do next.")
    p.add_argument("--rubric", required=True, help="bundled rubric name (see `labgrade rubrics`) or a YAML file")
    p.add_argument("-n", "--namespace", help="the lab namespace (default: the rubric's)")
    p.add_argument("--watch", action="store_true", help="re-check every few seconds until Ctrl-C")
    p.add_argument("--interval", type=_interval, default=None, metavar="SECONDS",
                   help=f"seconds between checks with --watch (default {DEFAULT_INTERVAL:g})")
    p.add_argument("--ledger", default=ledger_mod.DEFAULT_PATH, metavar="FILE",
                   help=f"the progress ledger (default {ledger_mod.DEFAULT_PATH}); signed when {ledger_mod.KEY_ENV} is set")
    # The live flags of `grade`, without --no-poll: a check never waits for a
    # step's deadline (a student mid-lab would wait 30 s for step 5 on every
    # run); --watch is how a converging cluster is followed.
    p.add_argument("--kubeconfig", help="kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)")
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.add_argument("--dns-server", metavar="IP[:PORT]", help="ask this DNS server instead of port-forwarding to CoreDNS")
    p.add_argument("--no-color", action="store_true", help="no ANSI colour and no redrawing (also: NO_COLOR)")
    p.add_argument("--lang", choices=LANGS, default=None, help="language of the feedback (default: from LANG)")
    from grader.variants import add_secret_argument

    p.add_argument("--student", help="your student id, when the rubric gives each student their own values")
    add_secret_argument(p)
    return p


def run(args: argparse.Namespace, *, out: TextIO | None = None, sleep: Callable[[float], None] = time.sleep) -> int:
    from grader import rubric as rubric_mod
    from grader.sources.assemble import live_source

    out = out or sys.stdout
    if args.interval is not None and not args.watch:
        raise InputError("--interval", "only goes with --watch")
    lang = args.lang or default_lang()
    from grader.variants import require_student

    rubric = rubric_mod.load(args.rubric, student=args.student, secret_file=args.course_secret_file)
    require_student(rubric)
    namespace = args.namespace or rubric.namespace
    book = ledger_mod.Ledger(args.ledger, ledger_mod.key_from_env())
    book.records()  # a broken or foreign ledger stops here, before any cluster access
    source = live_source(args, namespace, rubric.phases[0], rubric)
    # Every record names the student and the API server it was made against (grader/classroom/ledger_binding.py).
    book.binding = ledger_mod.ledger_binding.binding(args.student, getattr(source, "api", None))
    from grader.sources.live import LiveSource

    if args.watch and sleep is time.sleep and isinstance(source, LiveSource):  # follow it by LIST+WATCH (grader/sources/watch.py)
        from grader.sources.watch import WatchedSource

        source = WatchedSource(source)
        sleep = source.sleep
    session = Session(rubric, source, book, namespace)
    tty = bool(getattr(out, "isatty", lambda: False)())
    color = tty and not args.no_color and "NO_COLOR" not in os.environ
    interval = args.interval or DEFAULT_INTERVAL

    def frame() -> str:
        width = terminal_width(out)  # COLUMNS, else the terminal's, else 100 for a pipe
        return render(session.round(), lang, color=color, width=width, interval=interval if args.watch else None)

    if not args.watch:
        out.write(frame() + "\n")
        out.flush()
        return 0
    screen = LiveScreen(out) if color else PlainScreen(out)
    return watch(frame, screen, interval, sleep)


__all__ = ["Session", "Progress", "StepState", "render", "watch", "PlainScreen", "LiveScreen", "add_parser", "run"]
