"""One request to the API server, bounded and explained.

Every reader of a live cluster (the per-student source, the class-wide
read, the CoreDNS lookup, watches, the observer) sends its GETs through
these: a wall-clock deadline that cuts the socket, a cap on the body, a
small retry budget for 429/5xx, and one wording of what went wrong that
names no exception class and carries no credential. Kept apart from
:mod:`grader.sources.live` so that the DNS probes and the class reader can use them
without importing the source that in turn uses them.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable

from grader import redact
from grader.i18n import Text

RETRY_STATUSES = {429, 500, 502, 503, 504}
REQUEST_TIMEOUT = (5.0, 10.0)  # connect, read: per socket operation
#: Seconds one LIST (all its pages and retries) or GET may take in all, on
#: the wall clock, whatever the server does (a body dripped a byte at a time).
REQUEST_DEADLINE = 12.0
#: Bytes one response page may hold (500 items of a sane cluster are far below).
MAX_BODY = 64 * 1024 * 1024
#: What all the pages of one LIST may hold together: a server that hands out
#: continue tokens without end cannot fill the memory (parsed, a byte of JSON
#: is up to 25 bytes of Python objects, so bytes alone do not bound it: items too).
MAX_LIST_BYTES = 2 * MAX_BODY
MAX_LIST_ITEMS = 100_000


class KindFailure(Exception):
    def __init__(self, reason: Text):
        super().__init__(reason.en)
        self.reason = reason


def bounded(fn: Callable[[], Any], seconds: float) -> Any:
    """``fn()`` under one wall-clock deadline that cuts its sockets."""
    from grader.sources.deadline import Deadline, DeadlineExceeded

    with Deadline(seconds) as d:
        try:
            return fn()
        except KindFailure:
            raise
        except Exception:
            if d.expired:
                raise DeadlineExceeded(seconds) from None
            raise


def read_capped(resp: Any, limit: int, what: str) -> bytes:
    """A urllib3 response body, refusing more than ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in resp.stream(256 * 1024, decode_content=True):
            size += len(chunk)
            if size > limit:
                raise KindFailure(Text(f"API server 的回答超过 {limit // (1024 * 1024)} MB，未读取",
                                       f"the API server's answer is larger than {limit // (1024 * 1024)} MB; not read"))
            chunks.append(chunk)
    finally:
        resp.release_conn()
    return b"".join(chunks)


