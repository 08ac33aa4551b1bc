"""The batch's progress on stderr: done, errors and the time left.

One redrawn line on a terminal, one line per student otherwise (a CI log or
``2> file`` gets readable lines, not \\r soup).
"""
from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from grader.i18n import Text
from grader.report.gradebook import StudentResult
from grader.report.safe import for_terminal


class ProgressMeter:
    """Done/errors/ETA on stderr: one redrawn line on a terminal, one line per
    student otherwise (a CI log or ``2> file`` gets readable lines, not \\r soup)."""

    BAR = 24

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None, lang: str = "en",
                 clock: Callable[[], float] = time.monotonic):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.lang = lang
        self.clock = clock
        self.total = self.done_count = self.errors = self.graded = 0
        self.started = 0.0
        self._last_draw = 0.0

    def start(self, total: int) -> None:
        self.total = total
        self.started = self.clock()

    def eta(self) -> float | None:
        """Seconds left, from the pace of students graded in this run."""
        left = self.total - self.done_count
        if not self.graded or not left:
            return None if left else 0.0
        return (self.clock() - self.started) / self.graded * left

    @staticmethod
    def _fmt(seconds: float | None) -> str:
        if seconds is None:
            return "?"
        seconds = int(round(seconds))
        return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds}s"

    def done(self, result: StudentResult, *, resumed: bool) -> None:
        self.done_count += 1
        if not resumed:
            self.graded += 1
        if not result.ok:
            self.errors += 1
        if self.tty:
            self._draw(force=self.done_count == self.total)
            return
        width = len(str(self.total))
        if result.report is not None:
            what = f"{_pts(result.report.earned)}/{_pts(result.report.points)}"
            if result.report.ungraded:
                what += f" ({_pts(result.report.ungraded)} not graded)"
            if resumed:
                what += " (earlier run)"
        else:
            what = "error: " + for_terminal((result.error or Text("", "")).get(self.lang), 200)
        eta = "" if resumed else f"  errors {self.errors}, ETA {self._fmt(self.eta())}"
        self._write(f"labgrade batch: [{self.done_count:>{width}}/{self.total}] {result.student_id}: {what}{eta}\n")

    def tick(self) -> None:
        if self.tty:
            self._draw()

    def _draw(self, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        filled = int(self.BAR * self.done_count / self.total) if self.total else self.BAR
        bar = "█" * filled + "░" * (self.BAR - filled)
        elapsed = max(now - self.started, 1e-9)
        rate = self.graded / elapsed
        self._write(f"\r\x1b[Klabgrade batch [{bar}] {self.done_count}/{self.total}  errors {self.errors}  "
                    f"{rate:.1f}/s  ETA {self._fmt(self.eta())}")

    def stopping(self, running: int) -> None:
        if self.tty:
            self._write("\n")
        self._write(f"labgrade batch: stopping; waiting for {running} student(s) being graded "
                    "(Ctrl-C again to abandon them)\n")

    def finish(self) -> None:
        elapsed = self.clock() - self.started
        if self.tty:
            self._draw(force=True)
            self._write("\n")
        self._write(f"labgrade batch: {self.done_count} students ({self.done_count - self.graded} from an earlier run), "
                    f"{self.errors} could not be graded, {elapsed:.1f} s\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass


def _pts(value: float) -> str:
    from grader.report.wording import points_str

    return points_str(value)


__all__ = ["ProgressMeter"]
