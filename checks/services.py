"""Checks on Services and what they route to (lab steps 3 and 4)."""
from __future__ import annotations

from typing import Iterable, Literal

from checks import k8s
from checks.registry import CheckContext, check
from grader.i18n import Text as T
from grader.outcome import Outcome, failed, passed
from grader.view import Obj


def _missing(ctx: CheckContext, name: str) -> Outcome:
    return k8s.not_found(ctx.view, ctx.namespace, "Service", name)


@check("service.exists", reads=("Service",))
def service_exists(ctx: CheckContext, name: str) -> Outcome:
    """The Service exists in the lab namespace and is not being deleted.

    Why: Later Service checks need the Service; one check says it is missing once.

    Parameters:
        name: the Service

    Passes: The Service exists and is not being deleted.

    Fails: "no Service service1 in namespace default"; "Service service1 is being deleted".

    Partial credit: none.
    """
    svc = ctx.view.get("Service", ctx.namespace, name)
    if svc is None:
        return _missing(ctx, name)
    if k8s.is_terminating(svc):
        return failed(T(f"Service {name} 正在被删除", f"Service {name} is being deleted"))
    kind = "headless" if k8s.spec(svc).get("clusterIP") == "None" else k8s.spec(svc).get("type", "ClusterIP")
    return passed(T(f"Service {name} 已创建（{kind}）", f"Service {name} exists ({kind})"))


