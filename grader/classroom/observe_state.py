"""The observer's class as plain JSON: what the dashboard draws and its events carry.

Every string a student controls (names, evidence) goes out as data and is
put into the page with ``textContent`` by the page's script, never as HTML.
Both languages travel together (``{"zh": ..., "en": ...}``): the page
switches without asking the server.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from grader.i18n import Text

WAITING = "waiting"  # not graded yet (the observer is starting)

# What a row's "earned" is: whole steps, as the signed ledger records them, not batch's points per check.
SCORE_LABEL = Text("已完成步骤得分", "Points for steps done")
SCORE_NOTE = Text("一个步骤的检查项全部通过后，记录文件记下这个步骤的全部分数（已签名），此后一直计入；"
                  "没有全部通过的步骤计 0 分。labgrade batch 成绩册的得分按当前集群状态逐个检查项计分，"
                  "所以两者可能不同。",
                  "A step's points count once all its checks pass: the signed ledger records the whole step, "
                  "and it keeps counting after that; a step not yet passed counts 0. The gradebook of labgrade "
                  "batch counts each check's points in the cluster as it is now, so the two can differ.")


def _t(text: Text | None) -> dict[str, str] | None:
    return {"zh": text.zh, "en": text.en} if text is not None else None


def _points(value: float) -> float:
    return round(float(value), 2)


def class_state(rubric: Any, students: list[Any], version: int) -> dict[str, Any]:
    steps = [{"id": s.id, "title": _t(s.title), "points": _points(s.points)} for s in rubric.steps]
    rows = []
    failed: Counter[str] = Counter()
    titles: dict[str, dict[str, str] | None] = {}
    totals = []
    for st in students:
        row: dict[str, Any] = {"id": st.student_id, "name": st.name, "namespace": st.namespace,
                               "error": _t(st.error), "steps": {}, "earned": None}
        progress = st.progress
        if progress is not None:
            row["earned"] = _points(progress.earned)
            totals.append(progress.earned)
            # failures count in the phase the student is at (during the build, every cleanup check fails)
            current = next((s.step.phase for s in progress.steps if s.state != "done"), None)
            for s in progress.steps:
                row["steps"][s.step.id] = "waiting-phase" if s.waiting else s.state
                if s.state != "done" and s.step.phase == current:
                    for c in s.result.checks:
                        if c.outcome.status.value == "failed":
                            failed[c.id] += 1
                            # the class rubric's title (a variant's preview), not this student's own values
                            shared = rubric.check(c.id)
                            titles[c.id] = _t(shared.title if shared is not None else c.title)
        else:
            # an error before any round (a namespace that does not exist): no step is "waiting" for anything
            row["steps"] = {s["id"]: "error" if st.error is not None else WAITING for s in steps}
        rows.append(row)
    total = _points(rubric.total)
    bins = 10
    histogram = [0] * bins
    for value in totals:
        histogram[min(bins - 1, int(bins * value / total)) if total else 0] += 1
    return {
        "schema": "labgrade.observe/v1",
        "lab": rubric.lab,
        "title": _t(rubric.title),
        "total": total,
        # a row's "earned": points of the steps the ledger records (see SCORE_NOTE), labelled as such
        "score": {"basis": "recorded-steps", "label": _t(SCORE_LABEL), "note": _t(SCORE_NOTE)},
        "version": version,
        "steps": steps,
        "students": rows,
        "histogram": {"bins": bins, "counts": histogram},
        "most_failed": [{"check": cid, "title": titles[cid], "students": n} for cid, n in failed.most_common(8)],
    }


def student_detail(st: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": st.student_id, "name": st.name, "namespace": st.namespace,
                           "error": _t(st.error), "steps": []}
    progress = st.progress
    if progress is None:
        return out
    out["earned"] = _points(progress.earned)
    out["score"] = {"basis": "recorded-steps", "label": _t(SCORE_LABEL), "note": _t(SCORE_NOTE)}
    out["ledger"] = {"path": progress.ledger_path, "recorded": progress.recorded, "signed": progress.signed}
    for s in progress.steps:
        out["steps"].append({
            "id": s.step.id, "title": _t(s.step.title), "state": s.state, "earned": _points(s.earned),
            "recorded_at": getattr(s.record, "at", None) if s.record is not None else None,
            "checks": [{"id": c.id, "title": _t(c.title), "status": c.outcome.status.value,
                        "earned": _points(c.earned), "points": _points(c.points),
                        "message": _t(c.outcome.message), "expected": _t(c.outcome.expected),
                        "observed": _t(c.outcome.observed), "hint": _t(c.hint)} for c in s.result.checks],
        })
    return out
