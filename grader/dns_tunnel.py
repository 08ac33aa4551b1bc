"""One port-forward to CoreDNS for every DNS question of a run (or a class).

Opening pods/portforward costs a websocket upgrade (a TLS handshake, a
request through the API server and the kubelet) and CoreDNS's TCP listener
keeps a connection open for many messages, so a tunnel is opened once and
questions are pipelined over it: each query gets its own 16-bit message id,
a reader thread hands every answer to whoever asked that id. A class of a
thousand students asks its two thousand questions over one tunnel instead
of opening two thousand.

A tunnel that breaks (the CoreDNS pod restarted, the API server cut the
stream) fails the questions in flight with the reason and is reopened by the
next question, once per question.
"""
from __future__ import annotations

import socket
import struct
import threading
import time
from concurrent.futures import Future, TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, Callable

from grader.dns_probe import DNS_NAMESPACE, TIMEOUT, _answers, _query
from grader.i18n import Text
from grader.view import DnsResult, ProbeError


class _Broken(Exception):
    pass


@dataclass
class _Open:
    """One live port-forward: its socket, the reader, the questions in flight."""

    pf: Any
    sock: socket.socket
    pending: dict[int, Future] = field(default_factory=dict)
    next_id: int = 1
    broken: str | None = None


class DnsTunnel:
    """Pipelined DNS over TCP through one pods/portforward to a CoreDNS pod.

    ``pod`` is a callable so that finding the pod (a LIST, or a look into
    objects already listed) happens only when the first question comes.
    Thread-safe: the batch's workers share one tunnel per cluster.
    """

    def __init__(self, api: Any, pod: Callable[[], str], *, timeout: float = TIMEOUT):
        self.api = api
        self._pod_fn = pod
        self._pod: str | None = None
        self.timeout = timeout
        self._lock = threading.Lock()
        self._connecting = threading.Lock()
        self._open: _Open | None = None
        self.opened = 0  # port-forwards opened, for tests and benchmarks

    @property
    def server(self) -> str:
        return f"{DNS_NAMESPACE}/{self._pod}:53 (port-forward)"

    def _connect(self) -> _Open:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException
        from kubernetes.stream import portforward

        if self._pod is None:
            self._pod = self._pod_fn()
        try:
            pf = portforward(client.CoreV1Api(self.api).connect_get_namespaced_pod_portforward,
                             self._pod, DNS_NAMESPACE, ports="53")
        except ApiException as exc:
            why = " ".join(str(exc.reason).split())[:200]
            raise ProbeError(Text(f"无法端口转发到 CoreDNS：{why}", f"cannot port-forward to CoreDNS: {why}")) from None
        except (OSError, Exception) as exc:  # websocket errors are not ApiExceptions
            why = f"{type(exc).__name__}: {exc}"[:200]
            raise ProbeError(Text(f"无法端口转发到 CoreDNS：{why}", f"cannot port-forward to CoreDNS: {why}")) from None
        sock = pf.socket(53)
        sock.setblocking(True)
        opened = _Open(pf, sock)
        self.opened += 1
        threading.Thread(target=self._read, args=(opened,), name="labgrade-dns-tunnel", daemon=True).start()
        return opened

    def _read(self, opened: _Open) -> None:
        import dns.message

        why = "the tunnel closed"
        try:
            while True:
                size = struct.unpack("!H", _recv_exactly(opened.sock, 2))[0]
                wire = _recv_exactly(opened.sock, size)
                try:
                    message = dns.message.from_wire(wire)
                except Exception:  # noqa: BLE001 - a garbled answer fails only its question
                    if len(wire) >= 2:
                        fut = self._take(opened, struct.unpack("!H", wire[:2])[0])
                        if fut is not None:
                            fut.set_exception(_Broken("unreadable DNS answer"))
                    continue
                fut = self._take(opened, message.id)
                if fut is not None:
                    fut.set_result(message)
        except (OSError, _Broken, struct.error) as exc:
            err = opened.pf.error(53) if hasattr(opened.pf, "error") else None
            why = f"{type(exc).__name__}: {exc}"[:200] + (f" ({err})" if err else "")
        with self._lock:
            opened.broken = why
            pending, opened.pending = opened.pending, {}
            if self._open is opened:
                self._open = None
        for fut in pending.values():
            fut.set_exception(_Broken(why))

    def _take(self, opened: _Open, msg_id: int) -> Future | None:
        with self._lock:
            return opened.pending.pop(msg_id, None)

    def _send(self, qname: str, rdtype: str) -> tuple[Future, _Open]:
        with self._connecting:  # one opens the tunnel, the others wait for it (not self._lock: readers need that)
            with self._lock:
                opened = self._open
            if opened is None:
                opened = self._connect()
                with self._lock:
                    self._open = opened
        query = _query(qname, rdtype)
        fut: Future = Future()
        with self._lock:
            for _ in range(65536):
                msg_id, opened.next_id = opened.next_id, (opened.next_id + 1) % 65536
                if msg_id not in opened.pending:
                    break
            query.id = msg_id
            opened.pending[msg_id] = fut
            wire = query.to_wire()
            try:
                opened.sock.sendall(struct.pack("!H", len(wire)) + wire)
            except OSError as exc:
                opened.pending.pop(msg_id, None)
                if self._open is opened:
                    self._open = None
                raise _Broken(f"{type(exc).__name__}: {exc}"[:200]) from None
        return fut, opened

    def query(self, qname: str, rdtype: str = "A") -> DnsResult:
        """Ask one question; a broken tunnel is reopened once for it."""
        started = time.monotonic()
        why = ""
        for _attempt in range(2):
            try:
                fut, _ = self._send(qname, rdtype)
                response = fut.result(timeout=self.timeout)
            except _Broken as exc:
                why = str(exc)
                continue
            except FutureTimeout:
                why = f"Timeout: no answer in {self.timeout:g} s"
                break
            rcode, answers = _answers(response, rdtype)
            return DnsResult(qname, rdtype, rcode, answers, None, self.server, round(time.monotonic() - started, 3))
        return DnsResult(qname, rdtype, None, (), why, self.server, round(time.monotonic() - started, 3))

    def close(self) -> None:
        with self._lock:
            opened, self._open = self._open, None
        if opened is not None:
            _close(opened)


def _close(opened: _Open) -> None:
    try:
        opened.pf.close()
    except Exception:  # noqa: BLE001 - closing a dead tunnel is not an error
        pass


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise _Broken("the tunnel closed")
        buf += chunk
    return buf
