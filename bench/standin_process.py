"""The stand-in API server in a process of its own, for benchmarks.

A real API server does not share the grader's interpreter: run in-process,
the stand-in's event loop (JSON encoding, websockets, the DNS model) would
compete with the grader for one GIL and the figures would measure both.
The child builds the cluster, serves it on 127.0.0.1 (https with a
throwaway CA from trustme when asked, like a real server), writes a
kubeconfig, and answers a few commands over a pipe: the request counts,
clearing them, its own CPU seconds, stopping.
"""
from __future__ import annotations

import multiprocessing as mp
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]


def _tls(folder: Path) -> tuple[str, str, str]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    key, chain, ca_path = folder / "tls.key", folder / "tls.crt", folder / "ca.crt"
    cert.private_key_pem.write_to_path(str(key))
    chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    ca.cert_pem.write_to_path(str(ca_path))
    return str(chain), str(key), str(ca_path)


def classify(path: str) -> str:
    """A request's kind for the counts: a LIST (cluster-wide or in one namespace), a GET, a probe."""
    from tests.standin.server import parse_resource_path

    target = parse_resource_path(path.rstrip("/"))
    if target is None:
        return "other"
    if target.subresource in ("exec", "portforward"):
        return target.subresource
    if target.name:
        return "get"
    return "list (one namespace)" if target.namespace else "list (cluster-wide)"


def _serve(conn: Any, build: Callable[[], list[dict]], latency: float, tls: bool, folder: str,
           anonymous_kubectl: bool) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.standin import StandIn

    objects = build()
    server = StandIn(objects, latency=latency, tls=_tls(Path(folder)) if tls else None).start()
    if anonymous_kubectl:
        # kubectl (client-go) sends no bearer token over plain http: let it in for the kubectl half
        server._authenticate = lambda request: None
    kubeconfig = server.kubeconfig_path(Path(folder))
    conn.send((str(kubeconfig), server.url, len(objects)))
    while True:
        cmd = conn.recv()
        if cmd == "stop":
            server.stop()
            conn.send("stopped")
            return
        if cmd == "clear":
            server.clear_requests()
            conn.send("ok")
        elif cmd == "cpu":
            import resource

            usage = resource.getrusage(resource.RUSAGE_SELF)
            conn.send(usage.ru_utime + usage.ru_stime)
        elif cmd == "counts":
            counts: Counter[str] = Counter()
            paths: Counter[str] = Counter()
            for r in server.requests:
                what = classify(r.path)
                counts[what] += 1
                if what == "list (cluster-wide)":
                    paths[r.path] += 1
            conn.send((dict(counts), dict(paths)))


class StandInProcess:
    """``with StandInProcess(build, latency=0.02, tls=True, folder=tmp) as s: s.kubeconfig``.

    ``build`` runs in the child (a module-level function, picklable), so the
    parent never holds the cluster's objects.
    """

    def __init__(self, build: Callable[[], list[dict]], *, folder: Path, latency: float = 0.02, tls: bool = True,
                 anonymous_kubectl: bool = False):
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, build, latency, tls, str(folder), anonymous_kubectl),
                                 daemon=True)
        self.kubeconfig = self.url = ""
        self.objects = 0

    def __enter__(self) -> "StandInProcess":
        self._proc.start()
        self.kubeconfig, self.url, self.objects = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._conn.send("stop")
            self._conn.recv()
        finally:
            self._proc.join(timeout=10)
            if self._proc.is_alive():
                self._proc.terminate()

    def clear(self) -> None:
        self._conn.send("clear")
        self._conn.recv()

    def cpu(self) -> float:
        """CPU seconds the stand-in's process has used: on a small machine it
        competes with the grader for the same cores, so a bench says how much."""
        self._conn.send("cpu")
        return self._conn.recv()

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        self._conn.send("counts")
        return self._conn.recv()
