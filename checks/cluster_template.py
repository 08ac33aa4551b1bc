"""URL and name templates built from the cluster: ``{{ cluster_ip(web) }}``,
``{{ node_ip }}:{{ nodeport(web-nodeport) }}``, ``{{ pod_dns(web-headless, first) }}``.

A rubric cannot know a ClusterIP, a nodePort or a pod IP in advance; a
template names them and the check fills them in from the view it grades.
Everything substituted is validated (DNS names, IPs, port numbers) before it
goes into a command's argv, which never passes through a shell.

Functions (a service argument is a Service name in the lab namespace):

* ``namespace``, ``domain`` (``cluster.local``), ``node_ip`` (the node the
  probing pod runs on, from its ``status.hostIP``: no Node list needed)
* ``cluster_ip(svc)``, ``service_dns(svc)`` (``svc.ns.svc.domain``)
* ``nodeport(svc[, port])``: the nodePort of the Service's first port, or
  of the port with that name or number
* ``pod_ip(svc, first|oldest|N)``, ``pod_dns(svc, first|oldest|N)``: one
  ready backend pod (by name, by age, or the N-th by name) and the name
  CoreDNS gives it (``<hostname|dashed-ip>.svc.ns.svc.domain`` behind a
  headless Service, ``<dashed-ip>.ns.pod.domain`` otherwise)
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from checks import k8s
from grader.i18n import Text as T
from grader.view import ClusterView, Obj

_EXPR = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_CALL = re.compile(r"^([a-z_]+)\s*(?:\(\s*(.*?)\s*\))?$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SAFE = re.compile(r"^[A-Za-z0-9.:_\-\[\]]+$")
FUNCTIONS = {"namespace": 0, "domain": 0, "node_ip": 0, "cluster_ip": 1, "service_dns": 1, "nodeport": (1, 2),
             "pod_ip": (1, 2), "pod_dns": (1, 2)}
SERVICE_FUNCTIONS = {"cluster_ip", "service_dns", "nodeport", "pod_ip", "pod_dns"}


class TemplateError(ValueError):
    """The template itself is wrong: the rubric's mistake (an ``error``)."""


class Unresolvable(Exception):
    """The cluster does not have what the template names (no such Service,
    no ready backend): the student's problem, reported as ``failed``."""

    def __init__(self, reason: T):
        super().__init__(reason.en)
        self.reason = reason


@dataclass(frozen=True)
class Call:
    fn: str
    args: tuple[str, ...]


def calls(template: str) -> list[Call]:
    """Parse every ``{{ ... }}`` of a template; raises TemplateError."""
    out = []
    for m in _EXPR.finditer(template):
        c = _CALL.match(m.group(1))
        if not c or c.group(1) not in FUNCTIONS:
            raise TemplateError(f"unknown template expression {{{{ {m.group(1)} }}}} (known: {', '.join(FUNCTIONS)})")
        args = tuple(a.strip() for a in c.group(2).split(",")) if c.group(2) else ()
        arity = FUNCTIONS[c.group(1)]
        lo, hi = (arity, arity) if isinstance(arity, int) else arity
        if not lo <= len(args) <= hi:
            raise TemplateError(f"{c.group(1)} takes {lo if lo == hi else f'{lo} or {hi}'} arguments, got {len(args)}")
        out.append(Call(c.group(1), args))
    return out


def services_named(*templates: Any) -> set[str]:
    names: set[str] = set()
    for t in templates:
        for item in t if isinstance(t, list) else [t]:
            if isinstance(item, str):
                names |= {c.args[0] for c in calls(item) if c.fn in SERVICE_FUNCTIONS}
    return names


@dataclass(frozen=True)
class Scope:
    view: ClusterView
    namespace: str
    domain: str = "cluster.local"
    pod: str | None = None  # the pod the probe runs in (for node_ip)


def _service(scope: Scope, name: str) -> Obj:
    if not _LABEL.match(name):
        raise TemplateError(f"{name!r} is not a Service name")
    svc = scope.view.get("Service", scope.namespace, name)
    if svc is None:
        raise Unresolvable(T(f"没有 Service {name}，无法构造地址", f"no Service {name} to build the address from"))
    return svc


