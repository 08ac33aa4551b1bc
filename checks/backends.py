"""``service.backends``: a Service routes to exactly the right pods, of any
workload kind.

It reads endpoints the way kube-proxy and CoreDNS do (EndpointSlices, else
Endpoints), follows each address to its pod, and each pod to its owner by
uid, so bare pods with the right labels and hand-written endpoints do not
count. It generalises ``service.endpoints`` (Deployments only) to
StatefulSets, DaemonSets and ReplicaSets and to an exact list of pods.
"""
from __future__ import annotations

from typing import Any, Literal

from checks import k8s, select
from checks.generic_workloads import find_workload, owned_pods, parse_ref
from checks.registry import CheckContext, check
from grader.i18n import Text as T
from grader.outcome import Outcome, error, failed, passed
from grader.view import Obj


def backends_reads(params: dict[str, Any]) -> tuple[str, ...]:
    kinds = {k for r in params.get("workloads") or [] for k in parse_ref(r)[0]}
    out = ["Service", "Endpoints", "EndpointSlice", "Pod", *sorted(kinds)]
    if "Deployment" in kinds:
        out.append("ReplicaSet")
    return tuple(out)


def _owner_of(ctx: CheckContext, pod: Obj, workloads: dict[str, Obj]) -> str | None:
    uids = {k8s.uid(p): ref for ref, w in workloads.items() for p in owned_pods(ctx.view, w)}
    return uids.get(k8s.uid(pod))


