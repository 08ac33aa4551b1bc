"""One port-forward to CoreDNS for every DNS question of a run (or a class).

Opening pods/portforward costs a websocket upgrade (a TLS handshake, a
request through the API server and the kubelet), and CoreDNS keeps a TCP
connection open for many messages, so a tunnel is opened once and the
questions are pipelined over it: each gets its own 16-bit message id, and
whichever asking thread holds the socket reads the frames that arrive and
hands every answer to the thread that asked for it. A class of a thousand
students asks its two thousand questions over one tunnel instead of
opening two thousand; one ``labgrade grade`` opens one, not one per question.

One lock covers every send and receive on the socket: an ``SSLSocket`` must
not be read in one thread while another writes it. The lock is held only
while bytes are there to move: one reader thread per tunnel waits for the
socket to become readable *without* the lock (``select`` on the socket,
which touches no TLS state), then takes it to read the frames that came.
An asking thread therefore sends at once instead of waiting until whoever
held the socket has had its own answer (that made the questions of a class
go one round trip at a time: 1000 students spent 235 ms each in DNS on the
class bench, most of it queued behind the lock). The websocket is opened
with :func:`grader.sources.exec_ws.open_channel` (connect, TLS and the upgrade under
one deadline; no ``kubernetes.stream`` import, no proxy thread).

A tunnel that breaks (the CoreDNS pod restarted, the API server cut the
stream, a question unanswered in time) fails the questions in flight with
the reason and is reopened by the next question, once per question.
"""
from __future__ import annotations

import json
import select
import struct
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable

from grader.sources.dns_probe import COREDNS_SELECTOR, DNS_NAMESPACE, TIMEOUT, answers_of, make_query
from grader import redact
from grader.i18n import Text
from grader.view import DnsResult, ProbeError

PORT = 53
#: The reader looks at whether the tunnel was dropped this often while no byte comes.
IDLE_SLICE = 0.2
#: A frame whose first bytes came is read whole within this (the kubelet sends
#: frames whole); a stalled one is resumed on the next turn, so the lock (and
#: the senders) never wait on it longer than this.
FRAME_SLICE = 0.05


class _Broken(Exception):
    pass


class _Open:
    """One live port-forward: the websocket, its partial stream, the questions in flight."""

    def __init__(self, ws: Any):
        self.ws = ws
        self.pending: dict[int, Future] = {}
        self.next_id = 1
        self.data = bytearray()
        self.seen = {0: False, 1: False}  # the first frame of each channel carries the port
        self.broken: str | None = None
        self.reader: threading.Thread | None = None


