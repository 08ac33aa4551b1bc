"""Which phase a cluster is in, told by the cluster itself.

A lab builds things (phase ``built``) and then removes them (``cleaned``).
Counting runs (the first run is built, the next cleaned) goes wrong the
moment a student runs ``grade --state`` twice on the same cluster: the
untouched built cluster was graded as cleaned. The cluster knows better:
the lab's objects present means built, all gone means cleaned. The lab's
objects are what the rubric's cleanup checks name (``cleanup.deleted``
kinds and names, ``cleanup.kubernetes_service_intact``'s ``lab_objects``),
so any rubric that grades a cleanup gets this for free; a rubric without
one keeps the old order.
"""
from __future__ import annotations

from dataclasses import dataclass

from grader.i18n import Text, phase_name
from grader.rubric import Rubric
from grader.view import ClusterView


@dataclass(frozen=True)
class Inferred:
    """The phase a view shows, and the sentence saying why (a report note)."""

    phase: str
    reason: Text
    present: tuple[str, ...]  # the lab's objects the view holds, "Kind/name"


def lab_objects(rubric: Rubric) -> tuple[tuple[str, str], ...]:
    """``(kind, name)`` of every object the rubric's cleanup expects gone."""
    out: list[tuple[str, str]] = []
    for step in rubric.steps:
        for check in step.checks:
            if check.use == "cleanup.deleted":
                kind = check.params.get("kind")
                out += [(kind, n) for n in check.params.get("names") or [] if isinstance(kind, str)]
            elif check.use == "cleanup.kubernetes_service_intact":
                for ref in check.params.get("lab_objects") or []:
                    kind, _, name = str(ref).partition("/")
                    if kind and name:
                        out.append((kind, name))
    return tuple(dict.fromkeys(out))


def present(view: ClusterView, namespace: str, objects: tuple[tuple[str, str], ...]) -> tuple[str, ...] | None:
    """The lab's objects ``view`` holds in ``namespace`` (not being deleted),
    or None when it listed none of their kinds (it cannot tell)."""
    found: list[str] = []
    listed = False
    for kind, name in objects:
        if not view.has(kind):
            continue
        listed = True
        obj = view.get(kind, namespace, name)
        if obj is not None and not (obj.get("metadata") or {}).get("deletionTimestamp"):
            found.append(f"{kind}/{name}")
    return tuple(found) if listed else None


def _names(items: tuple[str, ...] | list[str], sep: str) -> str:
    return sep.join(i.partition("/")[2] or i for i in items)


def infer(rubric: Rubric, view: ClusterView, namespace: str, built: ClusterView | None = None) -> Inferred | None:
    """The phase ``view`` shows: the first phase when any of the lab's
    objects is there, the last when none is; None when the rubric names no
    lab objects, has one phase, or the view cannot tell.

    ``built`` is the first phase as the run already holds it (a --state
    file's, a dump's). When some lab object it held is gone now, the
    cleanup has begun, and a partial cleanup (clientpod forgotten) is the
    last phase with leftovers, not a build that lost its objects: graded as
    the first phase, it replaced a full built record with one of nothing and
    left step 6 ungraded."""
    objects = lab_objects(rubric)
    if len(rubric.phases) < 2 or not objects:
        return None
    found = present(view, namespace, objects)
    if found is None:
        return None
    before = present(built, namespace, objects) if built is not None else None
    gone = [o for o in before or () if o not in found and view.has(o.partition("/")[0])]
    if found and gone:
        phase = rubric.phases[-1]
        when = phase_name(phase)
        return Inferred(phase, Text(
            f"本次评分针对{when.zh}的状态：清理已经开始，{phase_name(rubric.phases[0]).zh}存在的 {_names(gone[:4], '、')} "
            f"已被删除，剩下的 {_names(found[:4], '、')} 计为未清理（要重新评{phase_name(rubric.phases[0]).zh}的状态，"
            f"请加 --phase {rubric.phases[0]}）",
            f"grading phase '{phase}' ({when.en}): the cleanup has begun ({_names(gone[:4], ', ')} "
            f"{'is' if len(gone) == 1 else 'are'} gone since phase '{rubric.phases[0]}' was recorded); what is left "
            f"({_names(found[:4], ', ')}) counts as not cleaned up (--phase {rubric.phases[0]} grades the build again)"),
            found)
    if found:
        phase = rubric.phases[0]
        when = phase_name(phase)
        shown = found[:4]
        return Inferred(phase, Text(
            f"本次评分针对{when.zh}的状态：命名空间 {namespace} 中有本实验的对象（{_names(shown, '、')}）",
            f"grading phase '{phase}' ({when.en}): the lab's objects are in namespace {namespace} "
            f"({_names(shown, ', ')})"), found)
    phase = rubric.phases[-1]
    when = phase_name(phase)
    names = [f"{k}/{n}" for k, n in objects][:4]
    return Inferred(phase, Text(
        f"本次评分针对{when.zh}的状态：命名空间 {namespace} 中已没有本实验的对象（{_names(names, '、')}）",
        f"grading phase '{phase}' ({when.en}): none of the lab's objects are left in namespace {namespace} "
        f"({_names(names, ', ')})"), found)


def chosen(phase: str) -> Text:
    """The note for a phase the user named with ``--phase``."""
    when = phase_name(phase)
    return Text(f"本次评分针对{when.zh}的状态（由 --phase 指定）", f"grading phase '{phase}' ({when.en}), as --phase says")


def regraded(phase: str, state: str) -> Text:
    """Said when a live run grades a phase the state file already holds."""
    when = phase_name(phase)
    return Text(f"状态文件 {state} 中已有{when.zh}的记录：本次重新评分，以本次结果为准",
                f"{state} already held phase '{phase}': graded again, this run's result replaces it")


def swapped(rubric: Rubric, first: ClusterView, second: ClusterView, namespace: str) -> Text | None:
    """A warning when the dumps given in order look swapped: the first
    (graded as built) holds none of the lab and the second holds some."""
    objects = lab_objects(rubric)
    a, b = present(first, namespace, objects), present(second, namespace, objects)
    if a is None or b is None or a or not b:
        return None
    p0, p1 = rubric.phases[0], rubric.phases[1]
    return Text(
        f"两个导出文件的顺序可能反了：第一个 --snapshot（按{phase_name(p0).zh}评分）中没有本实验的任何对象，"
        f"第二个（按{phase_name(p1).zh}评分）中却有（{_names(list(b[:4]), '、')}）。"
        f"请写明阶段：--snapshot {p0}=文件 --snapshot {p1}=文件",
        f"the dumps look swapped: the first --snapshot (graded as phase '{p0}') holds none of the lab's "
        f"objects and the second (graded as '{p1}') does ({_names(list(b[:4]), ', ')}); name them: "
        f"--snapshot {p0}=FILE --snapshot {p1}=FILE")


__all__ = ["Inferred", "lab_objects", "present", "infer", "chosen", "regraded", "swapped"]
