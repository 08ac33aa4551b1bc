"""``?watch=1`` on a collection: a stream of watch events, as the API server sends them.

One JSON object per line, ``{"type": ..., "object": ...}``, over a chunked
200 response:

- from ``resourceVersion`` R (what a LIST returned), the changes since the
  snapshot at R: ADDED, MODIFIED, DELETED, each object carrying the
  resourceVersion of the state it belongs to; with no resourceVersion (or
  ``0``), first an ADDED for every object there is now;
- ``allowWatchBookmarks=true``: a BOOKMARK (an object with only
  ``metadata.resourceVersion``) every :attr:`StandIn.bookmark_interval`
  seconds while nothing changes, so a client can resume from a recent
  version after a reconnect;
- R older than the store keeps (after :meth:`StandIn.compact`): one ERROR
  event with a ``410 Expired`` Status ("too old resource version"), then the
  end of the stream, which tells a client to LIST again;
- ``timeoutSeconds``: the stream ends after that long, as the server's own
  watch timeout does.

The store changes by whole snapshots (:meth:`StandIn.set_objects`), so the
stream compares each new snapshot with the last one it sent (ignoring the
objects' own resourceVersion) and polls for new ones every 20 ms.
Selectors (labelSelector, fieldSelector) filter events as they filter LISTs.
"""
from __future__ import annotations

import asyncio
import copy
import json
import time
from typing import TYPE_CHECKING, Any, Callable

from aiohttp import web

from tests.standin import status as st
from tests.standin.resources import Resource
from tests.standin.selectors import SelectorError, field_matcher, label_matcher

if TYPE_CHECKING:  # pragma: no cover
    from tests.standin.server import StandIn

POLL = 0.02
Obj = dict[str, Any]


def _select(snap: Any, res: Resource, namespace: str | None, matchers: list[Callable[[Obj], bool]]) -> dict[str, Obj]:
    out = {}
    for key, obj in snap.by_plural.get(res.plural, ()):
        if namespace is not None and obj["metadata"].get("namespace") != namespace:
            continue
        if all(m(obj) for m in matchers):
            out[key] = obj
    return out


def _same(a: Obj, b: Obj) -> bool:
    strip = lambda o: {**o, "metadata": {k: v for k, v in o["metadata"].items() if k != "resourceVersion"}}  # noqa: E731
    return strip(a) == strip(b)


def _event(kind: str, obj: Obj, rv: int, res: Resource) -> bytes:
    item = copy.deepcopy(obj)
    item["apiVersion"] = res.group_version
    item["kind"] = res.kind
    item.setdefault("metadata", {})["resourceVersion"] = str(rv)
    return (json.dumps({"type": kind, "object": item}, separators=(",", ":")) + "\n").encode()


async def serve_watch(standin: "StandIn", request: web.Request, res: Resource, namespace: str | None) -> web.StreamResponse:
    query = request.query
    try:
        matchers = [label_matcher(query.get("labelSelector")), field_matcher(query.get("fieldSelector"))]
    except SelectorError as e:
        raise st.ApiError(st.bad_request(str(e)))
    raw_rv = query.get("resourceVersion") or ""
    bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
    try:
        timeout = float(query.get("timeoutSeconds") or standin.watch_timeout)
        start_rv = int(raw_rv) if raw_rv not in ("", "0") else None
    except ValueError:
        raise st.ApiError(st.bad_request(f"invalid resourceVersion or timeoutSeconds: {raw_rv!r}"))

    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json", "Cache-Control": "no-cache, private"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    store = standin._store
    with standin._tracking(request):
        try:
            current = store.current
            if start_rv is None:
                sent: dict[str, Obj] = {}
                sent_rv = None
            else:
                base = store.at(start_rv)
                if base is None and start_rv < current.resource_version:
                    status = st.status(410, f"too old resource version: {start_rv} ({current.resource_version})",
                                       reason="Expired", details={})
                    await resp.write((json.dumps({"type": "ERROR", "object": status}) + "\n").encode())
                    await resp.write_eof()
                    return resp
                base = base or current
                sent, sent_rv = _select(base, res, namespace, matchers), base.resource_version
            deadline = time.monotonic() + timeout
            last_write = time.monotonic()
            while time.monotonic() < deadline:
                current = store.current
                if current.resource_version != sent_rv:
                    now = _select(current, res, namespace, matchers)
                    rv = current.resource_version
                    chunks = [_event("DELETED", obj, rv, res) for key, obj in sent.items() if key not in now]
                    chunks += [_event("ADDED", obj, rv, res) for key, obj in now.items() if key not in sent]
                    chunks += [_event("MODIFIED", obj, rv, res) for key, obj in now.items()
                               if key in sent and not _same(obj, sent[key])]
                    if chunks:
                        await resp.write(b"".join(chunks))
                        last_write = time.monotonic()
                    sent, sent_rv = now, rv
                elif bookmarks and time.monotonic() - last_write >= standin.bookmark_interval:
                    mark = {"kind": res.kind, "apiVersion": res.group_version,
                            "metadata": {"resourceVersion": str(sent_rv)}}
                    await resp.write((json.dumps({"type": "BOOKMARK", "object": mark}) + "\n").encode())
                    last_write = time.monotonic()
                await asyncio.sleep(POLL)
            await resp.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client went away
    return resp
