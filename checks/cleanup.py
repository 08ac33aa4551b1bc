"""Checks on the cleaned-up cluster (lab step 6)."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from checks import k8s
from checks.registry import CheckContext, check
from grader.i18n import Text as T
from grader.i18n import phase_name
from grader.outcome import Outcome, error, failed, passed, skipped
from grader.view import ClusterView, Obj

KUBERNETES_NS = "default"
KUBERNETES_SVC = "kubernetes"


def _earlier_views(ctx: CheckContext) -> list[tuple[str, ClusterView]]:
    """Views of moments before this one, oldest first: the baseline, then
    the rubric's earlier phases (the engine fills ``views`` in that order)."""
    out = []
    for phase, view in ctx.views.items():
        if phase == ctx.phase:
            break
        out.append((phase, view))
    if ctx.phase not in ctx.views:  # a view of its own, after all of them
        return list(ctx.views.items())
    return out


def _built(ctx: CheckContext) -> tuple[str, ClusterView] | None:
    """The latest view before this phase that is not the baseline: what the
    student had built (a built dump, a --state phase, a bundle, or what the
    self-check's ledger recorded). None when the run has no such view."""
    built = [(p, v) for p, v in _earlier_views(ctx) if p != "baseline"]
    return built[-1] if built else None


def _deployment_pods(ctx: CheckContext, deployments: list[str]) -> dict[str, Obj]:
    """The pods of the named Deployments still in this view, found four
    ways because the Deployment itself is usually gone by now: pods known by
    uid from an earlier view, pods owned through a still-present Deployment,
    orphans whose ReplicaSet's name is ``<deployment>-<hash>``, and pods the
    ReplicaSet released when they were relabelled out of its selector (they
    keep running after the Deployment is deleted)."""
    found: dict[str, Obj] = {}
    pods_now = ctx.view.objects("Pod", ctx.namespace)
    for _, earlier in _earlier_views(ctx):
        if not (earlier.has("Pod") and earlier.has("ReplicaSet") and earlier.has("Deployment")):
            continue
        for d in deployments:
            dep = earlier.get("Deployment", ctx.namespace, d)
            if dep is None:
                continue
            for pod in k8s.pods_of(earlier, dep):
                now = ctx.view.by_uid(k8s.uid(pod))
                if now is not None and now.get("kind") == "Pod":
                    found[k8s.uid(now)] = now
    for d in deployments:
        dep = ctx.view.get("Deployment", ctx.namespace, d)
        if dep is not None and ctx.view.has("ReplicaSet"):
            found.update({k8s.uid(p): p for p in k8s.pods_of(ctx.view, dep)})
        pattern = re.compile(rf"^{re.escape(d)}-[a-z0-9]{{1,10}}$")
        for pod in pods_now:
            ref = k8s.controller_ref(pod)
            if ref and ref.get("kind") == "ReplicaSet" and pattern.match(ref.get("name", "")):
                found[k8s.uid(pod)] = pod
            elif k8s.released_from(pod) == d:
                found[k8s.uid(pod)] = pod
    return found


def _built_pods(built: ClusterView, namespace: str, deployments: list[str]) -> dict[str, Obj] | None:
    """The pods the named Deployments owned after building, by uid; None
    when that view cannot say (it did not list pods, ReplicaSets or
    Deployments)."""
    if not (built.has("Pod") and built.has("ReplicaSet") and built.has("Deployment")):
        return None
    out: dict[str, Obj] = {}
    for d in deployments:
        dep = built.get("Deployment", namespace, d)
        if dep is not None:
            out.update({k8s.uid(p): p for p in k8s.pods_of(built, dep)})
    return out


