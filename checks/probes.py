"""Checks that need the running cluster: wget from a pod, and DNS answers.

They ask the view for the probe; a live view runs it, a snapshot answers
from a bundle's recording or raises ProbeUnavailable (the engine reports
``skipped``, not graded).  Names taken from the cluster are validated as DNS
labels before they go into a command line; the command is an argv list and
never passes through a shell.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Literal

from checks import k8s
from checks.registry import CheckContext, ProbeSeconds, check
from grader.i18n import Text as T
from grader.outcome import Outcome, error, failed, passed
from grader.view import DnsResult, ExecResult, Obj

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$")
HTTPD_PAGE = "It works!"


def is_dns_label(s: str) -> bool:
    return bool(_LABEL.match(s or ""))


def dashed(ip: str) -> str:
    """The DNS form of a pod IP: 10.244.1.5 -> 10-244-1-5 (IPv6 colons too)."""
    return str(ipaddress.ip_address(ip)).replace(".", "-").replace(":", "-")


def backend_dns_name(svc: Obj, pod: Obj, ip: str, namespace: str, domain: str) -> str:
    """The name CoreDNS gives a backend pod.

    Behind a headless service: ``<hostname>.<svc>.<ns>.svc.<domain>`` when
    the pod sets hostname and subdomain=<svc>, else ``<dashed-ip>.<svc>...``.
    Behind a ClusterIP service there is no per-pod service name, so the pod's
    own record ``<dashed-ip>.<ns>.pod.<domain>`` is the DNS way to reach it.
    """
    svc_name = k8s.name(svc)
    if k8s.spec(svc).get("clusterIP") == "None":
        hostname = k8s.spec(pod).get("hostname")
        if hostname and k8s.spec(pod).get("subdomain") == svc_name and is_dns_label(hostname):
            return f"{hostname}.{svc_name}.{namespace}.svc.{domain}"
        return f"{dashed(ip)}.{svc_name}.{namespace}.svc.{domain}"
    return f"{dashed(ip)}.{namespace}.pod.{domain}"


def _target(ctx: CheckContext, service: str, pick: str) -> tuple[Obj, k8s.Backend] | Outcome:
    svc = ctx.view.get("Service", ctx.namespace, service)
    if svc is None:
        return failed(T(f"没有 Service {service}", f"no Service {service}"))
    ready = [b for b in k8s.service_backends(ctx.view, svc)[0] if b.ready and b.pod is not None]
    if not ready:
        return failed(T(f"{service} 没有就绪的后端 Pod，无法访问", f"{service} has no ready backend pod to reach"))
    if pick == "oldest":
        ready.sort(key=lambda b: (k8s.meta(b.pod).get("creationTimestamp") or "", b.label))
    return svc, ready[0]


def classify_wget(r: ExecResult, expect_body: str) -> tuple[bool, T]:
    """Turn busybox/GNU wget's exit code and stderr into one clear verdict."""
    err = (r.stderr or "").lower()
    if r.failure == "not-found" or r.exit_code in (126, 127) or "not found" in err and "wget" in err:
        return False, T("clientpod 中没有 wget 命令（换用带 wget 的镜像，如 busybox）",
                        "there is no wget in the pod (use an image that has it, such as busybox)")
    if r.failure == "timeout":
        return False, T("wget 在时限内没有完成", "wget did not finish in time")
    if r.exit_code == 0:
        if expect_body in r.stdout:
            return True, T(f"wget 取回了预期的页面（含 {expect_body!r}）", f"wget fetched the expected page (it holds {expect_body!r})")
        return False, T(f"wget 成功了，但返回的页面不含 {expect_body!r}", f"wget succeeded but the page does not hold {expect_body!r}")
    if "bad address" in err or "unable to resolve" in err or "name or service not known" in err:
        return False, T("域名无法解析", "the name does not resolve")
    if "refused" in err:
        return False, T("连接被拒绝（端口上没有服务）", "the connection was refused (nothing listens on that port)")
    if "timed out" in err or "timeout" in err:
        return False, T("连接超时", "the connection timed out")
    if r.failure:
        return False, T(f"命令无法执行：{r.failure}", f"the command could not run: {r.failure}")
    return False, T(f"wget 以退出码 {r.exit_code} 失败", f"wget failed with exit code {r.exit_code}")


