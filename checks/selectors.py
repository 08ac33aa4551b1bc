"""``selector.picks``: the pods an object's label selector picks are the
pods of the workloads the step names.

A selector is right when it picks the right pods, not when it is written
one way: ``matchLabels: {app: backend}`` and ``matchExpressions: [{key: app,
operator: In, values: [backend]}]`` pick the same pods, while
``matchLabels: {app: bakend}`` looks right to a literal tree and picks none.
So the selector is evaluated (``metav1.LabelSelector`` semantics, or a
Service's plain map) on the pods of the lab namespace, and the pods of a
workload are found by ownership (uids), as every workload check does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from checks import assert_tree, k8s, select
from checks.generic_workloads import find_workload, owned_pods, parse_ref
from checks.registry import CheckContext, check
from grader.i18n import Text as T
from grader.outcome import Outcome, error, failed, passed
from grader.view import Obj

#: Where each kind keeps the selector that picks pods.
DEFAULT_PATHS = {
    "NetworkPolicy": "spec.podSelector",
    "Service": "spec.selector",
    "PodDisruptionBudget": "spec.selector",
    "ReplicationController": "spec.selector",
    "Deployment": "spec.selector",
    "StatefulSet": "spec.selector",
    "DaemonSet": "spec.selector",
    "ReplicaSet": "spec.selector",
    "Job": "spec.selector",
}
#: Kinds whose selector is a plain map, where an empty one picks nothing (a
#: Service without a selector has hand-written endpoints).
_MAP_SELECTORS = ("Service", "ReplicationController")


def picks_reads(params: dict[str, Any]) -> tuple[str, ...]:
    refs = [r for key in ("exactly", "includes", "excludes") for r in params.get(key) or []]
    kinds = {k for r in refs if isinstance(r, str) for k in parse_ref(r)[0]}
    out = [*select.reads_of(params), "Pod", *sorted(kinds - {"Pod"})]
    if "Deployment" in kinds:
        out.append("ReplicaSet")
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Group:
    """The pods of one workload the rubric names, as the selector must see
    them: its live pods (a named ``Pod/<name>`` whether it runs or has
    finished), or, when it has none yet, its pod template's labels
    (``stand_in``) as the labels its pods will have."""

    ref: str
    found: bool
    pods: tuple[Obj, ...]
    stand_in: dict[str, str] | None = None

    def picked(self, pick: Callable[[dict[str, str]], bool]) -> list[str]:
        """The names of its pods the selector picks (``<template>`` for the stand-in)."""
        if self.stand_in is not None:
            return ["<template>"] if pick(self.stand_in) else []
        return [k8s.name(p) for p in self.pods if pick(k8s.labels(p))]

    def missed(self, pick: Callable[[dict[str, str]], bool]) -> list[str]:
        if self.stand_in is not None:
            return [] if pick(self.stand_in) else ["<template>"]
        return [k8s.name(p) for p in self.pods if not pick(k8s.labels(p))]


def _live(pod: Obj) -> bool:
    return not k8s.is_terminating(pod) and k8s.status(pod).get("phase") not in ("Succeeded", "Failed")


def _group(ctx: CheckContext, ref: str) -> Group:
    kinds, name = parse_ref(ref)
    label = ref if "/" in ref else f"Deployment/{ref}"
    if kinds == ["Pod"]:
        pod = ctx.view.get("Pod", ctx.namespace, name)
        # a pod the rubric names is judged by its labels even when it has finished (a client run once)
        return Group(label, pod is not None, (pod,) if pod is not None else ())
    workload = find_workload(ctx.view, ctx.namespace, kinds, name)
    if workload is None:
        return Group(label, False, ())
    pods = tuple(p for p in owned_pods(ctx.view, workload) if _live(p))
    if pods:
        return Group(label, True, pods)
    template = ((k8s.spec(workload).get("template") or {}).get("metadata") or {}).get("labels") or {}
    return Group(label, True, (), dict(template))


def _what(g: Group) -> T:
    """How a message names a group's pods: "pod client", "the pods of Deployment/web"."""
    kinds, name = parse_ref(g.ref)
    return T(f"Pod {name}", f"pod {name}") if kinds == ["Pod"] else T(f"{g.ref} 的 Pod", f"the pods of {g.ref}")


def _names(items: list[str]) -> T:
    return T(k8s.names_zh(items, 6), k8s.names_list(items, 6))


