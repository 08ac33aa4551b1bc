"""One grading run: where a student's work is, in, one :class:`GradeReport` out.

``labgrade grade`` and every row of ``labgrade batch`` are the same run:
the dumps get their phases, a state file's phases join them, the live
cluster (if any) is graded as the phase it shows, the engine scores it,
the notes say which phase and why (and "grade with -n ..." when the lab is
elsewhere), and the live pass is kept in the state file. What differs
between the two callers is only where objects come from, and that is
injected: ``batch`` passes its dump cache (a class dump parsed once) and
its shared-cluster reader (one LIST per kind for the class) as
:class:`Loaders`; ``grade`` uses the defaults.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Callable

from grader.outcome import GradeReport
from grader.rubric import Rubric
from grader.sources import assemble


@dataclass(frozen=True)
class Where:
    """Where one student's work is, and how to grade it.

    ``dumps`` are (phase or None, path): a None phase is taken from a bundle
    or the rubric's order. The live cluster is graded when no dump of a
    rubric phase is given, or when ``state`` is (a state file holds the
    earlier phases; the cluster shows the current one)."""

    dumps: tuple[tuple[str | None, str], ...] = ()
    baseline: str | None = None
    state: str | None = None
    namespace: str | None = None
    student: str | None = None
    #: The phase the live cluster is graded as; None: the phase it shows.
    phase: str | None = None
    #: Say "graded as PHASE, as --phase says" in the report (off when
    #: ``phase`` is a caller's default rather than the user's word).
    say_phase: bool = True
    kubeconfig: str | None = None
    context: str | None = None
    dns_server: str | None = None
    poll: bool = True
    #: When the namespace holds none of the lab, look for it elsewhere (a
    #: cluster-wide LIST per lab kind) to say "grade with -n ...". A batch's
    #: live rows name their namespace in the roster: no such hint, no such LISTs.
    look_elsewhere: bool = True

    @property
    def live(self) -> bool:
        return self.state is not None or not any(phase != "baseline" for phase, _ in self.dumps)


@dataclass(frozen=True)
class Loaders:
    """Where objects come from. ``dumps(paths, rubric, namespace)`` parses
    dumps as :func:`grader.sources.snapshot.load_all` does; ``live(where,
    namespace, phase, rubric)`` returns a live engine source."""

    dumps: Callable[..., list] | None = None
    live: Callable[..., Any] | None = None


@dataclass(frozen=True)
class Run:
    """A run's report, and the live source it read (None: dumps only), whose
    ``unreachable`` says when the cluster could not be read at all."""

    report: GradeReport
    live: Any = None

    @property
    def unreachable(self):
        return getattr(self.live, "unreachable", None) if self.live is not None else None


def grade(rubric: Rubric, where: Where, loaders: Loaders = Loaders(), *,
          sleep: Callable[[float], None] = time.sleep) -> Run:
    """Grade ``rubric`` on the work ``where`` says; keep the live pass in
    ``where.state`` when the cluster answered. ``sleep`` waits between
    re-polls (a batch's stops on Ctrl-C)."""
    from grader import engine, phases

    notes: list = []
    sources, recorded_ns = assemble.load_dumps(rubric, list(where.dumps), where.baseline, where.namespace, notes,
                                               loader=loaders.dumps)
    namespace = where.namespace or recorded_ns or rubric.namespace
    live = None
    if where.live:
        sources.update(assemble.state_sources(where.state))
        make = (lambda phase: loaders.live(where, namespace, phase, rubric)) if loaders.live else (
            lambda phase: assemble.live_source(where, namespace, phase, rubric))
        primed, phase, why = assemble.live_phase(rubric, make, where.phase, sources, namespace)
        said = [why] if why is not None and (where.say_phase or where.phase is None) else []
        if where.state and phase in sources:
            said.append(phases.regraded(phase, where.state))
        notes[:0] = said  # first: which phase and why
        sources[phase] = primed
        live = primed.source
    options = engine.Options(poll=where.poll, sleep=sleep)
    report = engine.grade(rubric, sources, namespace=namespace, student=where.student, options=options)
    hint = assemble.namespace_hint(rubric, sources, live, namespace) if where.look_elsewhere else None
    if hint is not None:
        notes.insert(0, hint)
    if notes:
        report = dataclasses.replace(report, notes=tuple(notes) + report.notes)
    run = Run(report, live)
    if live is not None and where.state and run.unreachable is None:  # never keep a pass that read nothing
        keep_state(where.state, live, namespace, where.context)
    return run


def keep_state(path: str, live: Any, namespace: str, context: str | None) -> None:
    """Add the live pass to the state file ``path`` (its phase replaces an earlier one)."""
    from grader.files import write_atomic
    from grader.sources import bundle

    write_atomic(path, bundle.merge_state(path, bundle.to_bundle(
        live.last_view, phase=live.phase, namespace=namespace, context=context)), need_folder=True)


__all__ = ["Where", "Loaders", "Run", "grade", "keep_state"]
