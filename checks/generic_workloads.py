"""Checks on any workload controller: Deployment, StatefulSet, DaemonSet,
ReplicaSet (and Job), with the same ownership rules the Deployment checks
follow: a pod counts only if its controller chain leads to the workload by
uid (Pod -> ReplicaSet -> Deployment; Pod -> StatefulSet/DaemonSet/ReplicaSet/Job).
"""
from __future__ import annotations

from typing import Any, Literal

from checks import k8s
from checks.registry import CheckContext, check
from grader.i18n import Text as T
from grader.outcome import Outcome, failed, passed
from grader.view import ClusterView, MissingKind, Obj

WorkloadKind = Literal["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]


def kinds_of(kind: str | list[str]) -> list[str]:
    """``kind`` may list alternatives (``[Deployment, StatefulSet]``): a lab
    that accepts either grades whichever the student made."""
    return list(kind) if isinstance(kind, list) else [kind]


def parse_ref(ref: str) -> tuple[list[str], str]:
    """A rubric's reference to a workload: ``StatefulSet/web``,
    ``Deployment|StatefulSet/web`` (whichever exists) or a Deployment's
    bare name."""
    kind, sep, name = ref.partition("/")
    return (kind.split("|"), name) if sep else (["Deployment"], ref)


def workload_reads(params: dict[str, Any]) -> tuple[str, ...]:
    out: list[str] = []
    for kind in kinds_of(params.get("kind", "Deployment")):
        out += [kind, "ReplicaSet", "Pod"] if kind == "Deployment" else [kind, "Pod"]
    return tuple(dict.fromkeys(out))


def owned_pods(view: ClusterView, workload: Obj) -> list[Obj]:
    """Pods the workload really owns, by uid (not by labels)."""
    if workload.get("kind") == "Deployment":
        return k8s.pods_of(view, workload)
    ns = k8s.meta(workload).get("namespace")
    wuid = k8s.uid(workload)
    return [p for p in view.objects("Pod", ns)
            if (ref := k8s.controller_ref(p)) and ref.get("kind") == workload.get("kind") and ref.get("uid") == wuid]


def desired(workload: Obj) -> int:
    """How many pods the controller is asked for (a DaemonSet: one per
    eligible node, as its status says; a Job: its parallelism)."""
    kind = workload.get("kind")
    if kind == "DaemonSet":
        return int(k8s.status(workload).get("desiredNumberScheduled") or 0)
    if kind == "Job":
        return int(k8s.spec(workload).get("parallelism", 1))
    return int(k8s.spec(workload).get("replicas", 1))


def find_workload(view: ClusterView, namespace: str, kind: str | list[str], name: str) -> Obj | None:
    """The first of ``kind``'s alternatives that has an object ``name``.
    A kind the source never listed cannot show it is absent: when no listed
    kind has the object and one was not listed, that is MissingKind (an
    error, not lost points), never "not found"."""
    missing: MissingKind | None = None
    for k in kinds_of(kind):
        try:
            obj = view.get(k, namespace, name)
        except MissingKind as exc:
            missing = missing or exc
            continue
        if obj is not None:
            return obj
    if missing is not None:
        raise missing
    return None


def _find(ctx: CheckContext, kind: str | list[str], name: str) -> Obj | Outcome:
    obj = find_workload(ctx.view, ctx.namespace, kind, name)
    if obj is None:
        kinds = kinds_of(kind)
        first = next((k for k in kinds if ctx.view.has(k)), kinds[0])
        notes = (T(f"也查找了：{'、'.join(kinds)}", f"also looked for: {', '.join(kinds)}"),) if len(kinds) > 1 else ()
        return k8s.not_found(ctx.view, ctx.namespace, first, name, notes)
    return obj


def _pod_names(pods: list[Obj]) -> str:
    return k8s.names_list([k8s.name(p) for p in pods])


@check("workload.replicas", reads=workload_reads)
def workload_replicas(ctx: CheckContext, name: str, replicas: int, kind: WorkloadKind | list[WorkloadKind] = "Deployment",
                      ready: bool = True) -> Outcome:
    """A workload asks for ``replicas`` pods and (with ``ready``) that many of its own pods are Ready.

    Why: "N replicas" is the most common workload requirement, and it is met
    only when the pods are really running: the spec and the ready pods are
    each half of it, so a rollout that is stuck still earns the spec's half.

    Parameters:
        name: the workload's name
        replicas: the number asked for
        kind: Deployment (default), StatefulSet, DaemonSet, ReplicaSet or Job, or a list of them (whichever exists)
        ready: also require that many Ready pods owned by the workload

    Reads: the ``kind`` and Pod (and ReplicaSet for a Deployment)

    Passes: the desired count (``spec.replicas``; a DaemonSet's ``desiredNumberScheduled``) is ``replicas`` and, with ``ready``, as many owned pods are Ready.

    Fails: "web has 2 replicas, expected 3"; "web asks for 3 replicas but 1 pod is ready";
        "no StatefulSet web in namespace default".

    Partial credit: half for the desired count, half for the ready pods.
    """
    found = _find(ctx, kind, name)
    if isinstance(found, Outcome):
        return found
    have = desired(found)
    ready_pods = [p for p in owned_pods(ctx.view, found) if k8s.pod_ready(p)]
    n = len(ready_pods)
    expected = T(f"期望副本数 {replicas}" + (f"，{replicas} 个就绪 Pod" if ready else ""),
                 f"{replicas} desired" + (f", {k8s.count_en(replicas, 'ready pod')}" if ready else ""))
    observed = T(f"期望副本数 {have}，{n} 个就绪 Pod（{_pod_names(ready_pods)}）",
                 f"{have} desired, {k8s.count_en(n, 'ready pod')} ({_pod_names(ready_pods)})")
    spec_ok, ready_ok = have == replicas, n == replicas
    if spec_ok and (ready_ok or not ready):
        wk = found.get("kind")
        return passed(T(f"{wk} {name} 有 {replicas} 个副本", f"{wk} {name} has {k8s.count_en(replicas, 'replica')}"), observed=observed)
    if not spec_ok:
        return failed(T(f"{name} 的副本数是 {have}，应为 {replicas}", f"{name} has {k8s.count_en(have, 'replica')}, expected {replicas}"),
                      expected=expected, observed=observed, score=0.5 if ready and ready_ok else 0.0)
    return failed(T(f"{name} 的副本数正确，但只有 {n} 个 Pod 就绪（应为 {replicas}）",
                    f"{name} asks for {k8s.count_en(replicas, 'replica')} but {k8s.count_en(n, 'pod')} {k8s.are_en(n)} ready"),
                  expected=expected, observed=observed, score=0.5)


def _template_spec(workload: Obj) -> dict[str, Any]:
    return (k8s.spec(workload).get("template") or {}).get("spec") or {}


@check("workload.image", reads=workload_reads)
def workload_image(ctx: CheckContext, name: str, image: str, kind: WorkloadKind | list[WorkloadKind] = "Deployment") -> Outcome:
    """Every container of a workload (its template and its running pods) runs the ``image`` repository.

    Why: the repository name is what makes it the asked image, from any
    registry mirror at any tag or digest; a tag that merely says the name,
    or pods left over from an older template, do not count.

    Parameters:
        name: the workload's name
        image: the image repository (``httpd``, ``nginx``)
        kind: Deployment (default), StatefulSet, DaemonSet, ReplicaSet or Job, or a list of them (whichever exists)

    Reads: the ``kind`` and Pod (and ReplicaSet for a Deployment)

    Passes: every container in the pod template and in every owned, non-terminating pod runs ``image``.

    Fails: "web does not run httpd: its container web runs nginx:1.25; fix it with kubectl set image
        deployment/web web=httpd"; pods left from an older template; "web's pod template has no containers".

    Partial credit: none.
    """
    found = _find(ctx, kind, name)
    if isinstance(found, Outcome):
        return found
    expected = T(f"所有容器使用 {image} 镜像（任意标签或镜像仓库）", f"every container runs the {image} image (any tag or mirror)")
    pods = [p for p in owned_pods(ctx.view, found) if not k8s.is_terminating(p)]
    return image_outcome(str(found.get("kind") or "Deployment"), name, image, _template_spec(found), pods, expected)


def image_problems(pod_spec: dict, image: str) -> list[tuple[str, str]]:
    """The (container, image) pairs of ``pod_spec`` that do not run the ``image`` repository."""
    bad = []
    for c in k8s.containers(pod_spec):
        ref = str(c.get("image") or "")
        if k8s.parse_image(ref).repository != image:
            bad.append((str(c.get("name") or "?"), ref or "(none)"))
    return bad


def image_outcome(kind: str, name: str, image: str, template_spec: dict, pods: list[Obj], expected: T) -> Outcome:
    """The verdict of ``workload.image`` and ``deployment.image``: every container of the pod
    template and of ``pods`` (owned, not terminating) runs ``image``. A failure names the
    container, because `kubectl set image` needs its name: `kubectl create deployment
    --image=httdp` names it httdp, so the student's `kubectl set image ... httpd=httpd` finds
    no container; pods left from an older template say the rollout is not finished."""
    images = [str(c.get("image") or "") for c in k8s.containers(template_spec)]
    if not images:
        return failed(T(f"{name} 的 Pod 模板中没有容器", f"{name}'s pod template has no containers"), expected=expected)
    in_template = image_problems(template_spec, image)
    in_pods: dict[tuple[str, str], list[str]] = {}
    for pod in pods:
        for pair in image_problems(k8s.spec(pod), image):
            in_pods.setdefault(pair, []).append(k8s.name(pod))
    if not in_template and not in_pods:
        return passed(T(f"{name} 使用 {image} 镜像", f"{name} runs {image}"),
                      observed=T(f"镜像：{'、'.join(images)}", f"images: {', '.join(images)}"))
    seen_zh = [f"Pod 模板中容器 {c} 的镜像是 {ref}" for c, ref in in_template]
    seen_en = [f"the pod template's container {c} runs {ref}" for c, ref in in_template]
    for (c, ref), names in sorted(in_pods.items()):
        seen_zh.append(f"Pod {k8s.names_zh(sorted(names), 3)} 中容器 {c} 的镜像是 {ref}")
        seen_en.append(f"container {c} of pod{'s' if len(names) > 1 else ''} {k8s.names_list(sorted(names), 3)} runs {ref}")
    observed = T("；".join(seen_zh), "; ".join(seen_en))
    if in_template:
        what_zh = "、".join(f"容器 {c} 的镜像是 {ref}" for c, ref in in_template)
        what_en = ", ".join(f"container {c} runs {ref}" for c, ref in in_template)
        if kind == "Job":  # a Job's pod template cannot be changed
            fix = T("；Job 的 Pod 模板不能修改，改好清单后删除并重新创建它",
                    "; a Job's pod template cannot be changed: fix the manifest, delete the Job and create it again")
        else:
            command = f"kubectl set image {kind.lower()}/{name} " + " ".join(f"{c}={image}" for c, _ in in_template)
            fix = T(f"；修改方法是 {command}", f"; fix it with {command}")
        return failed(T(f"{name} 的镜像不是 {image}：{what_zh}", f"{name} does not run {image}: its {what_en}") + fix,
                      expected=expected, observed=observed)
    stale = sorted({p for names in in_pods.values() for p in names})
    return failed(T(f"{name} 的 Pod 模板已使用 {image}，但 Pod {k8s.names_zh(stale, 3)} 仍在运行旧的镜像（滚动更新还没有完成）",
                    f"{name}'s pod template runs {image}, but pod{'s' if len(stale) > 1 else ''} "
                    f"{k8s.names_list(stale, 3)} still run{'' if len(stale) > 1 else 's'} an older image "
                    "(the rollout has not finished)"),
                  expected=expected, observed=observed)


@check("workload.pods", reads=workload_reads)
def workload_pods(ctx: CheckContext, name: str, kind: WorkloadKind | list[WorkloadKind] = "Deployment",
                  state: Literal["running", "ready"] = "ready") -> Outcome:
    """A workload's pods are really its own and running (or ready), as many as it asks for.

    Why: pods made by hand with the workload's labels look the same in
    ``kubectl get pods`` but are not what the step asked for; following the
    ownerReferences by uid tells them apart.

    Parameters:
        name: the workload's name
        kind: Deployment (default), StatefulSet, DaemonSet, ReplicaSet or Job, or a list of them (whichever exists)
        state: ``ready`` (Running and Ready, the default) or ``running``

    Reads: the ``kind`` and Pod (and ReplicaSet for a Deployment)

    Passes: as many owned pods are in ``state`` as the workload's desired count.

    Fails: "web has 1 ready pod, expected 3", with a note naming pods that carry its labels but are not its own.

    Partial credit: none.
    """
    found = _find(ctx, kind, name)
    if isinstance(found, Outcome):
        return found
    want = desired(found)
    owned = [p for p in owned_pods(ctx.view, found) if not k8s.is_terminating(p)]
    good = [p for p in owned if (k8s.pod_ready(p) if state == "ready" else k8s.status(p).get("phase") == "Running")]
    selector = (k8s.spec(found).get("selector") or {}).get("matchLabels") or {}
    owned_uids = {k8s.uid(p) for p in owned}
    lookalikes = [k8s.name(p) for p in ctx.view.objects("Pod", ctx.namespace)
                  if k8s.selector_matches(selector, k8s.labels(p)) and k8s.uid(p) not in owned_uids
                  and not k8s.is_terminating(p)]
    notes = (T(f"这些 Pod 带有 {name} 的标签但不属于它：{k8s.names_list(lookalikes)}",
               f"these pods carry {name}'s labels but are not owned by it: {k8s.names_list(lookalikes)}"),) if lookalikes else ()
    word = T("就绪", "ready") if state == "ready" else T("运行中", "running")
    observed = T(f"归属于 {name} 的{word.zh} Pod：{_pod_names(good)}", f"{word.en} pods owned by {name}: {_pod_names(good)}")
    if good and len(good) == want:
        return passed(T(f"{name} 的 {want} 个 Pod 都已{word.zh}", f"{name}'s {k8s.count_en(want, 'pod')} {k8s.are_en(want)} {word.en}"),
                      observed=observed, notes=notes)
    return failed(T(f"{name} 有 {len(good)} 个{word.zh}的 Pod，应为 {want}", f"{name} has {k8s.count_en(len(good), word.en + ' pod')}, expected {want}"),
                  expected=T(f"{want} 个{word.zh}的 Pod 归属于 {found.get('kind')} {name}",
                             f"{k8s.count_en(want, word.en + ' pod')} owned by {found.get('kind')} {name}"),
                  observed=observed, notes=notes)
