"""``pods/exec`` over websockets, framed and worded like the real path.

Two real code paths are reproduced, chosen the way a cluster chooses them:

- **kubelet** (any server, or 1.29 and older for every client): the API
  server proxies the upgrade to the kubelet, whose handler speaks
  ``v4.channel.k8s.io`` (or the legacy ``channel.k8s.io``).  Non-zero exit:
  ``command terminated with non-zero exit code: error executing command
  [sh -c exit 3], exit code 3`` (containerd's CodeExitError text).  A
  container that is not running fails the upgrade with a bare
  ``500 container not found ("c")`` text body.
- **stream translator** (1.30+, when the client offers
  ``v5.channel.k8s.io``): the API server itself upgrades, then runs SPDY to
  the kubelet and re-encodes the outcome.  Non-zero exit: ``command
  terminated with non-zero exit code: command terminated with exit code 3``;
  runtime errors get a second ``Internal error occurred:`` prefix; a
  container that is not running becomes a Failure status on channel 3 after
  a successful upgrade.  Clients may send the v5 close signal (channel 255).

Both send an empty frame on the lowest requested output channel first, the
output, one Status on channel 3 (v4/v5 JSON; legacy protocols: plain text,
nothing on success), then close.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.standin import channels as ch
from tests.standin import status as st
from tests.standin.exec_model import ExecReply

if TYPE_CHECKING:  # pragma: no cover
    from tests.standin.server import StandIn

Obj = dict[str, Any]
_TRUE = ("1", "t", "T", "TRUE", "true", "True")  # Go's strconv.ParseBool


@dataclass
class ExecRecord:
    """One exec session as the stand-in saw it, for assertions."""

    namespace: str
    pod: str
    container: str
    argv: list[str]
    protocol: str
    stdin: bytes = b""
    closed_channels: list[int] = field(default_factory=list)
    status: Any = None  # what went out on channel 3 (dict, str, or None)


def container_running(pod: Obj, container: str) -> bool:
    statuses = (pod.get("status") or {}).get("containerStatuses")
    if statuses:
        return any(s.get("name") == container and "running" in (s.get("state") or {}) for s in statuses)
    return (pod.get("status") or {}).get("phase") == "Running"


def _bare(body: dict) -> dict:
    """A Status as written on the error channel: json.Marshal without TypeMeta."""
    return {k: v for k, v in body.items() if k not in ("kind", "apiVersion")}


def exit_status(protocol: str, argv: list[str], code: int, kubelet_minor: int = 30) -> dict:
    """The exit status on channel 3. On v4 it is the kubelet's own: from v1.36 its streaming
    server (k8s.io/cri-streaming) marshals a Status of its own, with no ``metadata`` (held against
    a real v1.36 stack in tests/realcluster_tests); on v5 the API server's translator writes it."""
    if protocol != ch.V5 and kubelet_minor >= 36:
        return {k: v for k, v in exit_status(protocol, argv, code).items() if k != "metadata"}
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    if protocol == ch.V5:
        inner = f"command terminated with exit code {code}"
    else:
        inner = f"error executing command [{' '.join(argv)}], exit code {code}"
    return {"metadata": {}, "status": "Failure", "message": f"command terminated with non-zero exit code: {inner}",
            "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def runtime_error_status(protocol: str, runtime_error: str) -> dict:
    kubelet = _bare(st.internal_error(f"error executing command in container: {runtime_error}"))
    if protocol != ch.V5:
        return kubelet
    # client-go turns the kubelet's Status into a plain error; the translator wraps it again.
    return _bare(st.internal_error(kubelet["message"]))


def _container_for(pod: Obj, requested: str | None) -> str:
    """validateContainer from the pod registry: 400s worded like the server's."""
    names = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
    init = [c.get("name", "") for c in (pod.get("spec") or {}).get("initContainers") or []]
    pod_name = pod["metadata"]["name"]
    if not requested:
        if len(names) == 1:
            return names[0]
        if not names:
            raise st.ApiError(st.bad_request(f"pod {pod_name} does not have a container"))
        msg = f"a container name must be specified for pod {pod_name}, choose one of: [{' '.join(names)}]"
        if init:
            msg += f" or one of the init containers: [{' '.join(init)}]"
        raise st.ApiError(st.bad_request(msg))
    if requested not in names + init:
        raise st.ApiError(st.bad_request(f"container {requested} is not valid for pod {pod_name}"))
    return requested


def pod_for_stream(standin: "StandIn", namespace: str, name: str) -> Obj:
    """The checks the API server makes before proxying exec/portforward."""
    pod = standin.snapshot().get("pods", namespace, name)
    if pod is None:
        raise st.ApiError(st.not_found("", "pods", name))
    return pod


async def misbehave(sock: "ch.ChannelSocket", request: web.Request, reader: asyncio.Future, fault: Any) -> bool:
    """The injected stream faults after an upgrade; True when one played.

    ``frame_drip``: one stdout frame written to the raw transport a byte at a
    time (a websocket API cannot send half a frame); ``flood``: stdout frames
    without end; ``cut``: some output, then the TCP connection dropped with
    no status, as when the API server goes away mid-command."""
    if fault is None:
        return False
    if fault.frame_drip:
        payload = bytes([ch.STDOUT]) + b"x" * 100
        frame = bytes([0x82, len(payload)]) + payload  # FIN + binary, unmasked, short length
        for i in range(len(frame)):
            if reader.done() or request.transport is None or request.transport.is_closing():
                return True
            request.transport.write(frame[i:i + 1])
            await asyncio.sleep(fault.frame_drip)
        return True
    if fault.flood:
        chunk = b"<p>It works! and more</p>\n" * (fault.flood // 26 + 1)
        while not reader.done():
            await sock.send(ch.STDOUT, chunk[: fault.flood])
        return True
    if fault.cut:
        await sock.send(ch.STDOUT, b"<html><body><h1>It works")
        await asyncio.sleep(0.05)
        if request.transport is not None:
            request.transport.abort()
        return True
    return False


async def serve_exec(standin: "StandIn", request: web.Request, namespace: str, name: str,
                     hang: bool = False, fault: Any = None) -> web.StreamResponse:
    query = request.query
    argv = query.getall("command", [])
    pod = pod_for_stream(standin, namespace, name)
    container = _container_for(pod, query.get("container"))
    if not (pod.get("spec") or {}).get("nodeName"):
        raise st.ApiError(st.bad_request(f"pod {name} does not have a host assigned"))
    if not ch.is_websocket(request):
        raise st.ApiError(st.bad_request("Upgrade request required"))
    want = {c: query.get(n) in _TRUE for c, n in ((ch.STDIN, "stdin"), (ch.STDOUT, "stdout"), (ch.STDERR, "stderr"))}
    if not argv:
        raise st.ApiError(st.bad_request("you must specify at least 1 command"))
    if not any(want.values()):
        raise st.ApiError(st.bad_request("you must specify at least 1 of stdin, stdout, stderr"))

    offer = ch.offered(request)
    translated = standin.exec_v5 and offer is not None and ch.V5 in offer
    protocol = ch.negotiate(offer, ch.TRANSLATOR_EXEC if translated else ch.KUBELET_EXEC)
    if protocol is None:
        return web.Response(status=403)
    running = container_running(pod, container)
    if not running and not translated:
        # The kubelet refuses the upgrade; the API server passes its bare text through.
        return web.Response(status=500, text=f'container not found ("{container}")')

    record = ExecRecord(namespace, name, container, list(argv), protocol)
    standin._record_exec(record)
    ws = web.WebSocketResponse(protocols=(protocol,) if protocol else (), timeout=3.0)
    await ws.prepare(request)
    sock = ch.ChannelSocket(ws, protocol)
    reader = asyncio.ensure_future(_read_client(sock, record))
    with standin._tracking(request):
        try:
            first = ch.STDOUT if want[ch.STDOUT] else ch.STDERR if want[ch.STDERR] else ch.ERROR
            await sock.send(first)  # tells the client the streams are up
            if await misbehave(sock, request, reader, fault):
                pass
            elif hang:  # an injected hang: the command never prints nor ends
                await reader
            else:
                if running:
                    reply = await standin._run_exec_handler(namespace, name, container, list(argv))
                else:  # the translator's SPDY dial to the kubelet was refused
                    reply = ExecReply(exit_code=None, status=_bare(st.internal_error(
                        f'unable to upgrade connection: container not found ("{container}")')))
                await _play(sock, reader, record, reply, want, int(standin.version.split(".")[1]))
        except (ConnectionError, RuntimeError):
            pass  # the client went away mid-session
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            if not ws.closed:
                await ws.close()  # sends the close frame, waits for the client's
    return ws


async def _play(sock: ch.ChannelSocket, reader: asyncio.Future, record: ExecRecord, reply: ExecReply,
                want: dict[int, bool], kubelet_minor: int = 30) -> None:
    """Output, then the status on channel 3 -- unless the client leaves first or the reply hangs."""
    if reply.delay:
        try:
            await asyncio.wait_for(asyncio.shield(reader), timeout=reply.delay)
        except asyncio.TimeoutError:
            pass
    if reader.done():
        return
    if want[ch.STDOUT] and reply.stdout:
        await sock.send(ch.STDOUT, reply.stdout)
    if want[ch.STDERR] and reply.stderr:
        await sock.send(ch.STDERR, reply.stderr)
    if reply.hang:
        await reader  # until the client gives up
        return
    record.status = _status_for(sock.protocol, record.argv, reply, kubelet_minor)
    if isinstance(record.status, dict):
        await sock.send(ch.ERROR, json.dumps(record.status, separators=(",", ":")).encode())
    elif record.status:
        await sock.send(ch.ERROR, record.status.encode())


def _status_for(protocol: str, argv: list[str], reply: ExecReply, kubelet_minor: int = 30) -> dict | str | None:
    if reply.status is not None:
        body: dict | None = reply.status
    elif reply.runtime_error is not None:
        body = runtime_error_status(protocol, reply.runtime_error)
    elif reply.exit_code is None:
        return None
    else:
        body = exit_status(protocol, argv, reply.exit_code, kubelet_minor)
    if protocol in (ch.V4, ch.V4_BASE64, ch.V5):
        return body
    # Legacy protocols carry only the error text, and nothing on success.
    return None if body.get("status") == "Success" else body.get("message", "")


async def _read_client(sock: ch.ChannelSocket, record: ExecRecord) -> None:
    """Collect stdin and v5 close signals until the client closes."""
    async for msg in sock.ws:
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            break
        decoded = sock.decode(msg)
        if decoded is None:
            continue
        channel, data = decoded
        if channel == ch.CLOSE and sock.protocol == ch.V5:
            record.closed_channels.extend(data[:1])
        elif channel == ch.STDIN:
            record.stdin += data
