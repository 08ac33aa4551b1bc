"""Ask the cluster's DNS what it answers for a name.

From outside the cluster the grader port-forwards to a CoreDNS pod and
speaks DNS over TCP through the tunnel (pods/portforward is a websocket, so
UDP is not an option); inside a pod it can ask the cluster resolver
directly (``--dns-server``).
"""
from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from grader import redact
from grader.i18n import Text
from grader.view import DnsResult, ProbeError

COREDNS_SELECTOR = "k8s-app=kube-dns"
DNS_NAMESPACE = "kube-system"
TIMEOUT = 5.0
#: Seconds for one question through a port-forward, upgrade included.
PORTFORWARD_DEADLINE = 8.0


_prefetched = threading.Event()


def prefetch() -> None:
    """Import dnspython's message codec on a thread of its own, now, so that its ~25 ms of
    CPU run while the first question waits on the network (the CoreDNS LIST, the
    port-forward's TLS handshake and upgrade) instead of after them. Once per process; the
    asking thread's own ``import dns.message`` waits for this one if it is not done (an
    import in progress holds its module lock), so nothing can see a half-made module."""
    if _prefetched.is_set() or "dns.message" in sys.modules:
        return
    _prefetched.set()
    threading.Thread(target=_import_codec, name="labgrade-dns-import", daemon=True).start()


def _import_codec() -> None:
    try:
        import dns.message  # noqa: F401 - the codec make_query, from_wire and answers_of use
        import dns.rdtypes.IN.A  # noqa: F401 - from_wire loads an answer's rdata class on demand
    except ImportError:
        pass  # not installed: the asking thread's import says so, in its own words


def answers_of(response: Any, rdtype: str) -> tuple[str, tuple[str, ...]]:
    import dns.rcode
    import dns.rdatatype

    want = dns.rdatatype.from_text(rdtype)
    out = sorted({rr.to_text() for rrset in response.answer if rrset.rdtype == want for rr in rrset})
    return dns.rcode.to_text(response.rcode()), tuple(out)


def make_query(qname: str, rdtype: str) -> Any:
    import dns.message

    return dns.message.make_query(qname.rstrip(".") + ".", rdtype)


def query_server(server: str, qname: str, rdtype: str = "A") -> DnsResult:
    """Ask a DNS server (``ip`` or ``ip:port``) over TCP."""
    import dns.exception
    import dns.query

    host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "53")
    started = time.monotonic()
    try:
        response = dns.query.tcp(make_query(qname, rdtype), host, timeout=TIMEOUT, port=int(port or 53))
    except dns.exception.Timeout:
        return DnsResult(qname, rdtype, None, (), f"Timeout: no answer within {TIMEOUT:g} s", server,
                         round(time.monotonic() - started, 3))
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        from grader.sources.unreachable import CAUSES, cause

        why = CAUSES.get(cause(exc) or "network", CAUSES["network"]).en
        return DnsResult(qname, rdtype, None, (), f"cannot ask {server}: {why}"[:200], server,
                         round(time.monotonic() - started, 3))
    rcode, answers = answers_of(response, rdtype)
    return DnsResult(qname, rdtype, rcode, answers, None, server, round(time.monotonic() - started, 3))


