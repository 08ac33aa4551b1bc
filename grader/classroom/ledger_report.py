"""A ledger read back as a grade: ``labgrade grade --ledger``.

Each rubric step is the first record of it (its recorded check results, at
today's points), or failed as "not recorded as done"; notes flag a record
made in another namespace or cluster, a step recorded twice, and every step
that could not be compared with the graded cluster. The report itself is
made by :func:`grader.engine.report`, as every report is.
"""
from __future__ import annotations

from typing import Any

from grader.classroom import ledger_binding
from grader.classroom.ledger import KEY_ENV, Record, first_by_step, read, verify
from grader.classroom.ledger_binding import NAMESPACE_KEY, identity
from grader.i18n import Text
from grader.outcome import CheckResult, GradeReport, Outcome, SourceInfo, Status, StepResult
from grader.rubric import Rubric, StepDef
from grader.errors import InputError
from grader.view import ClusterView

_STATUSES = {s.value: s for s in Status}


NOT_RECORDED = Text("记录文件中没有本步骤完成的记录", "not recorded as done in the ledger")


def _recorded_text(value: Any, fallback: Text) -> Text:
    if isinstance(value, dict) and isinstance(value.get("zh"), str) and isinstance(value.get("en"), str):
        return Text(value["zh"], value["en"])
    return fallback


def step_from_record(step: StepDef, record: Record | None, path: str, notes: tuple[Text, ...] = ()) -> StepResult:
    """A step's result as the ledger shows it: a recorded step with its
    recorded check results (points per today's rubric), any other step
    failed as "not recorded as done"."""
    checks: list[CheckResult] = []
    recorded = {c["id"]: c for c in record.data["checks"]} if record is not None else {}
    for check in step.checks:
        entry = recorded.get(check.id)
        if record is None or entry is None:
            message = NOT_RECORDED if record is None else Text(
                f"第 {record.number} 条记录中没有这一项检查", f"record {record.number} holds no result for this check")
            outcome = Outcome(Status.FAILED, message, 0.0, notes=notes)
            checks.append(CheckResult(check.id, check.use, check.title, check.hint, check.points, 0.0, outcome))
            continue
        status = _STATUSES[entry["status"]]
        if status is Status.PASSED:
            score = 1.0
        elif status is Status.FAILED and entry["points"] > 0:
            score = min(max(entry["earned"] / entry["points"], 0.0), 1.0)
        else:
            score = 0.0
        when = Text(f"记录于 {record.at}（{path} 第 {record.number} 条）", f"recorded at {record.at} ({path}, record {record.number})")
        outcome = Outcome(
            status,
            _recorded_text(entry.get("message"), when),
            score,
            observed=_recorded_text(entry.get("observed"), when) if entry.get("observed") else None,
            notes=(when,) + notes,
            graded=status in (Status.PASSED, Status.FAILED),
        )
        earned = round(check.points * score, 4) if outcome.graded else 0.0
        checks.append(CheckResult(check.id, check.use, check.title, check.hint, check.points, earned, outcome))
    return StepResult(step.id, step.phase, step.title, step.points, tuple(checks))


def _step_notes(first: Record, records: list[Record], reference: Record | None, namespace: str | None,
                cluster: ClusterView | None) -> list[Text]:
    notes: list[Text] = []
    again = [r for r in records if r.step == first.step and r is not first]
    if again:
        differ = any(r.uids != first.uids for r in again)
        nums = ", ".join(str(r.number) for r in again)
        notes.append(Text(
            f"本步骤又被记录了（第 {nums} 条" + ("，对象 uid 不同" if differ else "") + "），以第一次记录为准",
            f"this step was recorded again (record {nums}" + (", with other object uids" if differ else "")
            + "); the first record counts"))
    want_ns = namespace or (reference.namespace if reference else None)
    if want_ns and first.namespace != want_ns:
        notes.append(Text(f"记录的命名空间是 {first.namespace}，不是 {want_ns}",
                          f"recorded in namespace {first.namespace}, not {want_ns}"))
    if reference is not None and reference is not first:
        ns_ref, ns_rec = reference.uids.get(NAMESPACE_KEY), first.uids.get(NAMESPACE_KEY)
        if ns_ref and ns_rec and ns_ref != ns_rec:
            notes.append(Text(f"这条记录来自另一个集群（default 命名空间的 uid 与第 {reference.number} 条不同）",
                              f"recorded in another cluster than record {reference.number} "
                              "(the default namespace has another uid)"))
    if cluster is not None:
        now = identity(cluster)
        if now.get(NAMESPACE_KEY) and first.uids.get(NAMESPACE_KEY) not in (None, now[NAMESPACE_KEY]):
            notes.append(Text("这条记录不是在被评分的集群中产生的（default 命名空间的 uid 不同），可能是复制来的记录文件",
                              "not recorded in the cluster being graded (the default namespace has another uid): "
                              "the ledger may be copied"))
    return notes


