"""``pods/portforward`` over websockets, as the kubelet frames it.

The API server proxies the upgrade to the kubelet (the stream translator
only handles exec/attach; the SPDY-over-websocket tunnel of 1.31+ is a
different sub-protocol, ``SPDY/3.1+portforward.k8s.io``, not offered here).
The kubelet accepts ``v4.channel.k8s.io`` (and its base64 twin, or no
sub-protocol at all).  Port *i* of the ``ports`` query gets data channel
``2*i`` and error channel ``2*i+1``; the first frame on each carries the
port as 2 bytes little-endian.  A failure to reach the port is written as
text on its error channel.

Behind port 53 of a DNS pod (label ``k8s-app=kube-dns`` by default) sits the
stand-in's CoreDNS model speaking DNS over TCP; anything else is refused.
"""
from __future__ import annotations

import asyncio
import struct
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from tests.standin import channels as ch
from tests.standin import status as st
from tests.standin.coredns import TcpDnsStream
from tests.standin.exec_model import fake_exec_id
from tests.standin.exec_ws import pod_for_stream

if TYPE_CHECKING:  # pragma: no cover
    from tests.standin.server import StandIn


def parse_ports(values: list[str]) -> list[int]:
    if not values:
        raise st.ApiError(st.bad_request('query parameter "port" is required'))
    ports: list[int] = []
    for value in values:
        for part in value.split(","):
            try:
                port = int(part)
            except ValueError:
                raise st.ApiError(st.bad_request(f'unable to parse "{part}" as a port: strconv.ParseUint: parsing "{part}": invalid syntax'))
            if not 0 < port < 65536:
                raise st.ApiError(st.bad_request(f'port "{part}" must be > 0'))
            ports.append(port)
    return ports


def refused_message(pod: dict, port: int) -> str:
    """kubelet + containerd wording for a port nothing listens on (sandbox id is made up)."""
    sandbox = fake_exec_id("sandbox", pod["metadata"].get("namespace"), pod["metadata"]["name"])
    netns = f"/var/run/netns/cni-{sandbox[:8]}-{sandbox[8:12]}-{sandbox[12:16]}-{sandbox[16:20]}-{sandbox[20:32]}"
    return (f"error forwarding port {port} to pod {sandbox}, uid : failed to execute portforward in network "
            f'namespace "{netns}": failed to connect to localhost:{port} inside namespace "{sandbox}", '
            f"IP: [127.0.0.1] : dial tcp 127.0.0.1:{port}: connect: connection refused ")


async def serve_portforward(standin: "StandIn", request: web.Request, namespace: str, name: str,
                            fault=None) -> web.StreamResponse:
    pod = pod_for_stream(standin, namespace, name)
    if not (pod.get("spec") or {}).get("nodeName"):
        raise st.ApiError(st.bad_request(f"pod {name} does not have a host assigned"))
    if not ch.is_websocket(request):
        raise st.ApiError(st.bad_request("Upgrade request required"))
    ports = parse_ports(request.query.getall("ports", []))
    protocol = ch.negotiate(ch.offered(request), ch.KUBELET_PORTFORWARD)
    if protocol is None:
        return web.Response(status=403)

    ws = web.WebSocketResponse(protocols=(protocol,) if protocol else (), timeout=3.0)
    await ws.prepare(request)
    sock = ch.ChannelSocket(ws, protocol)
    streams: dict[int, TcpDnsStream] = {}
    try:
        with standin._tracking(request):
            for i, port in enumerate(ports):
                prefix = struct.pack("<H", port)
                await sock.send(2 * i, prefix)
                await sock.send(2 * i + 1, prefix)
            if fault is not None and fault.frame_drip:  # an answer frame dripped a byte at a time
                from tests.standin.exec_ws import misbehave

                await misbehave(sock, request, asyncio.get_running_loop().create_future(), fault)
                return ws
            for i, port in enumerate(ports):
                if standin._serves_dns(pod) and port == 53:
                    streams[2 * i] = TcpDnsStream(lambda: standin.dns)
                else:
                    await sock.send(2 * i + 1, refused_message(pod, port).encode())
            async for msg in ws:
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
                decoded = sock.decode(msg)
                if decoded is None:
                    continue
                channel, data = decoded
                stream = streams.get(channel)
                if stream is not None and data:
                    reply = stream.feed(data)
                    if reply:
                        await sock.send(channel, reply)
    except (ConnectionError, RuntimeError):
        pass  # the client went away
    finally:
        if not ws.closed:
            await ws.close()
    return ws
