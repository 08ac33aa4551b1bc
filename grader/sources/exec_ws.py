"""pods/exec and pods/portforward over the websocket channel protocol,
bounded on the wall clock and in memory.

The client's ``stream()`` helper cannot be bounded: its websocket is made
inside the library (only the process-wide ``websocket.setdefaulttimeout``
reaches it, a race between batch workers), an upgrade the server never
answers blocks forever, a frame dripped a byte a second satisfies every
socket timeout, and endless output is kept whole (150 MB received, 470 MB
resident, no report). So labgrade opens the socket itself:

* one :class:`~grader.sources.deadline.Deadline` per exec or port-forward covers the
  TCP connect, TLS, the upgrade and every read; at the deadline the socket
  is shut down, so even a read in the middle of a frame returns;
* output is kept as head and tail per stream with the total byte count
  (:class:`CappedBuffer`), whatever the pod prints;
* the channel-3 Status says how the command ended; a stream that closes
  without one is the grader's problem (a lost API server), never the
  student's: :class:`ProbeError`, reported as ``error``.
"""
from __future__ import annotations

import json
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from grader import redact
from grader.sources.deadline import Deadline
from grader.i18n import Text
from grader.view import ExecResult, ProbeError

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
STDOUT, STDERR, ERROR, CLOSE = 1, 2, 3, 255
_NOT_FOUND = ("executable file not found", "no such file or directory", "not found in $path")
#: Bytes kept of each output stream: the start (where a page's title is) and the end.
HEAD_BYTES = 64 * 1024
TAIL_BYTES = 16 * 1024
#: At most this much of the channel-3 Status is read.
STATUS_BYTES = 64 * 1024
CONNECT_TIMEOUT = 5.0
#: A frame still incomplete this long after the previous one ended is a
#: stalled server (the kubelet sends frames whole), not a slow command.
STALL_SECONDS = 2.0


class HandshakeRefused(Exception):
    """The API server answered the upgrade with an HTTP status."""

    def __init__(self, status: int, body: str):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class CappedBuffer:
    """The first ``head`` and last ``tail`` bytes of a stream, and its size."""

    def __init__(self, head: int = HEAD_BYTES, tail: int = TAIL_BYTES):
        self.head_limit, self.tail_limit = head, tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > self.tail_limit:
                del self.tail[: len(self.tail) - self.tail_limit]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.head) + len(self.tail)

    def text(self) -> str:
        head = bytes(self.head).decode("utf-8", "replace")
        if not self.tail:
            return head
        tail = bytes(self.tail).decode("utf-8", "replace")
        if not self.truncated:
            return bytes(self.head + self.tail).decode("utf-8", "replace")
        omitted = self.total - len(self.head) - len(self.tail)
        return f"{head}\n…[{omitted} bytes not kept; {self.total} bytes in all]…\n{tail}"


# -- the websocket ---------------------------------------------------------------

def _ssl_context(cfg: Any) -> ssl.SSLContext:
    if getattr(cfg, "verify_ssl", True):
        ctx = ssl.create_default_context(cafile=cfg.ssl_ca_cert or None,
                                         cadata=getattr(cfg, "ca_cert_data", None) or None)
        if not cfg.ssl_ca_cert and not getattr(cfg, "ca_cert_data", None):
            try:
                import certifi

                ctx.load_verify_locations(certifi.where())
            except ImportError:  # pragma: no cover
                pass
        if getattr(cfg, "assert_hostname", None) is False:
            ctx.check_hostname = False
    else:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cfg.cert_file:
        ctx.load_cert_chain(cfg.cert_file, cfg.key_file)
    return ctx


def _auth_headers(cfg: Any) -> list[str]:
    out = []
    for setting in (cfg.auth_settings() or {}).values():
        if setting.get("in") == "header" and setting.get("value"):
            out.append(f"{setting['key']}: {setting['value']}")
    return out