@check("cleanup.deleted", reads=("Deployment", "ReplicaSet", "Pod", "Service"))
def cleanup_deleted(
    ctx: CheckContext,
    kind: Literal["Deployment", "Service", "Pod"],
    names: list[str] = [],  # noqa: B006 - read-only default, mirrors the YAML
    owned_by: list[str] = [],  # noqa: B006
) -> Outcome:
    """The lab's objects are gone, and they were there to delete.

    Deleting earns points only for what an earlier view of this run (the
    built dump, a --state phase, a bundle, the self-check's ledger) shows
    was built: an empty cluster graded as both phases must not pay for
    cleaning up a lab never done. Without any earlier view, a leftover
    still proves the cleanup incomplete, but an absence proves nothing, so
    a clean namespace is *not graded* and says why. Objects already marked
    for deletion (``deletionTimestamp``) count as gone, with a note: their
    controllers are finishing the job. Partial credit per object.

    Why: Cleanup is graded per object; terminating objects count as gone.

    Parameters:
        kind: the kind of the objects: Deployment, Service or Pod
        names: the objects that must be gone, by name
        owned_by: with kind Pod, Deployments whose pods must be gone too (found by ownership, not by name)

    Passes: None of the named objects (and the Deployments' pods) is present.

    Fails: "2 Service(s) still present: service1, service2".

    Partial credit: the fraction of objects that are gone.
    """
    ns = ctx.namespace
    built_at = _built(ctx)
    built = built_at[1] if built_at is not None else None
    remaining: list[str] = []
    going: list[str] = []
    never: list[str] = []  # never existed after building: no credit for "deleting" them
    never_en: list[str] = []
    never_units = 0
    total = len(names)
    for n in names:
        obj = ctx.view.get(kind, ns, n)
        if obj is not None:
            (going if k8s.is_terminating(obj) else remaining).append(n)
        elif built is not None and built.has(kind) and built.get(kind, ns, n) is None:
            never.append(n)
            never_en.append(n)
            never_units += 1
    if kind == "Pod" and owned_by:
        pods = _deployment_pods(ctx, owned_by)
        before = _built_pods(built, ns, owned_by) if built is not None else None
        total += max(len(set(pods) | set(before or {})), 1)
        for pod in sorted(pods.values(), key=k8s.name):
            (going if k8s.is_terminating(pod) else remaining).append(k8s.name(pod))
        if before is not None and not before and not pods:
            never += [f"{d} 的 Pod" for d in owned_by]
            never_en += [f"pods of {d}" for d in owned_by]
            never_units += 1  # the pods count as one object when there are none
    what = k8s.names_zh(list(names) + [f"{d} 的 Pod" for d in owned_by])
    what_en = k8s.names_list(list(names) + [f"pods of {d}" for d in owned_by])
    notes: tuple[T, ...] = ()
    if going:
        notes = (T(f"正在删除，视为已删除：{k8s.names_zh(going)}", f"being deleted, counted as gone: {k8s.names_list(going)}"),)
    units = max(total, 1)
    if built is None:
        unproven = T("本次评分没有搭建完成后的集群状态：已不存在的对象无法证明曾被创建，删除它们不计分",
                     "this run has no view of the cluster after building: an absent object cannot be shown to "
                     "have existed, so deleting it earns nothing")
        if not remaining:
            return skipped(T(f"无法判断：没有搭建完成后的集群状态，不能证明 {what} 曾被创建（本项未评分）",
                             f"cannot tell: with no view after building, nothing shows {what_en} ever existed "
                             "(not graded)"), graded=False)
        return failed(
            T(f"还有 {len(remaining)} 个 {kind} 没有删除：{k8s.names_zh(remaining)}",
              f"{len(remaining)} {kind}(s) still present: {k8s.names_list(remaining)}"),
            expected=T(f"已删除：{what}", f"deleted: {what_en}"),
            observed=T(f"仍存在：{k8s.names_zh(remaining)}", f"still present: {k8s.names_list(remaining)}"),
            score=len(going) / units, notes=notes + (unproven,))
    if never_units >= units and not remaining and not going:
        return failed(
            T(f"没有可清理的对象：搭建完成后并不存在 {what}", f"nothing to clean up: {what_en} did not exist after building"),
            expected=T(f"删除搭建时创建的 {what}", f"{what_en}, created while building, deleted"),
            observed=T(f"搭建完成后的集群中没有 {what}", f"no {what_en} in the cluster after building"), notes=notes)
    lost = len(remaining) + never_units
    if not lost:
        return passed(T(f"{kind} 已删除：{what}", f"{kind}s deleted: {what_en}"), notes=notes)
    if never:
        notes += (T(f"搭建完成后并不存在，删除不计分：{k8s.names_zh(never)}",
                    f"did not exist after building, so deleting earns nothing: {k8s.names_list(never_en)}"),)
    score = max(0.0, 1 - lost / units)
    if not remaining:
        return failed(
            T(f"只有部分 {kind} 是创建后又删除的：{k8s.names_zh(never)} 搭建完成后并不存在",
              f"only some {kind}s were built and then deleted: {k8s.names_list(never_en)} did not exist after building"),
            expected=T(f"删除搭建时创建的 {what}", f"{what_en}, created while building, deleted"),
            observed=T(f"从未创建：{k8s.names_zh(never)}", f"never built: {k8s.names_list(never_en)}"),
            score=score, notes=notes)
    return failed(
        T(f"还有 {len(remaining)} 个 {kind} 没有删除：{k8s.names_zh(remaining)}",
          f"{len(remaining)} {kind}(s) still present: {k8s.names_list(remaining)}"),
        expected=T(f"已删除：{what}", f"deleted: {what_en}"),
        observed=T(f"仍存在：{k8s.names_zh(remaining)}", f"still present: {k8s.names_list(remaining)}"),
        score=score, notes=notes)


