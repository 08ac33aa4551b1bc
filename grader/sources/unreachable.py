"""Say in one line why a request never reached the API server.

A teacher whose cluster is down, or a student whose kubeconfig points at a
stopped VM, needs "cannot reach the API server at https://10.0.0.5:6443:
connection refused", not ``MaxRetryError(NewConnectionError('<urllib3...
object at 0x7f...>: Failed to establish...'))`` repeated under every check.
:func:`cause` reads an exception chain (urllib3, ssl, socket, websocket,
the client's ``ApiException(status=0)`` wrapper) and names the cause in
words; no exception class name reaches a person.
"""
from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from typing import Any

from grader.i18n import Text

CAUSES: dict[str, Text] = {
    "refused": Text("连接被拒绝（API server 没有运行，或地址/端口不对）",
                    "connection refused (the API server is not running, or the address or port is wrong)"),
    "timeout": Text("连接超时（没有回答）", "timed out (no answer)"),
    "tls": Text("TLS 证书不受信任（检查 kubeconfig 中的 certificate-authority）",
                "its TLS certificate is not trusted (check certificate-authority in the kubeconfig)"),
    "dns": Text("服务器地址无法解析", "the server's host name does not resolve"),
    "dropped": Text("连接在回答之前被关闭", "the connection was closed before any answer"),
    "credentials": Text("kubeconfig 中的凭据无法发送（令牌中含换行或控制字符？）",
                        "the kubeconfig's credentials cannot be sent (a token with a line break or control character?)"),
    "unauthorized": Text("凭据被拒绝（401：令牌无效或已过期）", "the credentials were rejected (401: invalid or expired token)"),
    "network": Text("网络错误", "a network error"),
}


def _chain(exc: BaseException | None) -> list[BaseException]:
    out: list[BaseException] = []
    while exc is not None and exc not in out and len(out) < 10:
        out.append(exc)
        nxt = getattr(exc, "reason", None)  # urllib3 MaxRetryError keeps the cause in .reason
        exc = nxt if isinstance(nxt, BaseException) else (exc.__cause__ or exc.__context__)
    return out


def cause(exc: BaseException) -> str | None:
    """The key in :data:`CAUSES` for an exception that means no HTTP answer
    came back (or 401), None for any other HTTP answer."""
    from grader.sources.deadline import DeadlineExceeded

    try:
        from kubernetes.client.exceptions import ApiException
    except ImportError:  # pragma: no cover
        ApiException = ()  # type: ignore[assignment]
    if isinstance(exc, ApiException):
        status = int(getattr(exc, "status", 0) or 0)
        if status == 401:
            return "unauthorized"
        if status:
            return None
        text = str(getattr(exc, "reason", "") or "")
        return _from_text(text) or "network"
    for e in _chain(exc):
        if isinstance(e, DeadlineExceeded):
            return "timeout"
        if isinstance(e, ssl.SSLError) or type(e).__name__ == "SSLError":
            return "tls"
        if isinstance(e, ConnectionRefusedError):
            return "refused"
        if isinstance(e, (socket.timeout, TimeoutError)) or "Timeout" in type(e).__name__:
            return "timeout"
        if isinstance(e, socket.gaierror) or type(e).__name__ == "NameResolutionError":
            return "dns"
        if isinstance(e, ValueError) and "header" in str(e).lower():
            return "credentials"
    text = " ".join(str(e) for e in _chain(exc))
    found = _from_text(text)
    if found:
        return found
    names = {type(e).__name__ for e in _chain(exc)}
    if names & {"ProtocolError", "RemoteDisconnected", "ConnectionResetError", "BrokenPipeError",
                "IncompleteRead", "WebSocketConnectionClosedException"}:
        return "dropped"
    if any(isinstance(e, OSError) for e in _chain(exc)) or any("urllib3" in type(e).__module__ for e in _chain(exc)):
        return "network"
    return None


def _from_text(text: str) -> str | None:
    low = text.lower()
    if "certificate" in low or "ssl" in low or "tls" in low:
        return "tls"
    if "refused" in low:
        return "refused"
    if "timed out" in low or "timeout" in low:
        return "timeout"
    if "name or service not known" in low or "nodename nor servname" in low or "failed to resolve" in low:
        return "dns"
    if "invalid header" in low:
        return "credentials"
    if "remote end closed" in low or "connection aborted" in low or "connection reset" in low:
        return "dropped"
    return None


@dataclass(frozen=True)
class Unreachable:
    """No request of a pass reached the API server (or every one got 401).

    ``server`` is the address from the kubeconfig; :meth:`line` is the one
    line ``grade``, ``check`` and batch rows show.
    """

    server: str
    cause: str

    @property
    def text(self) -> Text:
        why = CAUSES.get(self.cause, CAUSES["network"])
        return Text(f"无法连接 API server {self.server}：{why.zh}", f"cannot reach the API server at {self.server}: {why.en}")

    def line(self, lang: str = "en") -> str:
        return self.text.get(lang)


def server_of(api: Any) -> str:
    """The API server address an ApiClient talks to (no credentials in it)."""
    host = str(getattr(getattr(api, "configuration", None), "host", "") or "?")
    if "@" in host.split("//", 1)[-1].split("/", 1)[0]:  # user:pass@host in a URL
        scheme, _, rest = host.partition("//")
        host = scheme + "//" + rest.split("@", 1)[1]
    return host


__all__ = ["CAUSES", "Unreachable", "cause", "server_of"]