def open_channel(api: Any, path: str, query: list[tuple[str, str]], deadline: Deadline,
                 protocols: tuple[str, ...] = (V5, V4)) -> Any:
    """An upgraded websocket to ``path`` (under the API server's URL), every
    byte of it bounded by ``deadline``. Raises :class:`HandshakeRefused` for
    an HTTP answer, OSError/websocket errors for the rest."""
    import websocket

    cfg = api.configuration
    url = urlsplit(cfg.host)
    secure = url.scheme == "https"
    host = url.hostname or "localhost"
    port = url.port or (443 if secure else 80)
    resource = (url.path.rstrip("/") + path) + ("?" + urlencode(query) if query else "")
    if getattr(cfg, "proxy", None):
        raise ProbeError(Text("kubeconfig 设置了代理（proxy-url），labgrade 不经代理执行命令或端口转发",
                              "the kubeconfig sets a proxy-url; labgrade does not exec or port-forward through a proxy"))
    left = deadline.left()
    if left <= 0:
        raise socket.timeout("deadline")
    raw = socket.create_connection((host, port), timeout=min(CONNECT_TIMEOUT, left))
    deadline.watch(raw)
    sock: Any = raw
    try:
        raw.settimeout(max(deadline.left(), 0.01))
        if secure:
            sock = _ssl_context(cfg).wrap_socket(raw, server_hostname=getattr(cfg, "tls_server_name", None) or host)
        ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=False)
        try:
            ws.connect(f"{'wss' if secure else 'ws'}://{host}:{port}{resource}", socket=sock,
                       header=_auth_headers(cfg), subprotocols=list(protocols),
                       timeout=max(deadline.left(), 0.01), suppress_origin=True)
        except websocket.WebSocketBadStatusException as exc:
            body = exc.resp_body.decode("utf-8", "replace") if isinstance(exc.resp_body, bytes) else str(exc.resp_body or "")
            raise HandshakeRefused(int(exc.status_code or 0), body) from None
    except BaseException:
        try:
            sock.close()
        except OSError:
            pass
        raise
    return ws


@dataclass
class Frames:
    """What :func:`read_frames` collected from an exec session."""

    stdout: CappedBuffer
    stderr: CappedBuffer
    status: bytes | None
    timed_out: bool
    broken: bool
    #: The deadline came in the middle of a frame that had been arriving for
    #: longer than :data:`STALL_SECONDS`: the server (not the command) stalled.
    stalled: bool = False


def read_frames(ws: Any, deadline: Deadline) -> Frames:
    """Read channel frames until the server closes, the stream breaks, or
    the deadline passes (checked on the socket, so also mid-frame)."""
    import websocket

    out, err = CappedBuffer(), CappedBuffer()
    status: bytearray | None = None
    timed_out = broken = False
    last_frame = time.monotonic()
    while True:
        left = deadline.left()
        if left <= 0:
            timed_out = True
            break
        try:
            ws.settimeout(left)
            opcode, frame = ws.recv_data_frame(True)
        except websocket.WebSocketTimeoutException:
            timed_out = True
            break
        except (websocket.WebSocketException, OSError, ValueError):
            timed_out, broken = deadline.expired, not deadline.expired
            break
        last_frame = time.monotonic()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            break
        if opcode not in (websocket.ABNF.OPCODE_BINARY, websocket.ABNF.OPCODE_TEXT):
            continue
        data = frame.data if isinstance(frame.data, (bytes, bytearray)) else str(frame.data).encode()
        if not data:
            continue
        channel, payload = data[0], bytes(data[1:])
        if channel == STDOUT:
            out.add(payload)
        elif channel == STDERR:
            err.add(payload)
        elif channel == ERROR:
            status = status if status is not None else bytearray()
            if len(status) < STATUS_BYTES:
                status += payload[: STATUS_BYTES - len(status)]
    buffer = getattr(ws, "frame_buffer", None)
    partial = buffer is not None and (not buffer.needs_header() or any(buffer.recv_buffer))
    stalled = timed_out and partial and time.monotonic() - last_frame > STALL_SECONDS
    return Frames(out, err, bytes(status) if status is not None else None, timed_out, broken, stalled)


def close_quietly(ws: Any, graceful: bool) -> None:
    try:
        if graceful:
            ws.close(timeout=0.5)
        else:
            ws.shutdown()
    except Exception:  # noqa: BLE001 - the session is over either way
        try:
            ws.shutdown()
        except Exception:  # noqa: BLE001
            pass


# -- exec ----------------------------------------------------------------------

def parse_exec_status(raw: str | None) -> tuple[int | None, str | None]:
    """(exit code, failure) from the channel-3 Status.

    ``Success`` -> 0. ``NonZeroExitCode`` -> the ExitCode cause (worded
    differently by a kubelet on v4 and a 1.30+ API server translating to v5,
    but both carry the cause). Anything else (containerd's missing binary,
    a runtime error) has no exit code: the failure says why.
    """
    if not raw or not raw.strip():
        return None, "the connection closed without an exit status"
    try:
        status = json.loads(raw)
    except ValueError:
        return None, "unreadable exit status: " + raw[:200]
    if not isinstance(status, dict):
        return None, "unreadable exit status"
    if status.get("status") == "Success":
        return 0, None
    details = status.get("details") or {}
    for cause in details.get("causes") or []:
        if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message")), None
            except (TypeError, ValueError):
                break
    message = " ".join(str(status.get("message") or status.get("reason") or "exec failed").split())
    if any(s in message.lower() for s in _NOT_FOUND):
        return None, "not-found"
    return None, message[:300]