def find_coredns_pod(api: Any, retry: Any) -> str:
    from grader.sources.kube_import import client_and_config

    client, _ = client_and_config()
    from grader.sources.apiread import MAX_BODY, REQUEST_DEADLINE, REQUEST_TIMEOUT, bounded, explain_failure, read_capped
    from grader.sources.unreachable import server_of

    core = client.CoreV1Api(api)

    def fetch() -> bytes:
        resp = core.list_namespaced_pod(DNS_NAMESPACE, label_selector=COREDNS_SELECTOR, _preload_content=False,
                                        _request_timeout=REQUEST_TIMEOUT)
        return read_capped(resp, MAX_BODY, "CoreDNS pods")

    try:
        data = bounded(lambda: retry.call(fetch), REQUEST_DEADLINE)
    except Exception as exc:  # noqa: BLE001 - ApiException, urllib3 errors, the deadline: all the grader's side
        raise ProbeError(explain_failure(exc, "CoreDNS pods", server_of(api))) from None
    try:
        pods = json.loads(data).get("items") or []
    except (ValueError, AttributeError):
        raise ProbeError(Text("API server 返回的 CoreDNS Pod 列表无法读取", "the API server's list of CoreDNS pods is unreadable")) from None
    running = sorted(
        (p for p in pods if (p.get("status") or {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")),
        key=lambda p: p["metadata"]["name"],
    )
    if not running:
        raise ProbeError(Text("集群中没有运行中的 CoreDNS Pod（kube-system, k8s-app=kube-dns）",
                              "no running CoreDNS pod in kube-system (k8s-app=kube-dns)"))
    return running[0]["metadata"]["name"]


def query_via_portforward(api: Any, qname: str, rdtype: str = "A", *, pod: str,
                          timeout: float = PORTFORWARD_DEADLINE) -> DnsResult:
    """One DNS question over TCP through pods/portforward to ``pod``, the
    whole of it (connect, upgrade, question, answer) within ``timeout``
    seconds on the wall clock: a server that never answers the upgrade or
    drips its frames costs that long, never more."""
    import struct

    import dns.exception
    import dns.message
    import websocket

    from grader.sources.deadline import Deadline
    from grader.sources.exec_ws import V4, HandshakeRefused, close_quietly, open_channel

    started = time.monotonic()
    server = f"{DNS_NAMESPACE}/{pod}:53 (port-forward)"
    path = f"/api/v1/namespaces/{DNS_NAMESPACE}/pods/{pod}/portforward"

    def result(failure: str | None, response: Any = None) -> DnsResult:
        took = round(time.monotonic() - started, 3)
        if response is None:
            return DnsResult(qname, rdtype, None, (), failure, server, took)
        rcode, answers = answers_of(response, rdtype)
        return DnsResult(qname, rdtype, rcode, answers, None, server, took)

    with Deadline(timeout) as d:
        try:
            ws = open_channel(api, path, [("ports", "53")], d, protocols=(V4,))
        except HandshakeRefused as exc:
            why = redact.clip(" ".join(exc.body.split()), 200)
            raise ProbeError(Text(f"无法端口转发到 CoreDNS（{exc.status}）：{why}",
                                  f"cannot port-forward to CoreDNS ({exc.status}): {why}")) from None
        except ProbeError:
            raise
        except (OSError, websocket.WebSocketException, ValueError) as exc:
            if d.expired:
                raise ProbeError(Text(f"API server 在 {timeout:g} 秒内没有接受端口转发请求",
                                      f"the API server did not accept the port-forward within {timeout:g} s")) from None
            from grader.sources.unreachable import CAUSES, cause, server_of

            why = CAUSES.get(cause(exc) or "network", CAUSES["network"])
            raise ProbeError(Text(f"无法连接 API server {server_of(api)} 端口转发到 CoreDNS：{why.zh}",
                                  f"cannot reach the API server at {server_of(api)} to port-forward to CoreDNS: {why.en}")) from None
        try:
            query = make_query(qname, rdtype)
            wire = query.to_wire()
            ws.send_binary(bytes([0]) + struct.pack("!H", len(wire)) + wire)
            data = bytearray()
            error = bytearray()
            seen = {0: False, 1: False}  # the first frame of each channel is the port number
            while True:
                if len(data) >= 2 and len(data) >= 2 + struct.unpack("!H", bytes(data[:2]))[0]:
                    size = struct.unpack("!H", bytes(data[:2]))[0]
                    try:
                        return result(None, dns.message.from_wire(bytes(data[2:2 + size])))
                    except dns.exception.DNSException:
                        return result("the DNS answer was unreadable")
                left = d.left()
                if left <= 0:
                    return result(f"Timeout: no complete answer within {timeout:g} s" + _err(error))
                try:
                    ws.settimeout(left)
                    opcode, frame = ws.recv_data_frame(True)
                except websocket.WebSocketTimeoutException:
                    return result(f"Timeout: no complete answer within {timeout:g} s" + _err(error))
                except (websocket.WebSocketException, OSError, ValueError):
                    if d.expired:
                        return result(f"Timeout: no complete answer within {timeout:g} s" + _err(error))
                    return result("the port-forward closed before an answer" + _err(error))
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    return result("the port-forward closed before an answer" + _err(error))
                payload = frame.data if isinstance(frame.data, (bytes, bytearray)) else str(frame.data).encode()
                if not payload or payload[0] not in (0, 1):
                    continue
                channel, body = payload[0], payload[1:]
                if not seen[channel]:
                    seen[channel] = True
                    body = body[2:]
                if channel == 0:
                    data += body
                    if len(data) > 70000:
                        return result("the DNS answer was too large")
                elif len(error) < 2000:
                    error += body[:2000]
        finally:
            close_quietly(ws, graceful=not d.expired)


def _err(error: bytearray) -> str:
    text = redact.clip(" ".join(bytes(error).decode("utf-8", "replace").split()), 200)
    return f" ({text})" if text else ""
