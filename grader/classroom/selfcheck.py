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

``--watch`` re-grades every few seconds. This module is one round's
grading (:class:`Session`); :mod:`grader.classroom.check_screen` draws it,
:mod:`grader.classroom.check_cli` is the command.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from grader import engine
from grader.clock import utc_now
from grader.classroom import ledger as ledger_mod, ledger_report
from grader.errors import InputError
from grader.i18n import Text
from grader.outcome import SourceInfo, Status, StepResult
from grader.rubric import Rubric, StepDef, only_phase
from grader.view import ClusterView, build_view

DONE, TODO, ERROR = "done", "todo", "error"


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
            # Local time, as the table's "done at 17:23" shows it, not the record's UTC stamp.
            moment = ledger_mod.parse_at(changed.at)
            when = moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment is not None else changed.at
            warnings.append(Text(
                f"kubernetes 服务的 uid 与 {changed.step} 完成时（{when}）不同：它被删除后又被重建了，清理步骤不能通过",
                f"the kubernetes service has another uid than when {changed.step} was done ({when}): "
                "it was deleted and re-created, so the cleanup step cannot pass"))
        return warnings

    def _elsewhere(self, records: list[ledger_mod.Record], view: ClusterView) -> list[Text]:
        """"namespace s24 does not exist" and "deployment1 is in namespace
        default, not in s42" when nothing of the lab is in the namespace
        checked and nothing was recorded there yet (after the cleanup an
        empty namespace is the goal): a student with a typo in ``-n``, or who
        ran a hint's command without ``-n``, otherwise sees "no Deployment
        deployment1 in namespace s42" with no clue why. The requests are
        spent only while the namespace holds none of the lab."""
        from grader import elsewhere

        api = getattr(self.source.source, "api", None)
        if records or api is None or not elsewhere.missing_everywhere_here(self.rubric, view, self.namespace):
            return []
        found = [elsewhere.namespace_absent(api, self.namespace),
                 elsewhere.in_cluster(self.rubric, api, self.namespace, for_check=True)]
        return [f for f in found if f is not None]

    def round(self) -> Progress:
        view = self.source.refresh()
        records = self.ledger.records()
        warnings = self._check_ledger(records, view)
        warnings[:0] = self._elsewhere(records, view)
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
                earned = ledger_report.step_from_record(step, rec, self.ledger.path).earned
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


__all__ = ["DONE", "TODO", "ERROR", "Session", "Progress", "StepState", "recorded_view"]
