"""Checks on Deployments and the pods they own (lab steps 1 and 2)."""
from __future__ import annotations

from checks import k8s
from checks.generic_workloads import image_outcome
from checks.registry import CheckContext, check
from grader.i18n import Text as T
from grader.outcome import Outcome, failed, passed


def _missing(ctx: CheckContext, name: str) -> Outcome:
    notes = ()
    lookalikes = [k8s.name(p) for p in ctx.view.objects("Pod", ctx.namespace)
                  if k8s.name(p).startswith(name) and k8s.controller_ref(p) is None] if ctx.view.has("Pod") else []
    if lookalikes:
        notes = (T(f"找到了名称以 {name} 开头的裸 Pod：{k8s.names_zh(lookalikes)}；本步骤要求用 Deployment 创建",
                   f"found bare pods named like it: {k8s.names_list(lookalikes)}; this step asks for a Deployment"),)
    return k8s.not_found(ctx.view, ctx.namespace, "Deployment", name, notes)


@check("deployment.exists", reads=("Deployment", "Pod"))
def deployment_exists(ctx: CheckContext, name: str) -> Outcome:
    """The Deployment exists in the lab namespace and is not being deleted.

    Why: Every later step of a Deployment lab needs the Deployment; one check says so once, and
        later ones `needs:` it.

    Parameters:
        name: the Deployment

    Passes: The Deployment exists in the lab namespace and is not being deleted.

    Fails: "no Deployment deployment1 in namespace default" (with the names that are there, and bare
        pods named like it); "Deployment deployment1 is being deleted".

    Partial credit: none.
    """
    dep = ctx.view.get("Deployment", ctx.namespace, name)
    if dep is None:
        return _missing(ctx, name)
    if k8s.is_terminating(dep):
        return failed(
            T(f"Deployment {name} 正在被删除", f"Deployment {name} is being deleted"),
            expected=T("存在且未被删除", "present and not being deleted"),
            observed=T(f"deletionTimestamp={k8s.meta(dep)['deletionTimestamp']}", f"deletionTimestamp={k8s.meta(dep)['deletionTimestamp']}"),
        )
    return passed(T(f"Deployment {name} 已创建", f"Deployment {name} exists"))


def _deployment(ctx: CheckContext, name: str) -> dict | None:
    return ctx.view.get("Deployment", ctx.namespace, name)


@check("deployment.replicas", reads=("Deployment", "ReplicaSet", "Pod"))
def deployment_replicas(ctx: CheckContext, name: str, replicas: int, ready: bool = True) -> Outcome:
    """spec.replicas is the asked number and (with ``ready``) that many pods
    owned by the Deployment are Ready. Half the points for each.

    Why: A replica count is met only when the pods really run; the spec and the ready pods are each
        half.

    Parameters:
        name: the Deployment
        replicas: the number asked for
        ready: also require that many Ready pods owned by the Deployment

    Passes: spec.replicas is the number asked and (with ready) that many owned pods are Ready.

    Fails: "deployment1 has 1 replica, expected 2"; "deployment1 asks for 2 replicas but 1 pod is
        ready".

    Partial credit: half for spec.replicas, half for the ready pods.
    """
    dep = _deployment(ctx, name)
    if dep is None:
        return _missing(ctx, name)
    want = replicas
    have = k8s.spec(dep).get("replicas", 1)
    if ctx.view.has("Pod") and ctx.view.has("ReplicaSet"):
        ready_pods = [p for p in k8s.pods_of(ctx.view, dep) if k8s.pod_ready(p)]
        ready_n = len(ready_pods)
        ready_names = k8s.names_list([k8s.name(p) for p in ready_pods])
        ready_names_zh = k8s.names_zh([k8s.name(p) for p in ready_pods])
    else:  # a dump without pods: trust the controller's own count
        ready_n = int(k8s.status(dep).get("readyReplicas") or 0)
        ready_names = ready_names_zh = "status.readyReplicas"
    spec_ok = have == want
    ready_ok = ready_n == want
    expected = T(f"spec.replicas = {want}" + (f"，{want} 个就绪 Pod" if ready else ""),
                 f"spec.replicas = {want}" + (f", {k8s.count_en(want, 'ready pod')}" if ready else ""))
    observed = T(f"spec.replicas = {have}，{ready_n} 个就绪 Pod（{ready_names_zh}）",
                 f"spec.replicas = {have}, {k8s.count_en(ready_n, 'ready pod')} ({ready_names})")
    if spec_ok and (ready_ok or not ready):
        return passed(T(f"{name} 有 {want} 个副本", f"{name} has {k8s.count_en(want, 'replica')}"), observed=observed)
    if not spec_ok:
        return failed(T(f"{name} 的副本数是 {have}，应为 {want}", f"{name} has {k8s.count_en(have, 'replica')}, expected {want}"),
                      expected=expected, observed=observed, score=0.5 if (ready and ready_n == want) else 0.0)
    if ready_n > want:  # "only 3 ready (expected 2)" would contradict itself
        return failed(T(f"{name} 的副本数正确，但有 {ready_n} 个就绪 Pod，多于 {want} 个（可能正在滚动更新，旧 Pod 还没有退出）",
                        f"{name} asks for {k8s.count_en(want, 'replica')} but {k8s.count_en(ready_n, 'pod')} {k8s.are_en(ready_n)} ready, more than asked "
                        "(a rollout may be in progress, with old pods still running)"),
                      expected=expected, observed=observed, score=0.5)
    return failed(T(f"{name} 的副本数正确，但只有 {ready_n} 个 Pod 就绪（应为 {want}）",
                    f"{name} asks for {k8s.count_en(want, 'replica')} but {k8s.count_en(ready_n, 'pod')} {k8s.are_en(ready_n)} ready"),
                  expected=expected, observed=observed, score=0.5)