def _unverified_note(rubric: Rubric, unverified: dict[str, Text]) -> Text:
    """One line for the whole report: the steps not verified (a Chinese list
    with 、) and why, which the console shows for no passed check: "no
    student id" tells the teacher to add --student, not to distrust the
    student."""
    shown = [s.id for s in rubric.steps if s.id in unverified]
    reasons: list[Text] = []
    for step in shown:
        if unverified[step] not in reasons:
            reasons.append(unverified[step])
    why_zh = "；".join(r.zh.removeprefix(ledger_binding.UNVERIFIED.zh) for r in reasons)
    why_en = "; ".join(r.en.removeprefix(ledger_binding.UNVERIFIED.en) for r in reasons)
    return Text(f"未在被评分的集群上核实的步骤：{'、'.join(shown)}，因为{why_zh}。记录文件由学生自己的电脑记录，只是便利，不是证明",
                f"steps not verified against the graded cluster: {', '.join(shown)}, because {why_en}. A ledger kept on the "
                "student's own machine is a convenience, not proof")


def report_from_ledger(
    rubric: Rubric,
    ledger_path: str,
    key: bytes | None,
    *,
    namespace: str | None = None,
    cluster: ClusterView | None = None,
    student: str | None = None,
    live: "ledger_binding.LiveIdentity | None" = None,
) -> GradeReport:
    """The final report from a ledger. With ``key`` the hmac chain must
    verify end to end (else :class:`InputError` naming the record); without
    one every check carries a note that the ledger was not verified.

    ``namespace`` and ``cluster`` (a view of the student's cluster, if the
    grader has one) let the notes flag records made elsewhere."""
    records = read(ledger_path)
    if key is not None:
        verify(records, key, ledger_path)
    step_ids = {s.id for s in rubric.steps}
    for r in records:
        if r.data["lab"] != rubric.lab:
            raise InputError(ledger_path, f"record {r.number} is for lab {r.data['lab']!r}, not {rubric.lab!r}", r.line)
        if r.step not in step_ids:
            raise InputError(ledger_path, f"record {r.number} is for step {r.step!r}, which rubric {rubric.lab} does not have", r.line)

    # Whose and which cluster's: another student's or cluster's ledger is refused,
    # and every step that cannot be compared with the live cluster is marked.
    unverified = ledger_binding.check(records, ledger_path, live, student, NAMESPACE_KEY)
    general: list[Text] = []
    if key is None:
        if any(r.hmac for r in records):
            general.append(Text(f"记录文件已签名但未验证（评分时没有设置 {KEY_ENV}）",
                                f"the ledger is signed but was not verified (graded without {KEY_ENV})"))
        else:
            general.append(Text(f"记录文件未签名（记录时没有 {KEY_ENV}），记录可能被修改过",
                                f"the ledger is unsigned (written without {KEY_ENV}): its records could have been edited"))
    first = first_by_step(records)
    reference = records[0] if records else None
    steps = []
    for step in rubric.steps:
        rec = first.get(step.id)
        notes: list[Text] = []  # the general notes are the report's, said once
        if rec is not None:
            notes += _step_notes(rec, records, reference, namespace, cluster)
            if step.id in unverified:
                notes.append(unverified[step.id])
        steps.append(step_from_record(step, rec, ledger_path, tuple(notes)))
    last = max((r.at for r in records), default=None)
    ns = namespace or (reference.namespace if reference else rubric.namespace)
    if unverified:
        general.append(_unverified_note(rubric, unverified))
    from grader import engine

    return engine.report(rubric, steps, [SourceInfo(phase, "ledger", ledger_path, last) for phase in rubric.phases],
                         namespace=ns, student=student, notes=general)


__all__ = ["NOT_RECORDED", "step_from_record", "report_from_ledger"]