@check("service.backends", reads=backends_reads)
def service_backends(
    ctx: CheckContext,
    name: str,
    workloads: list[str] = [],  # noqa: B006 - read-only default, mirrors the YAML
    expect: Literal["all", "one-of-each"] | dict[str, list[str]] = "all",
) -> Outcome:
    """A Service's ready endpoints are exactly the pods the step asks for.

    Why: a Service is right when it routes to the right pods, not when its
    selector looks plausible; following endpoints to pods and pods to their
    owners by uid catches a selector that matches too much, too little, bare
    pods and hand-written Endpoints.

    Parameters:
        name: the Service
        workloads: the workloads whose pods count, as ``Kind/name`` (``StatefulSet/web``), ``Kind|Kind/name`` (whichever exists) or a Deployment's bare name
        expect: ``all`` (every ready pod of the workloads), ``one-of-each`` (one ready pod of each), or ``{exactly: [pod, ...]}`` (these pods, by name)

    Reads: Service, Endpoints, EndpointSlice, Pod and the workloads' kinds (and ReplicaSet for a Deployment)

    Passes: the ready endpoints are exactly the expected pods, all chosen by a selector.

    Fails: "web has 2 endpoints, expected all ready pods of StatefulSet/web (3)";
        "web has no selector: its endpoints are written by hand"; "web's selector app=wbe matches no pods".

    Partial credit: none.
    """
    svc = ctx.view.get("Service", ctx.namespace, name)
    if svc is None:
        return k8s.not_found(ctx.view, ctx.namespace, "Service", name)
    exact = expect.get("exactly") if isinstance(expect, dict) else None
    if isinstance(expect, dict) and (set(expect) != {"exactly"} or not isinstance(exact, list)):
        return error(T("评分标准的 expect 应为 all、one-of-each 或 {exactly: [Pod 名称]}",
                       "the rubric's expect must be all, one-of-each or {exactly: [pod names]}"))
    if exact is None and not workloads:
        return error(T("评分标准应给出 workloads", "the rubric must list the workloads"))
    refs = [(r, *parse_ref(r)) for r in workloads]
    present = {label: w for label, ks, n in refs if (w := find_workload(ctx.view, ctx.namespace, ks, n)) is not None}
    labels_ = [label if "/" in label else f"Deployment/{label}" for label, _, _ in refs]
    present = {(k if "/" in k else f"Deployment/{k}"): w for k, w in present.items()}
    if exact is not None:
        want = T(f"Pod {k8s.names_list(exact)}", f"pods {k8s.names_list(exact)}")
    elif expect == "all":
        want = T(f"{'、'.join(labels_)} 的全部就绪 Pod", f"all ready pods of {' and '.join(labels_)}")
    else:
        want = T("、".join(f"{r} 的一个 Pod" for r in labels_), " and ".join(f"one pod of {r}" for r in labels_))
    spec = k8s.spec(svc)
    selector = spec.get("selector") or {}
    sel = select.selector_text(selector)
    if spec.get("publishNotReadyAddresses") and exact is None and expect == "all":  # not-ready pods are endpoints too
        want = T(f"{'、'.join(labels_)} 的全部 Pod（就绪与否）", f"all pods of {' and '.join(labels_)}, ready or not")
    backends, source = k8s.service_backends(ctx.view, svc)
    ready = [b for b in backends if b.ready]
    owners = [(_owner_of(ctx, b.pod, present) if b.pod is not None else None) for b in ready]
    shown = [b.label + (f" ({o})" if o else "") for b, o in zip(ready, owners)]
    observed = T(f"{len(ready)} 个就绪端点（{source}）：{k8s.names_list(shown, 6)}",
                 f"{len(ready)} ready endpoints ({source}): {k8s.names_list(shown, 6)}")
    if spec.get("type") == "ExternalName":
        return failed(T(f"{name} 是 ExternalName 类型，没有端点", f"{name} is an ExternalName service: it has no endpoints"),
                      expected=want, observed=T("type: ExternalName", "type: ExternalName"))
    if not selector:
        return failed(T(f"{name} 没有 selector：它的端点是手写的", f"{name} has no selector: its endpoints are written by hand"),
                      expected=T(f"用 selector 选中 {want.zh}", f"a selector that picks {want.en}"), observed=observed)
    handmade = [b.ip for b in ready if b.mirrored or not b.target_ref]
    if handmade:
        return failed(T(f"{name} 的端点中有手写的地址：{k8s.names_list(handmade)}",
                        f"{name} has hand-written endpoints: {k8s.names_list(handmade)}"), expected=want, observed=observed)
    if not ready:
        matching = [p for p in ctx.view.objects("Pod", ctx.namespace) if k8s.selector_matches(selector, k8s.labels(p))]
        msg = T(f"{name} 的 selector {sel} 没有匹配任何 Pod", f"{name}'s selector {sel} matches no pods") if not matching else \
            T(f"{name} 的 selector {sel} 匹配了 {len(matching)} 个 Pod，但没有一个就绪",
              f"{name}'s selector {sel} matches {len(matching)} pods but none is ready")
        return failed(msg, expected=want, observed=observed)
    got = sorted(b.label for b in ready)
    if exact is not None:
        ok = all(b.pod is not None for b in ready) and got == sorted(exact)
    elif expect == "all":
        want_uids = {k8s.uid(p) for w in present.values() for p in owned_pods(ctx.view, w) if k8s.routed(svc, p)}
        got_uids = {k8s.uid(b.pod) for b in ready if b.pod is not None}
        left_out = [k8s.name(p) for w in present.values() for p in k8s.unselected(selector, owned_pods(ctx.view, w))
                    if k8s.uid(p) not in want_uids]
        ok = len(present) == len(refs) and all(o is not None for o in owners) and got_uids == want_uids and not left_out
        want = T(f"{want.zh}（{len(want_uids)} 个）", f"{want.en} ({len(want_uids)})")
        if left_out:
            return failed(T(f"{name} 有 {len(ready)} 个端点，但它的 selector {sel} 没有选中 {len(left_out)} 个未就绪的 Pod"
                            f"（{k8s.names_zh(left_out)}），它们就绪后也不会成为端点；应为 {want.zh}",
                            f"{name} has {len(ready)} endpoints, but its selector {sel} leaves out "
                            f"{k8s.count_en(len(left_out), 'not-ready pod')} ({k8s.names_list(left_out)}), which "
                            f"will not become endpoints when ready; expected {want.en}"),
                          expected=want, observed=observed)
    else:
        ok = all(o is not None for o in owners) and sorted(o for o in owners if o) == sorted(labels_)
    if ok:
        return passed(T(f"{name} 的 {len(ready)} 个端点恰好是 {want.zh}", f"{name}'s {len(ready)} endpoints are exactly {want.en}"),
                      observed=observed)
    return failed(T(f"{name} 有 {len(ready)} 个端点，应为 {want.zh}", f"{name} has {len(ready)} endpoints, expected {want.en}"),
                  expected=want, observed=observed)