@check("exec.http_get", live=True, reads=("Service", "Endpoints", "EndpointSlice", "Pod"))
def exec_http_get(
    ctx: CheckContext,
    pod: str,
    service: str,
    expect_body: str = HTTPD_PAGE,
    require_headless: bool = False,
    pick: Literal["first-by-name", "oldest"] = "first-by-name",
    cluster_domain: str = "cluster.local",
    timeout: ProbeSeconds = 5,
) -> Outcome:
    """From ``pod``, wget the DNS name of the first backend pod of
    ``service`` and expect a page holding ``expect_body`` (httpd's by default).

    Why: Reaching a backend pod by its DNS name from a client pod proves DNS and the Service work
        end to end.

    Parameters:
        pod: the client pod to run ``wget`` in (busybox has it)
        service: the Service whose backend pod is reached
        expect_body: text the page must contain (httpd's ``It works!`` by default)
        require_headless: fail unless the Service is headless (``clusterIP: None``), for labs that ask for one
        pick: which ready backend is "the first": ``first-by-name`` or ``oldest``
        cluster_domain: the cluster's DNS domain
        timeout: wget's timeout in seconds

    Passes: ``wget`` of the first backend pod's DNS name exits 0 and the page has the expected text.

    Fails: "the name does not resolve"; "the connection was refused"; "there is no wget in the pod".

    Partial credit: none.
    """
    if not _DOMAIN.match(cluster_domain) or not is_dns_label(ctx.namespace) or not is_dns_label(service):
        return error(T("命名空间、服务名或集群域名不是合法的 DNS 名称，不执行命令",
                       "the namespace, service or cluster domain is not a valid DNS name; nothing was run"))
    found = _target(ctx, service, pick)
    if isinstance(found, Outcome):
        return found
    svc, backend = found
    if require_headless and k8s.spec(svc).get("clusterIP") != "None":
        return failed(T(f"{service} 不是 Headless Service，Pod 没有 {service} 之下的域名",
                        f"{service} is not headless, so its pods have no names under it"),
                      expected=T("clusterIP: None", "clusterIP: None"),
                      observed=T(f"clusterIP: {k8s.spec(svc).get('clusterIP')}", f"clusterIP: {k8s.spec(svc).get('clusterIP')}"))
    # A dual-stack pod has one address per family; CoreDNS names it after
    # the one of the Service's primary family (spec.ipFamilies[0]).
    ip = k8s.pod_ip_of(backend.pod, k8s.primary_family(svc)) or backend.ip
    host = backend_dns_name(svc, backend.pod, ip, ctx.namespace, cluster_domain)
    argv = ["wget", "-q", "-O", "-", "-T", str(timeout), f"http://{host}"]
    r = ctx.view.exec(ctx.namespace, pod, argv, timeout=timeout + 10)
    ok, verdict = classify_wget(r, expect_body)
    shown = " ".join(argv)
    out = (r.stdout or r.stderr or "").strip().splitlines()
    first_line = out[0][:120] if out else ""
    observed = T(f"{pod} 中执行 `{shown}`：退出码 {r.exit_code}，输出 {first_line!r}",
                 f"`{shown}` in {pod}: exit code {r.exit_code}, output {first_line!r}")
    expected = T(f"退出码 0，页面含 {expect_body!r}（来自 {k8s.name(backend.pod)}）",
                 f"exit code 0 and a page with {expect_body!r} (from {k8s.name(backend.pod)})")
    if ok:
        return passed(verdict, observed=observed)
    return failed(verdict, expected=expected, observed=observed)


@check("dns.service", live=True, reads=("Service", "Endpoints", "EndpointSlice", "Pod"))
def dns_service(ctx: CheckContext, name: str, cluster_domain: str = "cluster.local") -> Outcome:
    """What the cluster DNS answers for ``<name>.<ns>.svc.<domain>``: the
    ClusterIP, or for a headless service exactly its ready endpoint IPs.

    Why: CoreDNS answers from Services: a ClusterIP, or a headless Service's ready endpoint IPs.

    Parameters:
        name: the Service
        cluster_domain: the cluster's DNS domain

    Passes: The A answer for <name>.<ns>.svc.<domain> is exactly the expected addresses.

    Fails: "DNS gives the wrong answer for service1.default.svc.cluster.local".

    Partial credit: none.
    """
    svc = ctx.view.get("Service", ctx.namespace, name)
    if svc is None:
        return failed(T(f"没有 Service {name}", f"no Service {name}"))
    qname = f"{name}.{ctx.namespace}.svc.{cluster_domain}"
    # The records asked for and expected follow the primary IP family: a
    # dual-stack Service with ipFamilies [IPv6, IPv4] is checked with AAAA.
    family = k8s.primary_family(svc)
    rdtype = "AAAA" if family == "IPv6" else "A"
    if k8s.spec(svc).get("clusterIP") == "None":
        want = sorted({ip for b in k8s.service_backends(ctx.view, svc)[0] if b.ready
                       for ip in ([k8s.pod_ip_of(b.pod, family)] if b.pod is not None else [b.ip])
                       if ip and k8s.ip_family(ip) == family})
        what = T("就绪端点的 IP", "the ready endpoint IPs")
    else:
        ips = k8s.spec(svc).get("clusterIPs") or [k8s.spec(svc).get("clusterIP")]
        want = sorted(ip for ip in ips if isinstance(ip, str) and ip and ip != "None" and k8s.ip_family(ip) == family)
        what = T("ClusterIP", "the ClusterIP")
    r: DnsResult = ctx.view.dns(qname, rdtype)
    expected = T(f"{qname} {rdtype} → {'、'.join(want) or '-'}（{what.zh}）", f"{qname} {rdtype} → {', '.join(want) or '-'} ({what.en})")
    observed = T(f"{r.rcode or r.failure}：{'、'.join(r.answers) or '-'}", f"{r.rcode or r.failure}: {', '.join(r.answers) or '-'}")
    if r.rcode is None:
        return error(T(f"DNS 查询 {qname} 没有得到回答：{r.failure}", f"no DNS answer for {qname}: {r.failure}"))
    if r.rcode == "NOERROR" and sorted(set(r.answers)) == want:
        return passed(T(f"DNS 对 {qname} 的回答正确", f"DNS answers {qname} correctly"), observed=observed)
    return failed(T(f"DNS 对 {qname} 的回答不对", f"DNS gives the wrong answer for {qname}"),
                  expected=expected, observed=observed)