def _selector_text(selector: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "-"


def _describe(ctx: CheckContext, b: k8s.Backend, deployments: dict[str, Obj]) -> tuple[str | None, T]:
    """Which lab Deployment a backend belongs to, and how to name it in evidence."""
    if b.pod is None:
        return None, T(f"{b.ip}（不是任何 Pod 的地址）", f"{b.ip} (no pod has this address)")
    dep = k8s.owning_deployment(ctx.view, b.pod)
    pod = k8s.name(b.pod)
    if dep is None:
        released = k8s.released_from(b.pod)
        if released is not None:
            return None, T(f"{pod}（改了标签后已脱离 {released}：不再匹配它的 selector，{released} 另建了一个 Pod）",
                           f"{pod} (released by {released} when relabelled out of its selector; "
                           f"{released} started another pod)")
        return None, T(f"{pod}（裸 Pod，不属于任何 Deployment）", f"{pod} (a bare pod, no Deployment owns it)")
    for dname, d in deployments.items():
        if k8s.uid(d) == k8s.uid(dep):
            return dname, T(f"{pod}（{dname}）", f"{pod} ({dname})")
    return None, T(f"{pod}（属于 {k8s.name(dep)}）", f"{pod} (of {k8s.name(dep)})")


def _count(ready: list[k8s.Backend]) -> T:
    """What a Service routes to, counted as people count it: pods, and
    apart from them any address that is no pod's."""
    pods = sum(1 for b in ready if b.pod is not None)
    others = len(ready) - pods
    zh = f"{pods} 个就绪 Pod"
    en = f"{pods} ready pod{'s' if pods != 1 else ''}"
    if others:
        zh += f"和 {others} 个不属于任何 Pod 的地址"
        en += f" and {others} address{'es' if others != 1 else ''} of no pod"
    return T(zh, en)


def _rolling(ctx: CheckContext, deployments: Iterable[Obj]) -> bool:
    """Whether a Deployment's live pods belong to more than one ReplicaSet:
    only then is a pod count off spec.replicas a rollout; otherwise pods
    are simply not ready (Pending, failing readiness)."""
    for dep in deployments:
        owners = {(k8s.controller_ref(p) or {}).get("uid") for p in k8s.pods_of(ctx.view, dep) if not k8s.is_terminating(p)}
        if len(owners) > 1:
            return True
    return False


_PICK_WORDS = {"any": ("一个", "one"), "first-by-name": ("按名称排序的第一个", "the first-by-name"),
               "oldest": ("最早创建的", "the oldest")}


def _pick_ok(pod: Obj, candidates: list[Obj], pick: str) -> bool:
    if pick == "any":
        return True
    if pick == "first-by-name":
        first = min(candidates, key=k8s.name)
    else:  # oldest: earliest creation, ties by name, as `kubectl get --sort-by` would show
        first = min(candidates, key=lambda p: (k8s.meta(p).get("creationTimestamp") or "", k8s.name(p)))
    return k8s.uid(first) == k8s.uid(pod)


@check("service.endpoints", reads=("Service", "Endpoints", "EndpointSlice", "Pod", "ReplicaSet", "Deployment"))
def service_endpoints(
    ctx: CheckContext,
    name: str,
    deployments: list[str],
    expect: Literal["all", "one-of-each"] = "all",
    pick: Literal["any", "first-by-name", "oldest"] = "any",
) -> Outcome:
    """The Service's ready endpoints are exactly the right pods.

    ``all``: every ready pod of ``deployments``. ``one-of-each``: one ready
    pod of each (``pick`` makes "the first pod" strict). Endpoints are read
    from EndpointSlices (Endpoints for older dumps) and followed to their
    pods; the pods' ownership decides, so bare pods with the right labels
    and hand-written endpoints do not count.

    Why: A Service is right when it routes to the right pods; endpoints are followed to pods and
        pods to Deployments by uid.

    Parameters:
        name: the Service
        deployments: the Deployments whose pods count
        expect: ``all`` (every ready pod of the Deployments) or ``one-of-each`` (one ready pod of each)
        pick: with ``one-of-each``, which pod of each: ``any``, ``first-by-name`` or ``oldest``

    Passes: The ready endpoints are exactly all pods (all) or one pod of each (one-of-each) of the
        Deployments.

    Fails: "service2 has 5 endpoints: ...; expected one pod of deployment1 and one pod of
        deployment2"; "service2 has no selector: its endpoints are written by hand".

    Partial credit: none.
    """
    svc = ctx.view.get("Service", ctx.namespace, name)
    if svc is None:
        return _missing(ctx, name)
    deps = {d: ctx.view.get("Deployment", ctx.namespace, d) for d in deployments}
    present = {d: o for d, o in deps.items() if o is not None}
    if expect == "all":
        want = T(f"{'、'.join(deployments)} 的全部就绪 Pod", f"all ready pods of {' and '.join(deployments)}")
    else:
        first = _PICK_WORDS[pick]
        want = T("、".join(f"{d} 的{first[0]} Pod" for d in deployments),
                 " and ".join(f"{first[1]} pod of {d}" for d in deployments))

    spec = k8s.spec(svc)
    selector = spec.get("selector") or {}
    backends, source = k8s.service_backends(ctx.view, svc)
    ready = [b for b in backends if b.ready]
    not_ready = [b for b in backends if not b.ready]
    described = [_describe(ctx, b, present) for b in ready]
    # Count pods, not addresses: a dual-stack Service lists every pod in two
    # EndpointSlices (one per family), which service_backends folds into one.
    count = _count(ready)
    observed = T(f"{count.zh}（{source}）：" + k8s.names_zh([d[1].zh for d in described], 6),
                 f"{count.en} ({source}): " + k8s.names_list([d[1].en for d in described], 6))
    notes: tuple[T, ...] = ()
    if spec.get("publishNotReadyAddresses"):
        if expect == "all":
            want = T(f"{'、'.join(deployments)} 的全部 Pod（就绪与否）", f"all pods of {' and '.join(deployments)}, ready or not")
        notes += (T(f"{name} 设置了 publishNotReadyAddresses：未就绪的 Pod 也作为就绪端点发布，计入后端",
                    f"{name} sets publishNotReadyAddresses: pods that are not ready are published as ready endpoints "
                    "too, and counted"),)
    if not_ready:
        labels = [b.label for b in not_ready]
        notes += (T(f"未就绪或正在终止的端点不计入：{k8s.names_zh(labels)}",
                   f"not-ready or terminating endpoints are not counted: {k8s.names_list(labels)}"),)

    if spec.get("type") == "ExternalName":
        return failed(T(f"{name} 是 ExternalName 类型，没有端点", f"{name} is an ExternalName service: it has no endpoints"),
                      expected=want, observed=T("type: ExternalName", "type: ExternalName"))
    if not selector:
        return failed(
            T(f"{name} 没有 selector：它的端点是手写的，不是由标签选择的 Pod",
              f"{name} has no selector: its endpoints are written by hand, not chosen by labels"),
            expected=T(f"用 selector 选中 {want.zh}", f"a selector that picks {want.en}"),
            observed=observed, notes=notes)
    handmade = [b for b in ready if b.mirrored or not b.target_ref]
    if handmade:
        return failed(
            T(f"{name} 的端点中有手写的地址：{k8s.names_zh([b.ip for b in handmade])}",
              f"{name} has hand-written endpoints: {k8s.names_list([b.ip for b in handmade])}"),
            expected=want, observed=observed, notes=notes)
    if not ready:
        matching = [p for p in ctx.view.objects("Pod", ctx.namespace) if k8s.selector_matches(selector, k8s.labels(p))]
        sel = _selector_text(selector)
        if not matching:
            msg = T(f"{name} 的 selector {sel} 没有匹配任何 Pod", f"{name}'s selector {sel} matches no pods")
        else:
            msg = T(f"{name} 的 selector {sel} 匹配了 {len(matching)} 个 Pod，但没有一个就绪",
                    f"{name}'s selector {sel} matches {len(matching)} pods but none is ready")
        return failed(msg, expected=want, observed=observed, notes=notes)

    owners = [d[0] for d in described]
    strays = [d[1] for d in described if d[0] is None]
    if expect == "all":
        want_uids = {k8s.uid(p) for d in present.values() for p in k8s.pods_of(ctx.view, d) if k8s.routed(svc, p)}
        got_uids = {k8s.uid(b.pod) for b in ready if b.pod is not None}
        left_out = {d: k8s.unselected(selector, k8s.pods_of(ctx.view, o)) for d, o in present.items()}
        left_out = {d: pods for d, pods in left_out.items() if pods}
        ok = not strays and got_uids == want_uids and len(present) == len(deployments) and not left_out
        if ok:
            asked = sum(int(k8s.spec(d).get("replicas", 1)) for d in present.values())
            if asked != len(got_uids) and _rolling(ctx, present.values()):
                notes += (T(f"Deployment 正在滚动更新：现在有 {len(got_uids)} 个就绪 Pod，spec.replicas 合计为 {asked}",
                            f"a rollout is in progress: {k8s.count_en(len(got_uids), 'ready pod')} while spec.replicas add up to {asked}"),)
            elif asked > len(got_uids):
                notes += (T(f"现在只有 {len(got_uids)} 个就绪 Pod，spec.replicas 合计为 {asked}：其余 Pod 未就绪或尚未创建，不计入",
                            f"{k8s.count_en(len(got_uids), 'ready pod')} while spec.replicas add up to {asked}: "
                            "the others are not ready (or not created yet) and not counted"),)
            elif asked < len(got_uids):
                notes += (T(f"现在有 {len(got_uids)} 个就绪 Pod，多于 spec.replicas 合计的 {asked} 个：副本数刚被调小，多余的 Pod 还没有删除",
                            f"{k8s.count_en(len(got_uids), 'ready pod')}, more than spec.replicas add up to ({asked}): "
                            "the replica count was just lowered and the extra pods are not deleted yet"),)
            return passed(T(f"{name} 的后端是 {len(got_uids)} 个 Pod，恰好是 {want.zh}",
                            f"{name} routes to {len(got_uids)} pods, exactly {want.en}"),
                          observed=observed, notes=notes)
        missing = len(want_uids - got_uids)
        detail = []
        if strays:
            detail.append(T(f"其中 {len(strays)} 个不属于这些 Deployment",
                            f"{len(strays)} of them belong{'s' if len(strays) == 1 else ''} to none of these deployments"))
        if missing:
            detail.append(T(f"缺少 {missing} 个 Pod", f"{missing} of their pods are missing"))
        unready_left_out = [(d, p) for d, pods in left_out.items() for p in pods if k8s.uid(p) not in want_uids]
        if unready_left_out:
            names = [k8s.name(p) for _, p in unready_left_out]
            whose = sorted({d for d, _ in unready_left_out})
            detail.append(T(f"selector {_selector_text(selector)} 没有选中 {'、'.join(whose)} 的 {len(names)} 个未就绪 Pod"
                            f"（{k8s.names_zh(names)}），它们就绪后也不会成为后端",
                            f"its selector {_selector_text(selector)} leaves out {k8s.count_en(len(names), 'not-ready pod')} "
                            f"of {' and '.join(whose)} ({k8s.names_list(names)}), "
                            "which will not become backends when ready"))
        return failed(
            T(f"{name} 的后端是 {count.zh}，应为 {want.zh}（{len(want_uids)} 个 Pod）" + "".join("；" + d.zh for d in detail),
              f"{name} routes to {count.en}, expected {want.en} ({len(want_uids)} pods)" + "".join("; " + d.en for d in detail)),
            expected=want, observed=observed, notes=notes)

    # one-of-each
    by_dep = {d: [b for b, o in zip(ready, owners) if o == d] for d in deployments}
    ok = not strays and len(ready) == len(deployments) and all(len(v) == 1 for v in by_dep.values())
    if ok and pick != "any":
        for d, (b,) in by_dep.items():
            candidates = [p for p in k8s.pods_of(ctx.view, present[d]) if k8s.pod_ready(p)]
            if not _pick_ok(b.pod, candidates, pick):
                return failed(
                    T(f"{name} 选中的 {k8s.name(b.pod)} 不是 {d} 的{_PICK_WORDS[pick][0]} Pod",
                      f"{name} picks {k8s.name(b.pod)}, which is not {_PICK_WORDS[pick][1]} pod of {d}"),
                    expected=want, observed=observed, notes=notes)
    if ok:
        return passed(T(f"{name} 的后端恰好是 {want.zh}", f"{name} routes to exactly {want.en}"), observed=observed, notes=notes)
    return failed(
        T(f"{name} 的后端是 {count.zh}：{k8s.names_zh([d[1].zh for d in described], 6)}；应为 {want.zh}",
          f"{name} routes to {count.en}: {k8s.names_list([d[1].en for d in described], 6)}; expected {want.en}"),
        expected=want, observed=observed, notes=notes)


@check("service.target_port", reads=("Service", "Endpoints", "EndpointSlice", "Pod"))
def service_target_port(ctx: CheckContext, name: str, port: int = 80) -> Outcome:
    """A Service port forwards to the container port the server listens on
    (httpd: 80). A named targetPort is resolved against the backing pods'
    container ports, as kube-proxy does.

    Why: A Service that forwards to the wrong container port resolves but never answers.

    Parameters:
        name: the Service
        port: the container port the server listens on

    Passes: A TCP port's targetPort is the container port (named ports resolved against the pods).

    Fails: "service1 does not forward to container port 80".

    Partial credit: none.
    """
    svc = ctx.view.get("Service", ctx.namespace, name)
    if svc is None:
        return _missing(ctx, name)
    ports = [p for p in k8s.spec(svc).get("ports") or [] if isinstance(p, dict)]
    expected = T(f"targetPort 指向容器端口 {port}", f"a targetPort that reaches container port {port}")
    if not ports:
        if k8s.spec(svc).get("clusterIP") == "None":
            return passed(T(f"{name} 是没有端口的 Headless Service，客户端直接访问 Pod 的 {port} 端口",
                            f"{name} is a headless service without ports: clients reach the pods' port {port} directly"))
        return failed(T(f"{name} 没有定义端口", f"{name} defines no ports"), expected=expected)
    pods = [b.pod for b in k8s.service_backends(ctx.view, svc)[0] if b.pod is not None] if ctx.view.has("Pod") else []
    seen = []
    for p in ports:
        target = p.get("targetPort", p.get("port"))
        proto = p.get("protocol", "TCP")
        seen.append(f"{p.get('port')}→{target}/{proto}")
        if proto != "TCP":
            continue
        if target == port or (isinstance(target, str) and target.isdigit() and int(target) == port):
            return passed(T(f"{name} 的端口 {p.get('port')} 转发到 {port}", f"{name} forwards port {p.get('port')} to {port}"),
                          observed=T("、".join(seen), ", ".join(seen)))
        if isinstance(target, str) and any(
            cp.get("name") == target and cp.get("containerPort") == port
            for pod in pods for c in k8s.containers(k8s.spec(pod)) for cp in c.get("ports") or [] if isinstance(cp, dict)
        ):
            return passed(T(f"{name} 的命名端口 {target} 指向 {port}", f"{name}'s named port {target} resolves to {port}"),
                          observed=T("、".join(seen), ", ".join(seen)))
    return failed(T(f"{name} 的端口没有转发到容器端口 {port}（服务器监听的端口）",
                    f"{name} does not forward to container port {port} (where the server listens)"),
                  expected=expected, observed=T("端口：" + "、".join(seen), "ports: " + ", ".join(seen)))


@check("service.headless", reads=("Service",))
def service_headless(ctx: CheckContext, name: str) -> Outcome:
    """``clusterIP: None``: DNS then answers with the pods' own addresses,
    and each backend gets a name under the service.

    Why: Only a headless Service gives each backend pod a DNS name under it.

    Parameters:
        name: the Service

    Passes: ``spec.clusterIP`` is None.

    Fails: "service2 is not headless".

    Partial credit: none.
    """
    svc = ctx.view.get("Service", ctx.namespace, name)
    if svc is None:
        return _missing(ctx, name)
    ip = k8s.spec(svc).get("clusterIP")
    if ip == "None":
        return passed(T(f"{name} 是 Headless Service", f"{name} is headless"))
    return failed(T(f"{name} 不是 Headless Service", f"{name} is not headless"),
                  expected=T("clusterIP: None", "clusterIP: None"), observed=T(f"clusterIP: {ip}", f"clusterIP: {ip}"))
