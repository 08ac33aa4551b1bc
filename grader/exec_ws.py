"""pods/exec over the websocket channel protocol, bounded and exact.

The client's own ``returncode`` raises on anything but NonZeroExitCode (a
containerd "executable file not found" arrives as a plain Failure Status),
and without a deadline a hung command blocks forever, so this reads the
channels itself: stdout (1) and stderr (2) apart, then the channel-3 Status
that says how the command ended.
"""
from __future__ import annotations

import json
import re
import time
from typing import Any

from grader.i18n import Text
from grader.view import ExecResult, ProbeError

_HANDSHAKE = re.compile(r"Handshake status (\d{3})")
_NOT_FOUND = ("executable file not found", "no such file or directory", "not found in $path")


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


def run_exec(api: Any, namespace: str, pod: str, argv: list[str], *, container: str | None = None,
             timeout: float = 15.0) -> ExecResult:
    """Run ``argv`` (a list, never a shell string) in the pod and wait at
    most ``timeout`` seconds for it to finish."""
    import websocket
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from kubernetes.stream import stream

    started = time.monotonic()
    kw: dict[str, Any] = dict(command=list(argv), stderr=True, stdin=False, stdout=True, tty=False,
                              _preload_content=False, _request_timeout=timeout)
    if container:
        kw["container"] = container
    previous = websocket.getdefaulttimeout()
    websocket.setdefaulttimeout(timeout)  # bounds the handshake of a server that never answers
    try:
        try:
            ws = stream(client.CoreV1Api(api).connect_get_namespaced_pod_exec, pod, namespace, **kw)
        except ApiException as exc:
            return _handshake_failure(exc, argv, namespace, pod, container, time.monotonic() - started)
        except (OSError, websocket.WebSocketException) as exc:
            raise ProbeError(Text(f"无法连接 API server 执行命令：{type(exc).__name__}",
                                  f"cannot reach the API server to exec: {type(exc).__name__}")) from None
        stdout: list[str] = []
        stderr: list[str] = []
        deadline = started + timeout
        timed_out = False
        try:
            while ws.is_open():
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                ws.update(timeout=min(left, 1.0))
                stdout.append(ws.read_stdout(timeout=0) or "")
                stderr.append(ws.read_stderr(timeout=0) or "")
            stdout.append(ws.read_stdout(timeout=0) or "")
            stderr.append(ws.read_stderr(timeout=0) or "")
            raw_status = None if timed_out else ws.read_channel(3)
        except (OSError, websocket.WebSocketException):
            raw_status = None
        finally:
            ws.close()
    finally:
        websocket.setdefaulttimeout(previous)
    if timed_out:
        exit_code, failure = None, "timeout"
    else:
        exit_code, failure = parse_exec_status(raw_status)
    return ExecResult(tuple(argv), "".join(stdout), "".join(stderr), exit_code, failure,
                      round(time.monotonic() - started, 3), pod, namespace, container)


def _handshake_failure(exc: Any, argv: list[str], namespace: str, pod: str, container: str | None,
                       elapsed: float) -> ExecResult:
    """Before the upgrade, the API server answers with an HTTP status: a
    missing pod or a stopped container is the student's state; RBAC or a
    broken server is the grader's problem."""
    m = _HANDSHAKE.search(str(exc.reason or ""))
    code = int(m.group(1)) if m else int(exc.status or 0)
    body = ""
    if exc.body:
        try:
            body = str(json.loads(exc.body).get("message") or "")
        except (ValueError, TypeError, AttributeError):
            body = ""
    if not body:
        parts = str(exc.reason or "").split("-+-+-")
        body = parts[-1].strip(" b'\"") if len(parts) > 1 else ""
        try:
            body = str(json.loads(body).get("message") or body)
        except (ValueError, TypeError, AttributeError):
            pass
    body = " ".join(body.split())[:300]
    if code in (404, 400):
        failure = f"pod not found: {body}" if code == 404 else f"cannot exec: {body}"
        return ExecResult(tuple(argv), "", "", None, failure, round(elapsed, 3), pod, namespace, container)
    if code == 403:
        raise ProbeError(Text(f"没有权限在 Pod 中执行命令（403 RBAC）：{body}", f"forbidden to exec in pods (403, RBAC): {body}"))
    if code == 0:  # the client wraps connection errors as status 0
        why = " ".join(str(exc.reason or "").split())[:200]
        raise ProbeError(Text(f"无法连接 API server 执行命令：{why}", f"cannot reach the API server to exec: {why}"))
    raise ProbeError(Text(f"执行命令失败（{code}）：{body}", f"exec failed ({code}): {body}"))
