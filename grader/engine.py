"""Run a rubric's checks over the cluster views of each phase.

The engine owns everything that is not a check's business: which view a
check sees, prerequisites (a dependent check is skipped, not failed again),
turning exceptions into ``error`` outcomes (never lost points, never a crash
mid-report), points, and re-polling failing checks on a live cluster until
the step's deadline, because a cluster converges (pods become ready,
endpoints follow).
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol

from checks import registry
from grader import kinds, redact
from grader.clock import iso, utc_now
from checks.registry import CheckContext
from grader.i18n import Text, phase_name
from grader.outcome import CheckResult, GradeReport, Outcome, SourceInfo, Status, StepResult, blocked, error, skipped
from grader.rubric import CheckDef, Rubric, StepDef
from grader.view import ClusterView, MissingKind, ProbeError, ProbeUnavailable


class Source(Protocol):
    """Where a phase's views come from. ``view()`` returns a fresh pass
    (for a live cluster: one LIST per kind); a snapshot returns the same."""

    info: SourceInfo
    live: bool

    def view(self) -> ClusterView: ...


@dataclass
class StaticSource:
    """A view that does not change: a dump, a bundle, a ledger."""

    fixed: ClusterView
    info: SourceInfo
    live: bool = False

    def view(self) -> ClusterView:
        return self.fixed


@dataclass(frozen=True)
class Options:
    poll_interval: float = 3.0
    poll: bool = True  # re-poll live failures until the step deadline
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def run_check(check: CheckDef, ctx: CheckContext) -> Outcome:
    """One check, with every way it can break turned into an outcome."""
    spec = registry.get(check.use)
    assert spec is not None, check.use  # the rubric loader guarantees it
    try:
        outcome = spec.fn(ctx, **check.params)
    except MissingKind as exc:
        return error(exc.reason)
    except ProbeUnavailable as exc:
        return skipped(exc.reason, graded=False)
    except ProbeError as exc:
        return error(exc.reason)
    except Exception as exc:  # a bug in a check must not cost a student points or the report
        # No exception class name: a student reads this. The check id tells
        # a maintainer where to look.
        detail = str(exc)[:160] or "-"
        return error(Text(f"评分程序内部错误（检查 {check.use} 出了问题），本项不扣分",
                          f"internal grader error (check {check.use} broke: {detail}); no points taken"))
    if not isinstance(outcome, Outcome):
        return error(Text("评分程序内部错误：检查没有返回结果", "internal grader error: the check returned no outcome"))
    return outcome


def _blocker(check: CheckDef, step: StepDef, results: dict[str, CheckResult], steps: dict[str, list[CheckResult]]) -> str | None:
    """The first prerequisite that failed (or was itself skipped for one)."""
    def blocks(r: CheckResult) -> bool:
        return r.status is Status.FAILED or (r.status is Status.SKIPPED and r.outcome.graded)

    for need in step.needs:
        if any(blocks(r) for r in steps.get(need, [])):
            return need
    for need in check.needs:
        if need in results and blocks(results[need]):
            return need
        if need in steps and any(blocks(r) for r in steps[need]):
            return need
    return None


def _title_of(need: str, results: Mapping[str, CheckResult], steps: Mapping[str, Text]) -> Text:
    """A prerequisite's title, to name it in words (its id alone is a key)."""
    if need in results:
        return results[need].title
    return steps.get(need, Text(need, need))


def _result(check: CheckDef, outcome: Outcome, duration: float, attempts: int) -> CheckResult:
    earned = 0.0
    if outcome.status in (Status.PASSED, Status.FAILED):
        earned = round(check.points * outcome.score, 4)
    return CheckResult(check.id, check.use, check.title, check.hint, check.points, earned, outcome,
                       round(duration, 4), attempts)


def _scoped(view: ClusterView, namespace: str) -> ClusterView:
    """A dump's view for grading lab ``namespace``: the kinds it lists in
    the lab namespace only (Secrets, grader/kinds.py) are listed there only."""
    if view.live or view.lab_namespace == namespace or \
            not any(getattr(kinds.lookup(k), "lab_only", False) for k in view.kinds):
        return view
    return dataclasses.replace(view, lab_namespace=namespace)