class DnsTunnel:
    """Pipelined DNS over TCP through one pods/portforward to a CoreDNS pod.

    ``pod`` is a callable so that finding the pod (a LIST, or a look into
    pods already listed) happens only when the first question comes.
    Thread-safe: the batch's workers share one tunnel per cluster.
    """

    def __init__(self, api: Any, pod: Callable[[], str], *, timeout: float = TIMEOUT):
        self.api = api
        self._pod_fn = pod
        self._pod: str | None = None
        self.timeout = timeout
        self._state = threading.Lock()  # self._open, pending maps, ids
        # Every send and receive on the socket; re-entrant because the reader,
        # holding it, may break the tunnel, which closes the socket under it.
        self._io = threading.RLock()
        self._connecting = threading.Lock()
        self._open: _Open | None = None
        self.opened = 0  # port-forwards opened, for tests and benchmarks

    @property
    def server(self) -> str:
        return f"{DNS_NAMESPACE}/{self._pod}:{PORT} (port-forward)"

    # -- the websocket -----------------------------------------------------------
    def _connect(self) -> _Open:
        import websocket

        from grader.sources.deadline import Deadline
        from grader.sources.exec_ws import V4, HandshakeRefused, open_channel

        if self._pod is None:
            self._pod = self._pod_fn()
        path = f"/api/v1/namespaces/{DNS_NAMESPACE}/pods/{self._pod}/portforward"
        with Deadline(self.timeout) as d:
            try:
                ws = open_channel(self.api, path, [("ports", str(PORT))], d, protocols=(V4,))
            except HandshakeRefused as exc:
                why = redact.clip(" ".join(exc.body.split()), 200)
                raise ProbeError(Text(f"无法端口转发到 CoreDNS（{exc.status}）：{why}",
                                      f"cannot port-forward to CoreDNS ({exc.status}): {why}")) from None
            except ProbeError:
                raise
            except (OSError, websocket.WebSocketException, ValueError) as exc:
                # The cause in words, as for every request (no exception class names in a message).
                from grader.sources.unreachable import CAUSES, cause, server_of

                why = CAUSES.get(cause(exc) or "network", CAUSES["network"])
                raise ProbeError(Text(f"无法连接 API server {server_of(self.api)} 端口转发到 CoreDNS：{why.zh}",
                                      f"cannot reach the API server at {server_of(self.api)} to port-forward to CoreDNS: "
                                      f"{why.en}")) from None
        self.opened += 1
        opened = _Open(ws)
        opened.reader = threading.Thread(target=self._read_loop, args=(opened,), daemon=True,
                                         name="labgrade-dns-tunnel")
        opened.reader.start()
        return opened

    def _current(self) -> _Open:
        with self._connecting:  # one thread opens the tunnel, the others wait for it
            with self._state:
                opened = self._open
            if opened is None:
                opened = self._connect()
                with self._state:
                    self._open = opened
        return opened

    def _break(self, opened: _Open, why: str) -> None:
        """Fail every question in flight on ``opened`` and drop it."""
        with self._state:
            if opened.broken is None:
                opened.broken = why
            pending, opened.pending = opened.pending, {}
            if self._open is opened:
                self._open = None
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(_Broken(why))
        with self._io:  # the reader may be reading: close between its turns
            _close(opened)

    def _send(self, opened: _Open, qname: str, rdtype: str) -> Future:
        query = make_query(qname, rdtype)
        fut: Future = Future()
        with self._state:
            if opened.broken:
                raise _Broken(opened.broken)
            for _ in range(65536):
                msg_id, opened.next_id = opened.next_id, (opened.next_id + 1) % 65536
                if msg_id not in opened.pending:
                    break
            query.id = msg_id
            opened.pending[msg_id] = fut
        wire = query.to_wire()
        with self._io:
            try:
                opened.ws.send_binary(bytes([0]) + struct.pack("!H", len(wire)) + wire)
            except Exception as exc:  # noqa: BLE001 - websocket and socket errors alike
                raise _Broken(redact.clip(f"{type(exc).__name__}: {exc}", 200)) from None
        return fut

    def _pump(self, opened: _Open, seconds: float) -> None:
        """Read frames for at most ``seconds`` and hand out the answers in them."""
        import websocket

        try:
            opened.ws.settimeout(max(seconds, 0.01))
            opcode, frame = opened.ws.recv_data_frame(True)
        except websocket.WebSocketTimeoutException:
            return
        except Exception as exc:  # noqa: BLE001 - the stream is gone
            raise _Broken(f"the port-forward closed ({type(exc).__name__})") from None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            raise _Broken("the port-forward closed")
        payload = frame.data if isinstance(frame.data, (bytes, bytearray)) else str(frame.data).encode()
        if not payload or payload[0] not in (0, 1):
            return
        channel, body = payload[0], bytes(payload[1:])
        if not opened.seen[channel]:
            opened.seen[channel] = True
            body = body[2:]
        if channel == 1:
            if body:
                raise _Broken("CoreDNS refused the port-forward: " + redact.clip(" ".join(body.decode("utf-8", "replace").split()), 200))
            return
        opened.data += body
        self._deliver(opened)

    def _deliver(self, opened: _Open) -> None:
        import dns.exception
        import dns.message

        while len(opened.data) >= 2:
            size = struct.unpack("!H", bytes(opened.data[:2]))[0]
            if len(opened.data) < 2 + size:
                return
            wire = bytes(opened.data[2:2 + size])
            del opened.data[:2 + size]
            msg_id = struct.unpack("!H", wire[:2])[0] if len(wire) >= 2 else -1
            with self._state:
                fut = opened.pending.pop(msg_id, None)
            if fut is None:
                continue
            try:
                fut.set_result(dns.message.from_wire(wire))
            except dns.exception.DNSException:
                fut.set_exception(_Broken("the DNS answer was unreadable"))

    def _buffered(self, opened: _Open) -> bool:
        """Bytes already off the socket (TLS records decrypted, or read ahead by
        the websocket's frame buffer), which ``select`` cannot see."""
        ws = opened.ws
        pending = getattr(ws.sock, "pending", None)
        if pending is not None and pending():
            return True
        buffer = getattr(ws, "frame_buffer", None)
        return buffer is not None and (not buffer.needs_header() or any(buffer.recv_buffer))

    def _read_loop(self, opened: _Open) -> None:
        """The tunnel's reader: wait for bytes without the lock, read them with it."""
        while opened.broken is None:
            try:
                if not self._buffered(opened):
                    readable, _, _ = select.select([opened.ws.sock], [], [], IDLE_SLICE)
                    if not readable:
                        continue
            except (OSError, ValueError, AttributeError, TypeError):  # closed under us
                self._break(opened, "the port-forward closed")
                return
            with self._io:
                if opened.broken is not None:
                    return
                try:
                    self._pump(opened, FRAME_SLICE)
                except _Broken as exc:
                    self._break(opened, str(exc))
                    return

    def _wait(self, opened: _Open, fut: Future, deadline: float) -> Any:
        """Our answer, which the tunnel's reader hands over; none by the deadline breaks the tunnel."""
        try:
            return fut.result(timeout=max(deadline - time.monotonic(), 0.0))
        except FutureTimeout:
            self._break(opened, f"Timeout: no answer in {self.timeout:g} s")
        try:  # failed by the break, or answered just before it (the reader is handing it over)
            return fut.result(timeout=1.0)
        except FutureTimeout:
            raise _Broken(f"Timeout: no answer in {self.timeout:g} s") from None

    # -- questions --------------------------------------------------------------
    def query(self, qname: str, rdtype: str = "A") -> DnsResult:
        """Ask one question; a broken tunnel is reopened once for it."""
        started = time.monotonic()
        why = ""
        for _attempt in range(2):
            try:
                opened = self._current()
                fut = self._send(opened, qname, rdtype)
            except _Broken as exc:
                why = str(exc)
                self._break(opened, why)
                continue
            try:
                response = self._wait(opened, fut, started + self.timeout * (_attempt + 1))
            except _Broken as exc:
                why = str(exc)
                if why.startswith("Timeout"):
                    break
                continue
            rcode, answers = answers_of(response, rdtype)
            return DnsResult(qname, rdtype, rcode, answers, None, self.server, round(time.monotonic() - started, 3))
        return DnsResult(qname, rdtype, None, (), why, self.server, round(time.monotonic() - started, 3))

    def close(self) -> None:
        with self._state:
            opened, self._open = self._open, None
        if opened is not None:
            self._break(opened, "the port-forward was closed")