@check("selector.picks", reads=picks_reads)
def selector_picks(
    ctx: CheckContext,
    kind: str,
    name: str,
    exactly: list[str] | None = None,
    includes: list[str] | None = None,
    excludes: list[str] | None = None,
    path: str | None = None,
    partial: bool = False,
) -> Outcome:
    """The pods an object's label selector picks are the pods of the named workloads.

    Why: a NetworkPolicy's ``podSelector``, a Service's ``selector`` or a
    PodDisruptionBudget's ``selector`` is right when it picks the right pods;
    a literal tree fails a correct ``matchExpressions`` selector and passes
    one that picks the wrong pods. This evaluates the selector with the API's
    meaning (``matchLabels`` and ``matchExpressions`` In / NotIn / Exists /
    DoesNotExist, ANDed; an empty ``{}`` picks every pod of the namespace, a
    missing one none; a Service's empty map none) on the pods of the lab
    namespace, and finds a workload's pods by ownership (uids), not labels.
    Only the lab namespace's pods are looked at: a NetworkPolicy peer that
    also has a ``namespaceSelector`` picks pods elsewhere too, which an
    ``object.matches`` tree on the peer must rule out or allow.

    Parameters:
        kind: the kind of the object holding the selector (NetworkPolicy, Service, PodDisruptionBudget, a workload, or any kind with ``path``)
        name: the object's name (in the lab namespace)
        exactly: workloads (``Deployment/web``, ``StatefulSet/db``, ``Deployment|StatefulSet/web``, ``Pod/client``, a Deployment's bare name): the selector picks every pod of these and no other live pod of the namespace
        includes: workloads whose every pod the selector picks (others may be picked too)
        excludes: workloads none of whose pods the selector may pick
        path: where the selector is in the object, a JMESPath path (default by kind: ``spec.podSelector`` for a NetworkPolicy, ``spec.selector`` otherwise; e.g. ``spec.ingress[0].from[0].podSelector`` for a policy's peer)
        partial: give credit per workload handled right (and, with ``exactly``, one share for picking no other pod)

    Reads: the ``kind``, the lab namespace's Pods, and the named workloads' kinds (ReplicaSets too for Deployments)

    Example:
        use: selector.picks
        with:
          kind: NetworkPolicy
          name: backend-allow-client
          exactly: [Deployment/backend]    # matchLabels or matchExpressions, as long as it picks these pods

    Passes: every pod of each ``exactly`` / ``includes`` workload is picked, none of an ``excludes`` workload's,
        and with ``exactly`` no other live pod of the namespace; a workload with no pods yet is judged by its pod template's labels.

    Fails: "NetworkPolicy backend-allow-client's spec.podSelector (app=bakend) leaves out 2 pods of Deployment/backend: ...";
        "... ({}) also picks 2 pods that are not Deployment/backend's: client, other"; "... picks 1 pod of Pod/other: other";
        "NetworkPolicy backend-allow-client's spec.podSelector is missing, so it picks no pods"; "no Deployment backend in namespace default";
        "no NetworkPolicy backend-allow-client in namespace default".

    Partial credit: with ``partial: true``, the fraction of the named workloads (and, with ``exactly``, the "no other pod" share) that are right.
    """
    wanted, unwanted = list(exactly or []) + list(includes or []), list(excludes or [])
    if exactly is not None and includes is not None:
        return error(T("评分标准应给出 exactly 或 includes 之一，不能同时给出", "the rubric must give exactly or includes, not both"))
    if not wanted and not unwanted:
        return error(T("评分标准应给出 exactly、includes 或 excludes", "the rubric must give exactly, includes or excludes"))
    tgt = select.target(kind, name, None, None)
    where = path or DEFAULT_PATHS.get(tgt.kind)
    if where is None:
        return error(T(f"评分标准应给出 path：不知道 {tgt.kind} 的选择器在哪里",
                       f"the rubric must give path: labgrade does not know where a {tgt.kind} keeps its selector"))
    obj = ctx.view.get(tgt.kind, ctx.namespace, name)
    if obj is None:
        return k8s.not_found(ctx.view, ctx.namespace, tgt.kind, name)
    try:
        value = assert_tree.lookup(where, obj)
    except assert_tree.BadAssertion as exc:
        return error(T(f"评分标准的 path 有误：{exc}", f"the rubric's path is wrong: {exc}"))
    whose = T(f"{tgt.kind} {name} 的 {where}", f"{tgt.kind} {name}'s {where}")
    as_map = (tgt.kind in _MAP_SELECTORS and path is None) or (isinstance(value, dict) and bool(value)
                                                                and not select.is_label_selector(value))
    try:
        if value is assert_tree.ABSENT or value is None or (as_map and not value):
            pick: Callable[[dict[str, str]], bool] = lambda labels: False  # noqa: E731 - a null selector picks nothing
            text = None
        elif as_map:
            pick, text = select.parse_selector(value), select.selector_text(value)
        else:
            pick, text = select.label_selector(value), select.label_selector_text(value)
    except select.BadSelector as exc:
        return failed(T(f"无法读取{whose.zh}中的选择器：{exc}", f"cannot read the selector at {whose.en}: {exc}"),
                      observed=T(assert_tree.show(value), assert_tree.show(value)))
    shown = T(f"{whose.zh}（{text}）", f"{whose.en} ({text})") if text is not None else whose
    groups = [_group(ctx, r) for r in wanted]
    avoid = [_group(ctx, r) for r in unwanted]
    named = {k8s.uid(p) for g in (*groups, *avoid) for p in g.pods}
    pods = [p for p in ctx.view.objects("Pod", ctx.namespace) if _live(p) or k8s.uid(p) in named]
    picked = [k8s.name(p) for p in pods if pick(k8s.labels(p))]
    observed = T(f"选中 {len(picked)} 个 Pod：{_names(picked).zh}", f"picks {k8s.count_en(len(picked), 'pod')}: {_names(picked).en}") \
        if picked else T("没有选中任何 Pod", "picks no pods")

    problems: list[T] = []
    units = 0
    for g in groups:
        units += 1
        if not g.found:
            kinds, n = parse_ref(g.ref)
            problems.append(T(f"命名空间 {ctx.namespace} 中没有 {'或'.join(kinds)} {n}",
                              f"no {' or '.join(kinds)} {n} in namespace {ctx.namespace}"))
        elif missed := g.missed(pick):
            problems.append(T(f"没有选中 {g.ref} 的 Pod 模板的标签（它还没有 Pod）", f"does not pick the pod template of {g.ref} (it has no pods yet)")
                            if g.stand_in is not None else
                            T(f"没有选中 {g.ref} 的 {len(missed)} 个 Pod：{_names(missed).zh}",
                              f"leaves out {k8s.count_en(len(missed), 'pod')} of {g.ref}: {_names(missed).en}"))
    if exactly is not None:
        units += 1
        own = {k8s.uid(p) for g in groups for p in g.pods}
        extra = [k8s.name(p) for p in pods if pick(k8s.labels(p)) and k8s.uid(p) not in own]
        if extra:
            refs = " and ".join(g.ref for g in groups)
            problems.append(T(f"还选中了 {len(extra)} 个不属于 {'、'.join(g.ref for g in groups)} 的 Pod：{_names(extra).zh}",
                              f"also picks {k8s.count_en(len(extra), 'pod')} that {k8s.are_en(len(extra))} "
                              f"not {refs}'s: {_names(extra).en}"))
    notes: list[T] = []
    for g in avoid:
        units += 1
        hit = g.picked(pick)
        if not g.found:
            notes.append(T(f"{g.ref} 不存在：没有需要排除的 Pod", f"{g.ref} does not exist: there are no pods to leave out"))
        elif hit:
            problems.append(T(f"选中了 {g.ref} 的 Pod 模板的标签（它还没有 Pod）", f"picks the pod template of {g.ref} (it has no pods yet)")
                            if g.stand_in is not None else
                            T(f"选中了 {g.ref} 的 {len(hit)} 个 Pod：{_names(hit).zh}",
                              f"picks {k8s.count_en(len(hit), 'pod')} of {g.ref}: {_names(hit).en}"))
    notes += [T(f"{g.ref} 已结束或正在删除：按它的标签判断", f"{g.ref} has finished or is being deleted: judged by its labels")
              for g in (*groups, *avoid) if g.pods and not _live(g.pods[0]) and parse_ref(g.ref)[0] == ["Pod"]]
    notes += [T(f"{g.ref} 还没有 Pod：按它的 Pod 模板的标签判断", f"{g.ref} has no pods yet: judged by its pod template's labels")
              for g in (*groups, *avoid) if g.found and g.stand_in is not None]

    parts_zh, parts_en = [], []
    if groups:
        listed = [_what(g) for g in groups]
        zh, en = "、".join(w.zh for w in listed), " and ".join(w.en for w in listed)
        parts_zh.append(f"恰好选中 {zh}" if exactly is not None else f"选中 {zh}（全部）")
        parts_en.append(f"picks exactly {en}" if exactly is not None else f"picks all of {en}")
    if avoid:
        listed = [_what(g) for g in avoid]
        parts_zh.append(f"不选中 {'、'.join(w.zh for w in listed)}")
        parts_en.append(f"{'and ' if parts_en else ''}picks none of {' or '.join(w.en for w in listed)}")
    want = T("，".join(parts_zh), " ".join(parts_en))
    if not problems:
        return passed(T(f"{shown.zh}{want.zh}", f"{shown.en} {want.en}"), observed=observed, notes=tuple(notes))
    if text is None:
        head = T(f"{whose.zh} 不存在，因此不选中任何 Pod", f"{whose.en} is missing, so it picks no pods")
        return failed(head, expected=want, observed=observed, notes=tuple(notes),
                      score=(1 - len(problems) / units) if partial else 0.0)
    first = problems[0]
    more = len(problems) - 1
    return failed(T(f"{shown.zh}{first.zh}" + (f"（另有 {more} 处问题）" if more else ""),
                    f"{shown.en} {first.en}" + (f" ({k8s.count_en(more, 'more problem')})" if more else "")),
                  expected=want, observed=observed, notes=tuple(notes) + tuple(problems[1:]),
                  score=(1 - len(problems) / units) if partial else 0.0)