def grade(
    rubric: Rubric,
    sources: Mapping[str, Source],
    *,
    namespace: str | None = None,
    student: str | None = None,
    options: Options = Options(),
) -> GradeReport:
    started = options.clock()
    ns = namespace or rubric.namespace
    # Oldest first (baseline, then the rubric's phases): checks that compare
    # moments read ``views`` in this order.
    ordered = sorted(sources, key=lambda phase: _phase_order(rubric, phase))
    views: dict[str, ClusterView] = {phase: _scoped(sources[phase].view(), ns) for phase in ordered}
    results: dict[str, CheckResult] = {}
    by_step: dict[str, list[CheckResult]] = {}
    step_results: list[StepResult] = []
    step_titles = {s.id: s.title for s in rubric.steps}

    for step in rubric.steps:
        source = sources.get(step.phase)
        deadline = options.clock() + step.deadline
        attempts = 0
        best: dict[str, CheckResult] = {}
        while True:
            attempts += 1
            step_checks = [_best(best.get(r.id), r) for r in _run_step(step, source, views, ns, results, by_step, attempts, options, step_titles)]
            best = {r.id: r for r in step_checks}
            retry = (
                source is not None and source.live and options.poll and step.deadline > 0
                and any(r.status is Status.FAILED for r in step_checks)
                and options.clock() + options.poll_interval < deadline
            )
            if not retry:
                break
            options.sleep(options.poll_interval)
            views[step.phase] = source.view()  # one fresh pass, which later steps see too
        by_step[step.id] = step_checks
        results.update({r.id: r for r in step_checks})
        step_results.append(StepResult(step.id, step.phase, step.title, step.points, tuple(step_checks)))

    return report(rubric, step_results, [src.info for _, src in sorted(sources.items(), key=lambda kv: _phase_order(rubric, kv[0]))],
                  namespace=ns, student=student, duration=round(options.clock() - started, 4))


def report(rubric: Rubric, steps, sources, *, namespace: str, student: str | None = None,
           notes=(), duration: float = 0.0) -> GradeReport:
    """The one place a :class:`GradeReport` is made (the engine's runs, and
    a ledger's records read back as step results): every message passes the
    redaction step before any reporter sees it (grader/redact.py)."""
    return redact.report(GradeReport(
        lab=rubric.lab,
        title=rubric.title,
        namespace=namespace,
        rubric_version=rubric.version,
        steps=tuple(steps),
        sources=tuple(sources),
        generated_at=iso(utc_now()),
        student=student,
        notes=tuple(notes),
        duration=duration,
    ))


def _best(seen: CheckResult | None, new: CheckResult) -> CheckResult:
    """The verdict a re-poll keeps: a passed or failed check (what the
    cluster showed) is never replaced by an error (the grader could not look
    this time, e.g. the API server went away) or a skip, and of two verdicts
    the one that earned more stands: the student showed it once."""
    if seen is None or seen.status not in (Status.PASSED, Status.FAILED):
        return new
    if new.status not in (Status.PASSED, Status.FAILED) or new.earned < seen.earned:
        return dataclasses.replace(seen, attempts=new.attempts)
    return new


def _phase_order(rubric: Rubric, phase: str) -> int:
    return -1 if phase == "baseline" else (rubric.phases.index(phase) if phase in rubric.phases else 99)


def _run_step(
    step: StepDef,
    source: Source | None,
    views: dict[str, ClusterView],
    ns: str,
    results: dict[str, CheckResult],
    by_step: dict[str, list[CheckResult]],
    attempts: int,
    options: Options,
    titles: Mapping[str, Text] = {},  # noqa: B006 - read-only
) -> list[CheckResult]:
    out: list[CheckResult] = []
    local: dict[str, CheckResult] = dict(results)
    for check in step.checks:
        t0 = options.clock()
        if source is None:
            when = phase_name(step.phase)
            outcome = skipped(Text(f"本次评分没有{when.zh}的集群状态，本项未评分",
                                   f"this run has no cluster state {when.en}: not graded"), graded=False)
        elif (need := _blocker(check, step, local, by_step)) is not None:
            title = _title_of(need, local, titles)
            outcome = blocked(Text(f"前置检查“{title.zh}”（{need}）未通过，本项未检查，不得分",
                                   f"blocked: prerequisite '{title.en}' ({need}) did not pass, so these points are lost"),
                              need)
        else:
            ctx = CheckContext(view=views[step.phase], views=views, namespace=ns, phase=step.phase)
            outcome = run_check(check, ctx)
        r = _result(check, outcome, options.clock() - t0, attempts)
        local[check.id] = r
        out.append(r)
    return out