def _backend(scope: Scope, svc: Obj, pick: str) -> tuple[Obj, str]:
    ready = [b for b in k8s.service_backends(scope.view, svc)[0] if b.ready and b.pod is not None]
    if not ready:
        name = k8s.name(svc)
        raise Unresolvable(T(f"{name} 没有就绪的后端 Pod", f"{name} has no ready backend pod"))
    if pick == "oldest":
        ready.sort(key=lambda b: (k8s.meta(b.pod).get("creationTimestamp") or "", b.label))
    elif pick.isdigit():
        if int(pick) >= len(ready):
            raise Unresolvable(T(f"{k8s.name(svc)} 只有 {len(ready)} 个就绪后端", f"{k8s.name(svc)} has only {len(ready)} ready backends"))
        return ready[int(pick)].pod, ready[int(pick)].ip
    elif pick != "first":
        raise TemplateError(f"pick must be first, oldest or a number, got {pick!r}")
    return ready[0].pod, ready[0].ip


def dashed(ip: str) -> str:
    return str(ipaddress.ip_address(ip)).replace(".", "-").replace(":", "-")


def pod_dns_name(svc: Obj, pod: Obj, ip: str, namespace: str, domain: str) -> str:
    name = k8s.name(svc)
    if k8s.spec(svc).get("clusterIP") == "None":
        host = k8s.spec(pod).get("hostname")
        if host and k8s.spec(pod).get("subdomain") == name and _LABEL.match(host):
            return f"{host}.{name}.{namespace}.svc.{domain}"
        return f"{dashed(ip)}.{name}.{namespace}.svc.{domain}"
    return f"{dashed(ip)}.{namespace}.pod.{domain}"


def _evaluate(scope: Scope, call: Call) -> str:
    fn, args = call.fn, call.args
    if fn == "namespace":
        return scope.namespace
    if fn == "domain":
        return scope.domain
    if fn == "node_ip":
        pod = scope.view.get("Pod", scope.namespace, scope.pod) if scope.pod else None
        ip = k8s.status(pod).get("hostIP") if pod else None
        if not ip:
            raise Unresolvable(T(f"不知道 Pod {scope.pod} 所在节点的 IP", f"the node IP of pod {scope.pod} is unknown"))
        return str(ip)
    svc = _service(scope, args[0])
    spec = k8s.spec(svc)
    if fn == "cluster_ip":
        ip = spec.get("clusterIP")
        if not ip or ip == "None":
            raise Unresolvable(T(f"{args[0]} 没有 ClusterIP", f"{args[0]} has no ClusterIP"))
        return str(ip)
    if fn == "service_dns":
        return f"{args[0]}.{scope.namespace}.svc.{scope.domain}"
    if fn == "nodeport":
        ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
        if len(args) > 1:
            ports = [p for p in ports if str(p.get("name")) == args[1] or str(p.get("port")) == args[1]]
        node_port = ports[0].get("nodePort") if ports else None
        if not isinstance(node_port, int):
            raise Unresolvable(T(f"{args[0]} 没有 nodePort（类型是 {spec.get('type', 'ClusterIP')}）",
                                 f"{args[0]} has no nodePort (its type is {spec.get('type', 'ClusterIP')})"))
        return str(node_port)
    pod, ip = _backend(scope, svc, args[1] if len(args) > 1 else "first")
    if fn == "pod_ip":
        return ip
    return pod_dns_name(svc, pod, ip, scope.namespace, scope.domain)


def render(template: str, scope: Scope) -> str:
    """The template with every expression filled in from the cluster."""
    calls(template)  # syntax first: a rubric mistake is reported as such

    def sub(m: re.Match[str]) -> str:
        value = _evaluate(scope, calls(m.group(0))[0])
        if not _SAFE.match(value):
            raise Unresolvable(T("集群中的值含有不安全的字符，不执行", "a value from the cluster has unsafe characters; nothing was run"))
        return value

    return _EXPR.sub(sub, template)
