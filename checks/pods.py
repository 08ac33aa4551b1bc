"""Checks on single pods (the lab's clientpod)."""
from __future__ import annotations

from checks import k8s
from checks.registry import CheckContext, check
from grader.i18n import Text as T
from grader.outcome import Outcome, failed, passed


@check("pod.running", reads=("Pod",))
def pod_running(ctx: CheckContext, name: str) -> Outcome:
    """The pod exists, is Running and Ready, and is not being deleted.

    Why: A probe from a pod needs the pod running; a crash-looping client says why the probe cannot
        run.

    Parameters:
        name: the pod

    Passes: The pod is Running and Ready and not being deleted.

    Fails: "Pod clientpod is not running and ready (CrashLoopBackOff)"; "no Pod clientpod in
        namespace default".

    Partial credit: none.
    """
    pod = ctx.view.get("Pod", ctx.namespace, name)
    if pod is None:
        others = [k8s.name(p) for p in ctx.view.objects("Pod", ctx.namespace)]
        return failed(T(f"命名空间 {ctx.namespace} 中没有 Pod {name}", f"no Pod {name} in namespace {ctx.namespace}"),
                      expected=T(f"运行中的 Pod {name}", f"a running Pod {name}"),
                      observed=T(f"该命名空间的 Pod：{k8s.names_zh(others)}", f"pods in the namespace: {k8s.names_list(others)}"))
    phase = k8s.status(pod).get("phase", "Unknown")
    images = ", ".join(str(c.get("image")) for c in k8s.containers(k8s.spec(pod)))
    observed = T(f"phase={phase}，Ready={k8s.pod_condition(pod, 'Ready')}，镜像 {images.replace(', ', '、')}",
                 f"phase={phase}, Ready={k8s.pod_condition(pod, 'Ready')}, image {images}")
    if k8s.is_terminating(pod):
        return failed(T(f"Pod {name} 正在被删除", f"Pod {name} is being deleted"), observed=observed)
    if not k8s.pod_ready(pod):
        waiting = [
            (cs.get("state") or {}).get("waiting", {}).get("reason")
            for cs in k8s.status(pod).get("containerStatuses") or [] if isinstance(cs, dict)
        ]
        reason = ", ".join(r for r in waiting if r)
        return failed(T(f"Pod {name} 没有在运行" + (f"（{reason.replace(', ', '、')}）" if reason else ""),
                        f"Pod {name} is not running and ready" + (f" ({reason})" if reason else "")),
                      expected=T("phase=Running，Ready=True", "phase=Running, Ready=True"), observed=observed)
    return passed(T(f"Pod {name} 正在运行", f"Pod {name} is running"), observed=observed)