def _ts(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _covers_default(view: ClusterView) -> bool:
    """Whether the source looked at namespace ``default`` at all: a dump of
    only the lab namespace must not read as "kubernetes service deleted"."""
    if view.has("Namespace") and view.get("Namespace", None, KUBERNETES_NS) is not None:
        return True
    return any(view.has(k) and view.objects(k, KUBERNETES_NS) for k in ("Service", "Endpoints", "EndpointSlice"))


def _nothing_built(ctx: CheckContext, lab_objects: list[str]) -> Outcome | None:
    """A failure when the view after building holds none of ``lab_objects``
    (``Kind/name``): the kubernetes Service surviving a cleanup that never
    had anything to remove earns nothing."""
    built_at = _built(ctx)
    if not lab_objects or built_at is None:
        return None
    built = built_at[1]
    listed = False
    for ref in lab_objects:
        kind, _, obj_name = ref.partition("/")
        if not built.has(kind):
            continue
        listed = True
        if built.get(kind, ctx.namespace, obj_name) is not None:
            return None
    if not listed:
        return None
    listed = [r.partition("/")[2] for r in lab_objects]
    zh, en = k8s.names_zh(listed), k8s.names_list(listed)
    return failed(T(f"没有可清理的对象：搭建完成后集群中没有本实验的任何对象（{zh}），kubernetes 服务的检查不计分",
                    f"nothing to clean up: the cluster after building held none of the lab's objects ({en}), "
                    "so keeping the kubernetes service earns nothing"),
                  expected=T("先完成第 1-5 步，再清理并保留 kubernetes 服务", "steps 1-5 built, then cleaned up with the kubernetes service kept"),
                  observed=T(f"搭建完成后没有 {zh}", f"no {en} after building"))


def _timeline(ctx: CheckContext) -> list[tuple[str, Obj | None]]:
    """The kubernetes Service in every view of the run up to this one,
    oldest first; None where a view covered ``default`` but had no such
    Service (deleted and not yet re-created at that moment)."""
    out: list[tuple[str, Obj | None]] = []
    for phase, view in _earlier_views(ctx) + [(ctx.phase, ctx.view)]:
        if not view.has("Service") or not _covers_default(view):
            continue
        seen = view.get("Service", KUBERNETES_NS, KUBERNETES_SVC)
        if seen is None and view is not ctx.view and not view.has("Namespace"):
            continue  # a partial record (a ledger's) that never looked at it
        out.append((phase, seen))
    return out


def _default_namespace(ctx: CheckContext) -> Obj | None:
    for _, view in [(ctx.phase, ctx.view)] + _earlier_views(ctx):
        if view.has("Namespace") and (ns := view.get("Namespace", None, KUBERNETES_NS)) is not None:
            if k8s.meta(ns).get("creationTimestamp"):
                return ns
    return None


@check("cleanup.kubernetes_service_intact",
       reads=("Service", "Endpoints", "EndpointSlice", "Namespace:default", "Service:default/kubernetes"))
def kubernetes_service_intact(ctx: CheckContext, max_skew_seconds: int = 300,
                              lab_objects: list[str] = []) -> Outcome:  # noqa: B006 - read-only default
    """The ``kubernetes`` Service in ``default`` was never deleted.

    The API server re-creates it within seconds with a new uid, so existing
    proves nothing, and the deletion may have happened at any moment of the
    lab, before the built dump too. So the uid is compared across every view
    of the run (baseline, built, cleaned), and without a baseline the
    earliest view's Service must be about as old as the ``default``
    namespace. ``lab_objects`` (``Kind/name``) are what building creates:
    when the view after building holds none of them there was nothing to
    clean up and this check earns nothing either.

    Why: The API server re-creates a deleted kubernetes Service at once, so only its uid (or age)
        shows it was deleted.

    Parameters:
        max_skew_seconds: without a baseline, how much younger than the ``default`` namespace the Service may be
        lab_objects: what building creates (``Kind/name``): with none of them built, this check earns nothing

    Passes: Its uid equals an earlier view's, or without one it is as old as the default namespace.

    Fails: "the kubernetes service was deleted (the API server re-created it)".

    Partial credit: none.
    """
    svc = ctx.view.get("Service", KUBERNETES_NS, KUBERNETES_SVC)
    if svc is None and not _covers_default(ctx.view):
        return error(T("输入中没有 default 命名空间的任何对象（导出时请加 -A），无法判断 kubernetes 服务",
                       "the input holds nothing from namespace default (dump with -A), so the kubernetes service cannot be judged"))
    if (nothing := _nothing_built(ctx, lab_objects)) is not None:
        return nothing
    if svc is None:
        return failed(T("kubernetes 服务被删除了，而且还没有被重新创建", "the kubernetes service is deleted (and not yet re-created)"),
                      expected=T("default 命名空间中的 kubernetes 服务保持不变", "the kubernetes service in default left alone"),
                      observed=T("不存在", "absent"))
    timeline = _timeline(ctx)
    first_phase, first = timeline[0]
    for phase, seen in timeline:
        if seen is None:
            return failed(
                T(f"kubernetes 服务被删除过：{phase_name(phase).zh}它不存在", f"the kubernetes service was deleted: it was absent {phase_name(phase).en}"),
                expected=T("default 命名空间中的 kubernetes 服务一直存在", "the kubernetes service in default there all along"),
                observed=T(f"{phase_name(phase).zh}：不存在", f"{phase_name(phase).en}: absent"))
        if first is not None and k8s.uid(seen) != k8s.uid(first):
            created = k8s.meta(seen).get("creationTimestamp") or "?"
            return failed(
                T("kubernetes 服务被删除过（API server 又重新创建了它）", "the kubernetes service was deleted (the API server re-created it)"),
                expected=T(f"uid 与{phase_name(first_phase).zh}相同：{k8s.uid(first)}",
                           f"the same uid as {phase_name(first_phase).en}: {k8s.uid(first)}"),
                observed=T(f"{phase_name(phase).zh}的 uid 是 {k8s.uid(seen)}，创建于 {created}",
                           f"{phase_name(phase).en}: uid {k8s.uid(seen)}, created {created}"))
    compared = [p for p, _ in timeline]
    if "baseline" in compared:
        return passed(T("kubernetes 服务完好（uid 与实验开始前相同）", "the kubernetes service is intact (same uid as before the lab)"))
    ns = _default_namespace(ctx)
    ns_created = _ts(k8s.meta(ns).get("creationTimestamp")) if ns else None
    created = k8s.meta(first).get("creationTimestamp") if first is not None else None
    svc_created = _ts(created)
    if ns_created is None or svc_created is None:
        return error(T("没有实验开始前的基线，也无法比较创建时间，不能判断 kubernetes 服务是否被重建",
                       "no baseline and no creation times to compare: cannot tell whether the kubernetes service was re-created"))
    skew = (svc_created - ns_created).total_seconds()
    note = (T("没有实验开始前的基线，依据是创建时间（先用 labgrade baseline 或 --baseline 记录基线，可以精确比较 uid）",
              "no baseline from before the lab: judged by creation time (a baseline from labgrade baseline or "
              "--baseline compares uids exactly)"),)
    when = phase_name(first_phase)
    if skew > max_skew_seconds:
        return failed(
            T(f"kubernetes 服务被删除过：{when.zh}它已经比 default 命名空间晚创建很多",
              f"the kubernetes service was deleted and re-created: {when.en} it is much younger than the default namespace"),
            expected=T(f"与 default 命名空间同时创建（{ns['metadata']['creationTimestamp']}）",
                       f"created with the default namespace ({ns['metadata']['creationTimestamp']})"),
            observed=T(f"{when.zh}：创建于 {created}，晚了 {int(skew)} 秒", f"{when.en}: created {created}, {int(skew)} s later"),
            notes=note)
    if len(compared) > 1:
        note = (T("uid 在本次评分的各个时刻都相同；" + note[0].zh, "the same uid at every moment of this run; " + note[0].en),)
    return passed(T("kubernetes 服务完好", "the kubernetes service is intact"), notes=note)
