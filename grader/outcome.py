"""The result model: what a check says, and what a grading run reports.

Everything here is a frozen dataclass so that a report, once built, cannot be
edited by a reporter, and so that two runs over the same cluster state compare
equal field by field (the determinism the JUnit/JSON outputs rely on).
The sums (``earned``, ``ungraded``, ``points``) are cached properties: the
objects cannot change, and every writer asks them again (a class of a
thousand asked them hundreds of thousands of times). Being outside the
fields, they play no part in equality, hashing or the JSON.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cached_property

from grader.i18n import Text


class Status(str, Enum):
    """How a check ended.

    PASSED and FAILED judge the student's work. ERROR means the grader could
    not evaluate (an API error, a dump without the needed kind): it never
    costs points. SKIPPED means the check did not run, either because a
    prerequisite failed (the points are lost, but the report does not pile a
    second failure on the first) or because its input does not exist in this
    run (no dump for that phase, a probe that needs a live cluster): then the
    points are *not graded* rather than lost.
    """

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Outcome:
    """What one check function returns.

    ``score`` is the fraction of the check's points earned (partial credit).
    ``graded`` is False for outcomes whose points cannot be judged in this
    run (errors, skips for a missing phase or probe); the report counts those
    points apart instead of as lost.
    """

    status: Status
    message: Text
    score: float = 0.0
    expected: Text | None = None
    observed: Text | None = None
    notes: tuple[Text, ...] = ()
    graded: bool = True
    #: The id of the failed prerequisite that kept this check from running
    #: (a SKIPPED outcome whose points are lost, not merely not graded).
    blocked_by: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be within [0, 1], got {self.score}")


def passed(message: Text, *, observed: Text | None = None, notes: tuple[Text, ...] = ()) -> Outcome:
    return Outcome(Status.PASSED, message, 1.0, None, observed, tuple(notes))


def failed(
    message: Text,
    *,
    expected: Text | None = None,
    observed: Text | None = None,
    score: float = 0.0,
    notes: tuple[Text, ...] = (),
) -> Outcome:
    return Outcome(Status.FAILED, message, score, expected, observed, tuple(notes))


def error(message: Text, *, notes: tuple[Text, ...] = ()) -> Outcome:
    return Outcome(Status.ERROR, message, 0.0, None, None, tuple(notes), graded=False)


def skipped(message: Text, *, graded: bool) -> Outcome:
    """A check that did not run; ``graded=True`` when its points are lost
    (a prerequisite failed), False when they are merely not judged here."""
    return Outcome(Status.SKIPPED, message, 0.0, graded=graded)


def blocked(message: Text, prerequisite: str) -> Outcome:
    """A check that did not run because ``prerequisite`` failed: its points
    are lost, and every report says so (JUnit: a failure naming it)."""
    return Outcome(Status.SKIPPED, message, 0.0, graded=True, blocked_by=prerequisite)


@dataclass(frozen=True)
class CheckResult:
    id: str
    use: str
    title: Text
    hint: Text
    points: float
    earned: float
    outcome: Outcome
    duration: float = 0.0
    attempts: int = 1

    @property
    def status(self) -> Status:
        return self.outcome.status

    @property
    def blocked(self) -> bool:
        """Did not run because a prerequisite failed: points lost. (A
        skipped check that is graded is blocked, also in reports written
        before ``blocked_by`` existed.)"""
        return self.outcome.status is Status.SKIPPED and self.outcome.graded

    @property
    def not_graded(self) -> bool:
        """Did not run and no points are at stake in this run (no dump for
        its phase, a probe a dump cannot answer). Errors are apart."""
        return self.outcome.status is Status.SKIPPED and not self.outcome.graded


@dataclass(frozen=True)
class StepResult:
    id: str
    phase: str
    title: Text
    points: float
    checks: tuple[CheckResult, ...]

    @cached_property
    def earned(self) -> float:
        return round(sum(c.earned for c in self.checks), 4)

    @cached_property
    def ungraded(self) -> float:
        return round(sum(c.points for c in self.checks if not c.outcome.graded), 4)

    @property
    def status(self) -> Status:
        """The step's overall state, worst first: failed, error, skipped, passed."""
        states = {c.status for c in self.checks}
        for s in (Status.FAILED, Status.ERROR, Status.SKIPPED):
            if s in states:
                return s
        return Status.PASSED


@dataclass(frozen=True)
class SourceInfo:
    """Where one phase's cluster state came from (a file, a context)."""

    phase: str
    kind: str  # "snapshot" | "live" | "ledger"
    location: str
    collected_at: str | None = None


@dataclass(frozen=True)
class GradeReport:
    lab: str
    title: Text
    namespace: str
    rubric_version: str
    steps: tuple[StepResult, ...]
    sources: tuple[SourceInfo, ...] = ()
    generated_at: str = ""
    duration: float = 0.0
    student: str | None = None
    #: Said once per report, first (console's first lines, JSON ``notes``,
    #: JUnit suite properties, the HTML header): which phase was graded and
    #: why, swapped dumps, the lab found in another namespace, an unsigned
    #: ledger. Never repeated on every check.
    notes: tuple[Text, ...] = ()

    @cached_property
    def points(self) -> float:
        return round(sum(s.points for s in self.steps), 4)

    @cached_property
    def earned(self) -> float:
        return round(sum(s.earned for s in self.steps), 4)

    @cached_property
    def ungraded(self) -> float:
        return round(sum(s.ungraded for s in self.steps), 4)

    def checks(self) -> list[tuple[StepResult, CheckResult]]:
        return [(s, c) for s in self.steps for c in s.checks]

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Status}
        for _, c in self.checks():
            out[c.status.value] += 1
        return out


__all__ = [
    "Status",
    "Outcome",
    "passed",
    "failed",
    "error",
    "skipped",
    "blocked",
    "CheckResult",
    "StepResult",
    "SourceInfo",
    "GradeReport",
]