def _lost(seconds: float | None = None) -> ProbeError:
    if seconds is not None:
        return ProbeError(Text(f"API server 在 {seconds:g} 秒内没有接受执行命令的请求，本项不扣分",
                               f"the API server did not accept the exec request within {seconds:g} s; no points taken"))
    return ProbeError(Text("命令执行中与 API server 的连接中断（没有退出状态），本项不扣分",
                           "the connection to the API server broke while the command ran (no exit status); no points taken"))


def run_exec(api: Any, namespace: str, pod: str, argv: list[str], *, container: str | None = None,
             timeout: float = 15.0) -> ExecResult:
    """Run ``argv`` (a list, never a shell string) in the pod; at most
    ``timeout`` seconds on the wall clock from the first byte sent to the
    last one read."""
    import websocket

    started = time.monotonic()
    query = [("command", a) for a in argv] + [("stderr", "true"), ("stdin", "false"), ("stdout", "true"), ("tty", "false")]
    if container:
        query.append(("container", container))
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}/exec"
    with Deadline(timeout) as d:
        try:
            ws = open_channel(api, path, query, d)
        except HandshakeRefused as exc:
            return _handshake_failure(exc, argv, namespace, pod, container, time.monotonic() - started)
        except ProbeError:
            raise
        except (OSError, websocket.WebSocketException, ssl.SSLError, ValueError) as exc:
            if d.expired or isinstance(exc, (socket.timeout, websocket.WebSocketTimeoutException)):
                raise _lost(timeout) from None
            raise _unreachable_exec(api, exc) from None
        try:
            frames = read_frames(ws, d)
        finally:
            close_quietly(ws, graceful=not d.expired)
    duration = round(time.monotonic() - started, 3)
    if frames.stalled:
        raise ProbeError(Text(f"API server 的数据流在一条消息中途停滞（{timeout:g} 秒内没有完成），本项不扣分",
                              f"the API server's stream stalled in the middle of a message (not complete within "
                              f"{timeout:g} s); no points taken"))
    if frames.timed_out:
        exit_code, failure = None, "timeout"
    elif frames.status is None:
        raise _lost()
    else:
        exit_code, failure = parse_exec_status(frames.status.decode("utf-8", "replace"))
    return ExecResult(tuple(argv), frames.stdout.text(), frames.stderr.text(), exit_code, failure,
                      duration, pod, namespace, container)


def _unreachable_exec(api: Any, exc: BaseException) -> ProbeError:
    from grader.sources.unreachable import CAUSES, cause, server_of

    why = CAUSES.get(cause(exc) or "network", CAUSES["network"])
    server = server_of(api)
    return ProbeError(Text(f"无法连接 API server {server} 执行命令：{why.zh}",
                           f"cannot reach the API server at {server} to exec: {why.en}"))


def _status_message(body: str) -> str:
    try:
        message = json.loads(body).get("message")
        if message:
            return str(message)
    except (ValueError, TypeError, AttributeError):
        pass
    return body


def _handshake_failure(exc: HandshakeRefused, argv: list[str], namespace: str, pod: str, container: str | None,
                       elapsed: float) -> ExecResult:
    """Before the upgrade, the API server answers with an HTTP status: a
    missing pod or a stopped container is the student's state; RBAC or a
    broken server is the grader's problem."""
    code = exc.status
    body = redact.text(" ".join(_status_message(exc.body).split())[:300])
    if code in (404, 400):
        failure = f"pod not found: {body}" if code == 404 else f"cannot exec: {body}"
        return ExecResult(tuple(argv), "", "", None, failure, round(elapsed, 3), pod, namespace, container)
    if code == 403:
        raise ProbeError(Text(f"没有权限在 Pod 中执行命令（403 RBAC）：{body}", f"forbidden to exec in pods (403, RBAC): {body}"))
    if code == 401:
        raise ProbeError(Text("执行命令时认证失败（401）：凭据无效或已过期", "unauthorized to exec (401): the credentials were rejected"))
    raise ProbeError(Text(f"执行命令失败（{code}）：{body}", f"exec failed ({code}): {body}"))


__all__ = ["CappedBuffer", "Frames", "HandshakeRefused", "open_channel", "parse_exec_status", "read_frames", "run_exec"]