def _close(opened: _Open) -> None:
    from grader.sources.exec_ws import close_quietly

    try:
        close_quietly(opened.ws, graceful=True)
    except Exception:  # noqa: BLE001 - closing a dead tunnel is not an error
        pass


def coredns_pod(get: Callable[[str, list[tuple[str, Any]]], bytes], retry: Any) -> str:
    """The running CoreDNS pod to port-forward to, by one raw LIST (no client
    model classes: importing them is most of a cold start)."""
    from grader.sources.apiread import REQUEST_DEADLINE, bounded, explain_failure

    try:
        data = bounded(lambda: retry.call(lambda: get(f"/api/v1/namespaces/{DNS_NAMESPACE}/pods",
                                                       [("labelSelector", COREDNS_SELECTOR)])), REQUEST_DEADLINE)
        pods = json.loads(data).get("items") or []
    except ProbeError:
        raise
    except (ValueError, AttributeError):
        raise ProbeError(Text("API server 返回的 CoreDNS Pod 列表无法读取",
                              "the API server's list of CoreDNS pods is unreadable")) from None
    except Exception as exc:  # noqa: BLE001 - ApiException, urllib3 errors, the deadline: the grader's side
        raise ProbeError(explain_failure(exc, "CoreDNS pods")) from None
    running = sorted(p["metadata"]["name"] for p in pods
                     if (p.get("status") or {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp"))
    if not running:
        raise ProbeError(Text("集群中没有运行中的 CoreDNS Pod（kube-system, k8s-app=kube-dns）",
                              "no running CoreDNS pod in kube-system (k8s-app=kube-dns)"))
    return running[0]
