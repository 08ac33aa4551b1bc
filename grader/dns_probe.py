"""Ask the cluster's DNS what it answers for a name.

From outside the cluster the grader port-forwards to a CoreDNS pod and
speaks DNS over TCP through the tunnel (pods/portforward is a websocket, so
UDP is not an option); inside a pod it can ask the cluster resolver
directly (``--dns-server``).
"""
from __future__ import annotations

import json
import time
from typing import Any

from grader.i18n import Text
from grader.view import DnsResult, ProbeError

COREDNS_SELECTOR = "k8s-app=kube-dns"
DNS_NAMESPACE = "kube-system"
TIMEOUT = 5.0


def _answers(response: Any, rdtype: str) -> tuple[str, tuple[str, ...]]:
    import dns.rcode
    import dns.rdatatype

    want = dns.rdatatype.from_text(rdtype)
    out = sorted({rr.to_text() for rrset in response.answer if rrset.rdtype == want for rr in rrset})
    return dns.rcode.to_text(response.rcode()), tuple(out)


def _query(qname: str, rdtype: str) -> Any:
    import dns.message

    return dns.message.make_query(qname.rstrip(".") + ".", rdtype)


def query_server(server: str, qname: str, rdtype: str = "A") -> DnsResult:
    """Ask a DNS server (``ip`` or ``ip:port``) over TCP."""
    import dns.exception
    import dns.query

    host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "53")
    started = time.monotonic()
    try:
        response = dns.query.tcp(_query(qname, rdtype), host, timeout=TIMEOUT, port=int(port or 53))
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        return DnsResult(qname, rdtype, None, (), f"{type(exc).__name__}: {exc}"[:200], server, time.monotonic() - started)
    rcode, answers = _answers(response, rdtype)
    return DnsResult(qname, rdtype, rcode, answers, None, server, round(time.monotonic() - started, 3))


def find_coredns_pod(api: Any, retry: Any) -> str:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    from grader.live import explain_failure

    core = client.CoreV1Api(api)
    try:
        resp = retry.call(lambda: core.list_namespaced_pod(
            DNS_NAMESPACE, label_selector=COREDNS_SELECTOR, _preload_content=False, _request_timeout=(5, 20)))
    except (ApiException, OSError) as exc:
        raise ProbeError(explain_failure(exc, "CoreDNS pods")) from None
    pods = json.loads(resp.data).get("items") or []
    running = sorted(
        (p for p in pods if (p.get("status") or {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")),
        key=lambda p: p["metadata"]["name"],
    )
    if not running:
        raise ProbeError(Text("集群中没有运行中的 CoreDNS Pod（kube-system, k8s-app=kube-dns）",
                              "no running CoreDNS pod in kube-system (k8s-app=kube-dns)"))
    return running[0]["metadata"]["name"]


def query_via_portforward(api: Any, qname: str, rdtype: str = "A", *, pod: str) -> DnsResult:
    import dns.exception
    import dns.query
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from kubernetes.stream import portforward

    started = time.monotonic()
    try:
        pf = portforward(client.CoreV1Api(api).connect_get_namespaced_pod_portforward, pod, DNS_NAMESPACE, ports="53")
    except ApiException as exc:
        raise ProbeError(Text(f"无法端口转发到 CoreDNS：{' '.join(str(exc.reason).split())[:200]}",
                              f"cannot port-forward to CoreDNS: {' '.join(str(exc.reason).split())[:200]}")) from None
    server = f"{DNS_NAMESPACE}/{pod}:53 (port-forward)"
    try:
        sock = pf.socket(53)
        sock.setblocking(False)
        response = dns.query.tcp(_query(qname, rdtype), "127.0.0.1", timeout=TIMEOUT, sock=sock)
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        err = pf.error(53)
        why = f"{type(exc).__name__}: {exc}"[:200] + (f" ({err})" if err else "")
        return DnsResult(qname, rdtype, None, (), why, server, round(time.monotonic() - started, 3))
    finally:
        pf.close()
    rcode, answers = _answers(response, rdtype)
    return DnsResult(qname, rdtype, rcode, answers, None, server, round(time.monotonic() - started, 3))
