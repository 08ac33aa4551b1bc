"""``labgrade check [--watch]``: the command line of the student's self-check
(:mod:`grader.classroom.selfcheck` grades, :mod:`grader.classroom.check_screen`
draws). Ctrl-C ends a watch with exit 0, the last table left on screen."""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Callable, TextIO

from grader.classroom import ledger as ledger_mod, ledger_binding
from grader.classroom.check_screen import LiveScreen, PlainScreen, render, watch
from grader.classroom.selfcheck import Session
from grader.errors import InputError
from grader.i18n import LANGS, default_lang
from grader.report.layout import terminal_width
from grader.sources.watch import IDLE_RECHECK

DEFAULT_INTERVAL = 5.0
MIN_INTERVAL = 1.0


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
    p.add_argument("--watch", action="store_true",
                   help="follow the namespace (LIST+WATCH) and re-check on each change, and at least once "
                        "a minute, until Ctrl-C")
    p.add_argument("--interval", type=_interval, default=None, metavar="SECONDS",
                   help=f"with --watch, also re-check after SECONDS without a change (default {DEFAULT_INTERVAL:g}; "
                        f"a live cluster: {IDLE_RECHECK:g} at the least)")
    p.add_argument("--ledger", default=ledger_mod.DEFAULT_PATH, metavar="FILE",
                   help=f"the progress ledger (default {ledger_mod.DEFAULT_PATH}); signed when {ledger_mod.KEY_ENV} is set")
    # The live flags of `grade`, without --no-poll: a check never waits for a
    # step's deadline (a student mid-lab would wait 30 s for step 5 on every
    # run); --watch is how a converging cluster is followed.
    p.add_argument("--kubeconfig", help="kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)")
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.add_argument("--dns-server", metavar="IP[:PORT]", help="ask this DNS server instead of port-forwarding to CoreDNS")
    p.add_argument("--no-color", action="store_true", help="no ANSI colour and no redrawing (also: NO_COLOR)")
    p.add_argument("--lang", choices=LANGS, default=None, help="language of the feedback (default: LABGRADE_LANG, else the locale: LC_ALL, LANG)")
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
    book.binding = ledger_binding.binding(args.student, getattr(source, "api", None))
    from grader.sources.live import LiveSource

    follows = False
    if args.watch and sleep is time.sleep and isinstance(source, LiveSource):  # follow it by LIST+WATCH (grader/sources/watch.py)
        from grader.sources.watch import WatchedSource

        source = WatchedSource(source)
        sleep = source.sleep
        follows = True
    session = Session(rubric, source, book, namespace)
    tty = bool(getattr(out, "isatty", lambda: False)())
    color = tty and not args.no_color and "NO_COLOR" not in os.environ
    interval = args.interval or DEFAULT_INTERVAL

    def frame() -> str:
        width = terminal_width(out)  # COLUMNS, else the terminal's, else 100 for a pipe
        return render(session.round(), lang, color=color, width=width, interval=interval if args.watch else None,
                      follows=follows)

    if not args.watch:
        out.write(frame() + "\n")
        out.flush()
        return 0
    screen = LiveScreen(out) if color else PlainScreen(out)
    return watch(frame, screen, interval, sleep)


__all__ = ["add_parser", "run", "DEFAULT_INTERVAL", "MIN_INTERVAL"]
