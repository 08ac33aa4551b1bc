"""Byte relays that carry the API server's port out of the cluster's network namespace.

The test process (and a person's shell) live in the host namespace, the cluster in its own.
A Unix socket is reachable from both, so two tiny relays do it without any route between the
namespaces: inside the netns ``unix -> 127.0.0.1:6443``, outside ``127.0.0.1:<port> -> unix``.
Nothing here listens on anything but loopback and a socket file in the harness's directory.

    python -m tests.realcluster.relay unix-to-tcp SOCKET HOST PORT      (run inside the netns)
    python -m tests.realcluster.relay tcp-to-unix PORTFILE SOCKET       (host side; writes its port)
"""

from __future__ import annotations

import asyncio
import os
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


def _splice(open_peer):
    async def handle(reader, writer):
        try:
            peer_reader, peer_writer = await open_peer()
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, peer_writer), _pipe(peer_reader, writer))
    return handle


async def unix_to_tcp(sock: str, host: str, port: int) -> None:
    if os.path.exists(sock):
        os.unlink(sock)
    server = await asyncio.start_unix_server(_splice(lambda: asyncio.open_connection(host, port)), path=sock)
    async with server:
        await server.serve_forever()


async def tcp_to_unix(portfile: str, sock: str) -> None:
    server = await asyncio.start_server(_splice(lambda: asyncio.open_unix_connection(sock)), host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, portfile)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> int:
    if argv[:1] == ["unix-to-tcp"] and len(argv) == 4:
        asyncio.run(unix_to_tcp(argv[1], argv[2], int(argv[3])))
    elif argv[:1] == ["tcp-to-unix"] and len(argv) == 3:
        asyncio.run(tcp_to_unix(argv[1], argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
