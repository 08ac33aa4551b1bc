"""The channel.k8s.io websocket framing shared by exec and port-forward.

Every message starts with one channel byte (binary protocols) or one ASCII
digit followed by base64 (the ``base64.`` variants).  Sub-protocol choice
follows ``wsstream`` on the kubelet and the API server: the *client's*
order wins, the first offered protocol the server supports is used, no
header at all means the unnamed legacy protocol, and an offer with nothing
supported is refused with 403 during the handshake.
"""
from __future__ import annotations

import base64

from aiohttp import WSMsgType, web

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
V4_BASE64 = "v4.base64.channel.k8s.io"
V1 = "channel.k8s.io"
V1_BASE64 = "base64.channel.k8s.io"

# What the kubelet's exec websocket handler accepts (pkg/kubelet/cri/streaming/remotecommand/websocket.go).
KUBELET_EXEC = (V1, V1_BASE64, V4, V4_BASE64)
# The API server's stream translator (1.30+) accepts only v5 and proxies the rest to the kubelet.
TRANSLATOR_EXEC = (V5,)
# The kubelet's port-forward websocket handler.
KUBELET_PORTFORWARD = (V4, V4_BASE64)

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def offered(request: web.Request) -> list[str] | None:
    header = request.headers.get("Sec-WebSocket-Protocol")
    if header is None:
        return None
    return [p.strip() for p in header.split(",") if p.strip()]


def negotiate(offer: list[str] | None, supported: tuple[str, ...]) -> str | None:
    """The protocol wsstream would pick; "" for no header, None for no overlap."""
    if offer is None:
        return ""
    return next((p for p in offer if p in supported), None)


def is_websocket(request: web.Request) -> bool:
    return (request.headers.get("Upgrade", "").lower() == "websocket"
            and "upgrade" in request.headers.get("Connection", "").lower())


class ChannelSocket:
    """Send and decode channel frames on an upgraded websocket."""

    def __init__(self, ws: web.WebSocketResponse, protocol: str):
        self.ws = ws
        self.protocol = protocol
        self.binary = not protocol.startswith(("base64.", "v4.base64."))

    async def send(self, channel: int, data: bytes = b"") -> None:
        if self.binary:
            await self.ws.send_bytes(bytes([channel]) + data)
        else:
            await self.ws.send_str(chr(ord("0") + channel) + base64.b64encode(data).decode())

    def decode(self, msg) -> tuple[int, bytes] | None:
        if msg.type == WSMsgType.BINARY and msg.data:
            return msg.data[0], bytes(msg.data[1:])
        if msg.type == WSMsgType.TEXT and msg.data:
            if self.binary:
                raw = msg.data.encode()
                return raw[0], raw[1:]
            return ord(msg.data[0]) - ord("0"), base64.b64decode(msg.data[1:])
        return None
