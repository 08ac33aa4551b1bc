"""Checks on the cleaned-up cluster (lab step 6)."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from checks import k8s
from checks.registry import CheckContext, check
from grader.i18n import Text as T
from grader.outcome import Outcome, error, failed, passed
from grader.view import ClusterView, Obj

KUBERNETES_NS = "default"
KUBERNETES_SVC = "kubernetes"


def _earlier_views(ctx: CheckContext) -> list[tuple[str, ClusterView]]:
    """Views of moments before this one, oldest first: the baseline, then
    any other phase graded in the same run."""
    order = ["baseline"] + [p for p in ctx.views if p not in ("baseline", ctx.phase)]
    return [(p, ctx.views[p]) for p in order if p in ctx.views and p != ctx.phase]


def _deployment_pods(ctx: CheckContext, deployments: list[str]) -> dict[str, Obj]:
    """The pods of the named Deployments still in this view, found three
    ways because the Deployment itself is usually gone by now: pods known by
    uid from an earlier view, pods owned through a still-present Deployment,
    and orphans whose ReplicaSet's name is ``<deployment>-<hash>``."""
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
    return found


@check("cleanup.deleted")
def cleanup_deleted(
    ctx: CheckContext,
    kind: Literal["Deployment", "Service", "Pod"],
    names: list[str] = [],  # noqa: B006 - read-only default, mirrors the YAML
    owned_by: list[str] = [],  # noqa: B006
) -> Outcome:
    """The lab's objects are gone. Objects already marked for deletion
    (``deletionTimestamp``) count as gone, with a note: their controllers
    are finishing the job. Partial credit per object."""
    remaining: list[str] = []
    going: list[str] = []
    total = len(names)
    for n in names:
        obj = ctx.view.get(kind, ctx.namespace, n)
        if obj is None:
            continue
        (going if k8s.is_terminating(obj) else remaining).append(n)
    if kind == "Pod" and owned_by:
        pods = _deployment_pods(ctx, owned_by)
        total += max(len(pods), 1)
        for pod in sorted(pods.values(), key=k8s.name):
            (going if k8s.is_terminating(pod) else remaining).append(k8s.name(pod))
    what = k8s.names_list(list(names) + [f"{d} 的 Pod" for d in owned_by])
    what_en = k8s.names_list(list(names) + [f"pods of {d}" for d in owned_by])
    notes = ()
    if going:
        notes = (T(f"正在删除，视为已删除：{k8s.names_list(going)}", f"being deleted, counted as gone: {k8s.names_list(going)}"),)
    kind_zh = {"Deployment": "Deployment", "Service": "Service", "Pod": "Pod"}[kind]
    if not remaining:
        return passed(T(f"{kind_zh} 已删除：{what}", f"{kind}s deleted: {what_en}"), notes=notes)
    score = max(0.0, 1 - len(remaining) / max(total, 1))
    return failed(
        T(f"还有 {len(remaining)} 个 {kind_zh} 没有删除：{k8s.names_list(remaining)}",
          f"{len(remaining)} {kind}(s) still present: {k8s.names_list(remaining)}"),
        expected=T(f"已删除：{what}", f"deleted: {what_en}"),
        observed=T(f"仍存在：{k8s.names_list(remaining)}", f"still present: {k8s.names_list(remaining)}"),
        score=round(score, 4), notes=notes)


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


@check("cleanup.kubernetes_service_intact")
def kubernetes_service_intact(ctx: CheckContext, max_skew_seconds: int = 300) -> Outcome:
    """The ``kubernetes`` Service in ``default`` was never deleted.

    The API server re-creates it within seconds, so existing proves nothing.
    Compare its uid with an earlier view (the baseline, the built phase);
    without one, a Service created well after the ``default`` namespace was
    re-created.
    """
    svc = ctx.view.get("Service", KUBERNETES_NS, KUBERNETES_SVC)
    if svc is None and not _covers_default(ctx.view):
        return error(T("输入中没有 default 命名空间的任何对象（导出时请加 -A），无法判断 kubernetes 服务",
                       "the input holds nothing from namespace default (dump with -A), so the kubernetes service cannot be judged"))
    if svc is None:
        return failed(T("kubernetes 服务被删除了，而且还没有被重新创建", "the kubernetes service is deleted (and not yet re-created)"),
                      expected=T("default 命名空间中的 kubernetes 服务保持不变", "the kubernetes service in default left alone"),
                      observed=T("不存在", "absent"))
    now_uid = k8s.uid(svc)
    created = k8s.meta(svc).get("creationTimestamp")
    for phase, earlier in _earlier_views(ctx):
        before = earlier.get("Service", KUBERNETES_NS, KUBERNETES_SVC) if earlier.has("Service") else None
        if before is None:
            continue
        if k8s.uid(before) != now_uid:
            return failed(
                T("kubernetes 服务被删除过（API server 又重新创建了它）", "the kubernetes service was deleted (the API server re-created it)"),
                expected=T(f"uid 与 {phase} 相同：{k8s.uid(before)}", f"the same uid as in {phase}: {k8s.uid(before)}"),
                observed=T(f"uid {now_uid}，创建于 {created}", f"uid {now_uid}, created {created}"))
        return passed(T(f"kubernetes 服务完好（uid 与 {phase} 相同）", f"the kubernetes service is intact (same uid as in {phase})"))
    ns = ctx.view.get("Namespace", None, KUBERNETES_NS)
    ns_created = _ts(k8s.meta(ns).get("creationTimestamp")) if ns else None
    svc_created = _ts(created)
    if ns_created is None or svc_created is None:
        return error(T("没有基线，也无法比较创建时间，不能判断 kubernetes 服务是否被重建",
                       "no baseline and no creation times to compare: cannot tell whether the kubernetes service was re-created"))
    skew = (svc_created - ns_created).total_seconds()
    note = (T("没有基线导出，依据是创建时间（用 --baseline 可以精确比较 uid）",
              "no baseline dump: judged by creation time (--baseline compares uids exactly)"),)
    if skew > max_skew_seconds:
        return failed(
            T("kubernetes 服务被删除过（它比 default 命名空间晚创建很多）", "the kubernetes service was deleted and re-created (it is much younger than the default namespace)"),
            expected=T(f"与 default 命名空间同时创建（{ns['metadata']['creationTimestamp']}）",
                       f"created with the default namespace ({ns['metadata']['creationTimestamp']})"),
            observed=T(f"创建于 {created}，晚了 {int(skew)} 秒", f"created {created}, {int(skew)} s later"), notes=note)
    return passed(T("kubernetes 服务完好", "the kubernetes service is intact"), notes=note)