@check("deployment.image", reads=("Deployment", "ReplicaSet", "Pod"))
def deployment_image(ctx: CheckContext, name: str, image: str = "httpd") -> Outcome:
    """Every container runs the ``image`` repository, from any registry or
    mirror, at any tag or digest: the repository name is what makes it httpd,
    not a tag called ``httpd`` or a name that merely contains it.

    Why: The repository name makes an image httpd, not a tag called httpd; pods of an older template
        count too.

    Parameters:
        name: the Deployment
        image: the image repository (``httpd``, ``nginx``)

    Passes: Every container of the template and of the owned pods runs the image repository.

    Fails: "deployment1 does not run httpd: its container web runs nginx; fix it with kubectl set image
        deployment/deployment1 web=httpd", or the pods still running an older template's image.

    Partial credit: none.
    """
    dep = _deployment(ctx, name)
    if dep is None:
        return _missing(ctx, name)
    template = k8s.spec(dep).get("template") or {}
    # Pods still running an older template (edited after the fact) count too.
    pods = []
    if ctx.view.has("Pod") and ctx.view.has("ReplicaSet"):
        pods = [p for p in k8s.pods_of(ctx.view, dep) if not k8s.is_terminating(p)]
    expected = T(f"所有容器使用 {image} 镜像（如 {image}、{image}:2.4、镜像仓库中的 library/{image}）",
                 f"every container runs the {image} image (e.g. {image}, {image}:2.4, a mirror's library/{image})")
    return image_outcome("Deployment", name, image, template.get("spec") or {}, pods, expected)


@check("deployment.pods", reads=("Deployment", "ReplicaSet", "Pod"))
def deployment_pods(ctx: CheckContext, name: str) -> Outcome:
    """The Deployment's pods are really its own and running: as many running
    pods as its spec.replicas asks for, each one's controller a ReplicaSet
    whose controller is this Deployment, by uid. Pods that only carry the
    right labels do not count. (The replica *number* is graded apart, so one
    wrong count costs one check.)

    Why: Pods made by hand with the right labels are not the Deployment's; ownership by uid tells
        them apart.

    Parameters:
        name: the Deployment

    Passes: As many running pods as spec.replicas are owned by the Deployment through its
        ReplicaSet.

    Fails: "deployment2 has 0 running pods, expected 3", noting lookalike pods.

    Partial credit: none.
    """
    dep = _deployment(ctx, name)
    if dep is None:
        return _missing(ctx, name)
    replicas = int(k8s.spec(dep).get("replicas", 1))
    owned = [p for p in k8s.pods_of(ctx.view, dep) if not k8s.is_terminating(p)]
    running = [p for p in owned if k8s.status(p).get("phase") == "Running"]
    selector = (k8s.spec(dep).get("selector") or {}).get("matchLabels") or {}
    lookalikes = [
        k8s.name(p) for p in ctx.view.objects("Pod", ctx.namespace)
        if k8s.selector_matches(selector, k8s.labels(p)) and k8s.owning_deployment(ctx.view, p) is None
        and not k8s.is_terminating(p)
    ]
    notes = ()
    if lookalikes:
        notes = (T(f"这些 Pod 带有 {name} 的标签但不属于它：{k8s.names_zh(lookalikes)}",
                   f"these pods carry {name}'s labels but are not owned by it: {k8s.names_list(lookalikes)}"),)
    expected = T(f"{replicas} 个运行中的 Pod 归属于 {name}（Pod → ReplicaSet → Deployment）",
                 f"{k8s.count_en(replicas, 'running pod')} owned by {name} (Pod → ReplicaSet → Deployment)")
    observed = T(f"归属的运行中 Pod：{k8s.names_zh([k8s.name(p) for p in running])}",
                 f"owned running pods: {k8s.names_list([k8s.name(p) for p in running])}")
    if running and len(running) == replicas:
        return passed(T(f"{name} 的 {replicas} 个 Pod 都在运行", f"{name}'s {k8s.count_en(replicas, 'pod')} {k8s.are_en(replicas)} running"),
                      observed=observed, notes=notes)
    return failed(
        T(f"{name} 有 {len(running)} 个运行中的 Pod，应为 {replicas}", f"{name} has {k8s.count_en(len(running), 'running pod')}, expected {replicas}"),
        expected=expected, observed=observed, notes=notes,
    )