class ListBudget:
    """What one paginated LIST may cost, whatever continue tokens the server
    hands out: :data:`MAX_LIST_BYTES` and :data:`MAX_LIST_ITEMS` over all its
    pages, never the same token twice (a list that goes round in a circle),
    and, when ``seconds`` is given, no page asked for after that long (for a
    LIST whose pages each have a deadline of their own). Every reader that
    follows ``continue`` (the live source, the watches' LIST, the class-wide
    read) counts its pages here; a LIST over budget is :class:`KindFailure`."""

    def __init__(self, what: str, seconds: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.what = what
        self.seconds = seconds
        self.clock = clock
        self.until = clock() + seconds if seconds is not None else None
        self.bytes = self.items = self.pages = 0
        self._tokens: set[str] = set()

    def page(self, data: bytes) -> None:
        """A page came (before it is parsed)."""
        self.pages += 1
        self.bytes += len(data)
        if self.bytes > MAX_LIST_BYTES:
            mb = MAX_LIST_BYTES // (1024 * 1024)
            raise KindFailure(Text(f"API server 返回的 {self.what} 列表共超过 {mb} MB（{self.pages} 页），未读取",
                                   f"the API server's list of {self.what} is larger than {mb} MB in all "
                                   f"({self.pages} pages); not read"))

    def follow(self, token: Any, items: int) -> None:
        """The parsed page held ``items`` and asks for the page at ``token``."""
        self.items += items
        if self.items > MAX_LIST_ITEMS:
            raise KindFailure(Text(f"API server 返回的 {self.what} 超过 {MAX_LIST_ITEMS} 个（{self.pages} 页），未读取",
                                   f"the API server listed more than {MAX_LIST_ITEMS} {self.what} objects "
                                   f"({self.pages} pages); not read"))
        key = str(token)
        if key in self._tokens:
            raise KindFailure(Text(f"API server 的 {self.what} 列表没有尽头（第 {self.pages} 页的 continue 令牌之前出现过），未读取",
                                   f"the API server's list of {self.what} never ends (page {self.pages} repeats an "
                                   "earlier continue token); not read"))
        self._tokens.add(key)
        if self.until is not None and self.seconds is not None and self.clock() >= self.until:
            raise self.unfinished(self.seconds)

    def may_follow(self, token: Any) -> bool:
        """Whether a page at ``token`` is one :meth:`follow` could still allow
        (a token not followed before, the time not up): a reader asking for the
        next page early asks for none the budget would refuse."""
        return str(token) not in self._tokens and (self.until is None or self.clock() < self.until)

    def unfinished(self, seconds: float) -> KindFailure:
        """The LIST's time ran out after some pages came: the server answers, its list does not end."""
        return KindFailure(Text(f"API server 的 {self.what} 列表在 {seconds:g} 秒内没有读完（已收到 {self.pages} 页），未读取",
                                f"the API server's list of {self.what} did not end within {seconds:g} s "
                                f"({self.pages} pages came); not read"))


def one_line(s: str, limit: int = 300) -> str:
    """A server's or an exception's words on one line, masked before they are
    cut (a credential cut in half is no longer found whole: grader/redact.py)."""
    s = redact.text(" ".join(s.split()))
    return s if len(s) <= limit else s[:limit] + "…"


def status_reason(exc: Any) -> tuple[int, str]:
    """Status code and the server's own message, from an ApiException."""
    message = exc.reason or ""
    try:
        body = json.loads(exc.body) if exc.body else {}
        message = body.get("message") or message
    except (ValueError, TypeError, AttributeError):
        pass
    return int(exc.status or 0), one_line(str(message))


@dataclass
class Retry:
    """Back off on 429/5xx and broken connections, honouring Retry-After,
    within a small budget so a sick API server cannot stall a class."""

    attempts: int = 4
    base: float = 0.25
    cap: float = 8.0
    sleep: Callable[[float], None] = time.sleep

    def call(self, fn: Callable[[], Any]) -> Any:
        from kubernetes.client.exceptions import ApiException
        import urllib3

        from grader.sources.deadline import DeadlineExceeded, current

        bound = current()  # the request's total deadline, if one is armed: never sleep past it
        for attempt in range(self.attempts):
            last = attempt == self.attempts - 1
            try:
                return fn()
            except ApiException as exc:
                if exc.status not in RETRY_STATUSES or last:
                    raise
                delay = self._retry_after(exc) or self.base * 2 ** attempt
                failure: BaseException | None = exc
            except (urllib3.exceptions.HTTPError, OSError, DeadlineExceeded):
                if last or (bound is not None and bound.expired):
                    raise
                delay = self.base * 2 ** attempt
                failure = None
            delay = min(delay, self.cap)
            if bound is not None and delay >= bound.left():
                if isinstance(failure, ApiException):
                    raise failure  # the server's own answer (429 with a long Retry-After), not "no answer"
                raise DeadlineExceeded(bound.seconds)
            self.sleep(delay)
        raise AssertionError("unreachable")

    @staticmethod
    def _retry_after(exc: Any) -> float | None:
        value = (exc.headers or {}).get("Retry-After") if exc.headers else None
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


def explain_failure(exc: BaseException, what: str, server: str | None = None) -> Text:
    """A student-safe, token-free reason for a request that failed: the
    server's own words for an HTTP answer, the cause in words (never an
    exception class name) for one that did not come."""
    from kubernetes.client.exceptions import ApiException

    from grader.sources.unreachable import CAUSES, cause

    if isinstance(exc, KindFailure):
        return exc.reason
    if isinstance(exc, ApiException) and exc.status:
        code, message = status_reason(exc)
        message = redact.text(message)
        if code == 401:
            return Text(f"读取 {what} 时认证失败（401）：凭据无效或已过期", f"unauthorized reading {what} (401): the credentials were rejected")
        if code == 403:
            return Text(f"没有权限读取 {what}（403 RBAC）：{message}", f"forbidden to read {what} (403, RBAC; see deploy/rbac.yaml): {message}")
        if code == 404:
            return Text(f"集群不提供 {what}（404）", f"the cluster does not serve {what} (404)")
        return Text(f"读取 {what} 失败（{code}）：{message}", f"reading {what} failed ({code}): {message}")
    why = CAUSES.get(cause(exc) or "network", CAUSES["network"])
    at = f" {server}" if server else ""
    return Text(f"无法连接 API server{at} 读取 {what}：{why.zh}", f"cannot reach the API server{at} to read {what}: {why.en}")
