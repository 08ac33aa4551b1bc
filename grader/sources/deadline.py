"""One wall-clock deadline per request, enforced on the socket itself.

Socket timeouts bound one ``recv``, not a request: a LIST body sent one
byte every 5 s, a websocket frame dripped a byte a second, or headers that
never end each satisfy every per-read timeout and hang the grader forever.
``websocket.setdefaulttimeout`` does not reach sockets a library made
itself, and it is process-wide, a race between batch workers.

A :class:`Deadline` is armed around one operation (a LIST with its
retries, an exec, a port-forwarded DNS question). Sockets used for it are
registered with :meth:`Deadline.watch` (for urllib3 connections this
happens by itself: :func:`install` gives an ``ApiClient``'s pool manager
connection pools that register each connection they hand out on the
current thread's deadline). When the time is up the watchdog shuts those
sockets down, which makes a blocked ``recv`` return at once; the caller
then sees :attr:`Deadline.expired` and reports a timeout, never a hang.

One watchdog thread serves every deadline of the process (a heap of due
times): a class on one cluster arms thousands of them, and a timer thread
each was a thread started and torn down per exec and per DNS question.
"""
from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from typing import Any, Callable

_current = threading.local()


class DeadlineExceeded(Exception):
    """The operation's deadline passed; its sockets were shut down."""

    def __init__(self, seconds: float):
        super().__init__(f"no complete answer within {seconds:g} s")
        self.seconds = seconds


def _shutdown(sock: Any) -> None:
    """Shut a socket down for both directions without touching an
    ``SSLSocket``'s state (which another thread may be reading)."""
    if sock is None:
        return
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, TypeError, ValueError):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError, ValueError):
            pass


class _Watchdog:
    """The one thread that fires due deadlines, started on first use.

    A deadline that ends in time is only marked done: its heap entry is
    dropped when it comes up (or at once if it is first), so arming and
    ending one costs a heap push and a flag, not a thread.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, "Deadline"]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: "Deadline", delay: float) -> None:
        due = time.monotonic() + delay
        with self._cond:
            heapq.heappush(self._heap, (due, next(self._seq), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="labgrade-deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is deadline:
                self._cond.notify()  # due before whatever the watchdog sleeps towards

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    while self._heap and self._heap[0][2].done:
                        heapq.heappop(self._heap)
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        deadline = heapq.heappop(self._heap)[2]
                        break
                    self._cond.wait(self._heap[0][0] - now if self._heap else None)
            deadline._fire()  # outside the lock: shutting sockets down may take a moment


_watchdog = _Watchdog()


def _after_fork() -> None:
    """A forked child has no watchdog thread, and its lock may have been
    held by one at the fork: it starts afresh (its parent's deadlines are not its own)."""
    global _watchdog
    _watchdog = _Watchdog()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


class Deadline:
    """``with Deadline(seconds) as d:`` bounds everything inside it."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self.at = clock() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._watched: list[Any] = []
        #: The operation ended (or the deadline fired): the watchdog forgets it.
        self.done = False
        self._outer: Deadline | None = None

    def left(self) -> float:
        return max(self.at - self.clock(), 0.0)

    def watch(self, thing: Any) -> None:
        """Cut ``thing`` (a socket, or an object with ``.sock``) at the deadline."""
        with self._lock:
            if self.expired:
                _shutdown(getattr(thing, "sock", thing))
                return
            self._watched.append(thing)

    def _fire(self) -> None:
        with self._lock:
            if self.done:
                return  # ended just as it came due
            self.done = self.expired = True
            watched = list(self._watched)
        for thing in watched:
            _shutdown(getattr(thing, "sock", thing))

    def __enter__(self) -> "Deadline":
        _watchdog.arm(self, max(self.at - self.clock(), 0.0))
        self._outer = getattr(_current, "deadline", None)
        _current.deadline = self
        return self

    def __exit__(self, *exc: object) -> None:
        _current.deadline = self._outer
        with self._lock:
            self.done = True
            self._watched.clear()


def current() -> Deadline | None:
    return getattr(_current, "deadline", None)


def install(api: Any) -> Any:
    """Make ``api`` (a ``kubernetes`` ApiClient) register the connection of
    every request on the calling thread's :class:`Deadline`. Idempotent."""
    pm = getattr(getattr(api, "rest_client", None), "pool_manager", None)
    if pm is None or getattr(pm, "_labgrade_deadlines", False):
        return api
    pm.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
    pm._labgrade_deadlines = True
    return api


def _pools() -> tuple[type, type]:
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class HTTPPool(HTTPConnectionPool):
        def _get_conn(self, timeout: float | None = None) -> Any:
            conn = super()._get_conn(timeout)
            d = current()
            if d is not None:
                d.watch(conn)
            return conn

    class HTTPSPool(HTTPSConnectionPool):
        def _get_conn(self, timeout: float | None = None) -> Any:
            conn = super()._get_conn(timeout)
            d = current()
            if d is not None:
                d.watch(conn)
            return conn

    return HTTPPool, HTTPSPool


_HTTPPool, _HTTPSPool = _pools()

__all__ = ["Deadline", "DeadlineExceeded", "current", "install"]
