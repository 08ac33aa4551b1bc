"""Injected failures: the weather a grader meets on real clusters.

A :class:`Fault` matches requests by method and a path regex and fires a
given number of times (or forever).  It can delay the request, answer with
an error status (429 with ``Retry-After``, 403 worded like RBAC, 500...),
drop the connection without any response, or make an exec hang; and the
slow-motion failures that defeat per-read socket timeouts: an upgrade never
answered (``hang``), a body sent a byte at a time (``drip``), a websocket
frame dripped a byte at a time (``frame_drip``), exec output without end
(``flood``), an exec stream cut without an exit status (``cut``), and a
LIST whose pages never end (``endless_pages``: every page's continue token
the same, or a new one each page).  Faults are
checked in the order they were added and the first live one that matches
wins, so "fail twice, then succeed" is one ``add(..., times=2)``.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field


@dataclass
class Fault:
    """One injected behaviour.  ``times=None`` means every matching request."""

    method: str = "*"
    path: str = ".*"
    times: int | None = 1
    status: int | None = None
    message: str | None = None
    retry_after: int | str | None = None
    plain_text: bool = False
    delay: float = 0.0
    drop: bool = False
    exec_hang: bool = False
    hang: bool = False  # accept the request and never answer it (nor an upgrade)
    drip: float = 0.0  # send the response body one byte every `drip` seconds
    frame_drip: float = 0.0  # exec: after the upgrade, send a frame one byte every `frame_drip` seconds
    flood: int = 0  # exec: after the upgrade, send stdout frames of this many bytes, without end
    cut: bool = False  # exec: send some output, then drop the TCP connection (no status)
    endless_pages: str = ""  # LIST: "same" (one continue token on every page) or "new" (a fresh token each page)
    hits: int = 0
    _pattern: re.Pattern = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._pattern = re.compile(self.path)
        self.method = self.method.upper()
        if self.status == 429 and self.retry_after is None:
            self.retry_after = 1

    @property
    def live(self) -> bool:
        return self.times is None or self.hits < self.times

    def matches(self, method: str, path: str) -> bool:
        return self.live and self.method in ("*", method.upper()) and self._pattern.search(path) is not None


class Faults:
    """The fault list of one stand-in; safe to edit from the test thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, method: str = "*", path: str = ".*", *, times: int | None = 1, status: int | None = None,
            message: str | None = None, retry_after: int | str | None = None, plain_text: bool = False,
            delay: float = 0.0, drop: bool = False, exec_hang: bool = False, hang: bool = False,
            drip: float = 0.0, frame_drip: float = 0.0, flood: int = 0, cut: bool = False,
            endless_pages: str = "") -> Fault:
        """Add a fault; ``path`` is a regex searched in the URL path (anchor it yourself).

        ``plain_text=True`` answers like the API server's own throttling filters
        (max-in-flight, priority and fairness), which write
        ``Too many requests, please try again later.`` as text/plain rather
        than a Status.
        """
        fault = Fault(method=method, path=path, times=times, status=status, message=message,
                      retry_after=retry_after, plain_text=plain_text, delay=delay, drop=drop, exec_hang=exec_hang,
                      hang=hang, drip=drip, frame_drip=frame_drip, flood=flood, cut=cut,
                      endless_pages=endless_pages)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The fault that applies to this request, counted as a hit."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def __iter__(self):
        with self._lock:
            return iter(list(self._faults))

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)
