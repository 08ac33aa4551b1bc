"""Cluster state as the API server keeps it: versioned, sorted, paginated.

Each :meth:`ObjectStore.replace` is one write to "etcd": it gets a new
resourceVersion and an immutable :class:`Snapshot`.  Lists come back in
etcd key order (``namespace/name``, bytewise), and a ``continue`` token
pins the snapshot it was cut from, so a paginated read stays consistent
across a :meth:`~ObjectStore.replace` just like the real server's -- until
:meth:`ObjectStore.compact` drops old snapshots, after which an old token is
answered ``410 Expired`` with a fresh token in the Status, as after an etcd
compaction.
"""
from __future__ import annotations

import base64
import binascii
import copy
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from tests.standin import status as st
from tests.standin.resources import RESOURCES, Resource, resource_of_object
from tests.standin.selectors import SelectorError, field_matcher, label_matcher

Obj = dict[str, Any]
_UID_NS = uuid.UUID("6f1c4a8e-2d1b-4f7e-9a55-0c3b7e1d2a90")
FIRST_RESOURCE_VERSION = 1000


def _key(res: Resource, obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if res.namespaced else meta["name"]


@dataclass(frozen=True)
class Snapshot:
    """All objects at one resourceVersion, per resource, sorted by etcd key."""

    resource_version: int
    by_plural: dict[str, tuple[tuple[str, Obj], ...]] = field(default_factory=dict)
    by_key: dict[str, dict[str, Obj]] = field(default_factory=dict)

    def objects(self, plural: str) -> list[Obj]:
        return [obj for _, obj in self.by_plural.get(plural, ())]

    def get(self, plural: str, namespace: str | None, name: str) -> Obj | None:
        key = f"{namespace}/{name}" if namespace is not None else name
        return self.by_key.get(plural, {}).get(key)


def flatten(objects: Iterable[Obj]) -> list[Obj]:
    """Accept what ``kubectl get -o json`` prints: items, ``List``s and typed lists."""
    out: list[Obj] = []
    for obj in objects:
        if not isinstance(obj, dict):
            raise TypeError(f"objects must be dicts, got {type(obj).__name__}")
        kind = obj.get("kind", "")
        if kind.endswith("List") and "items" in obj:
            item_kind = kind[: -len("List")] if kind != "List" else None
            for item in obj.get("items") or []:
                if item_kind and "kind" not in item:
                    item = {**item, "kind": item_kind, "apiVersion": obj.get("apiVersion", "v1")}
                out.extend(flatten([item]))
        else:
            out.append(obj)
    return out


class ObjectStore:
    """Thread-safe holder of the current snapshot and its history."""

    def __init__(self, objects: Iterable[Obj] = ()):
        self._lock = threading.Lock()
        self._history: dict[int, Snapshot] = {}
        self._next_rv = FIRST_RESOURCE_VERSION
        self.ignored: list[Obj] = []
        self.current = self.replace(objects)

    def replace(self, objects: Iterable[Obj]) -> Snapshot:
        with self._lock:
            rv = self._next_rv
            self._next_rv += 1
            snap = self._build(rv, flatten(objects))
            self._history[rv] = snap
            self.current = snap
            return snap

    def compact(self) -> None:
        """Forget every snapshot but the current one (old continue tokens expire)."""
        with self._lock:
            self._history = {self.current.resource_version: self.current}

    def at(self, rv: int) -> Snapshot | None:
        with self._lock:
            return self._history.get(rv)

    def _build(self, rv: int, objects: list[Obj]) -> Snapshot:
        self.ignored = []
        table: dict[str, dict[str, Obj]] = {r.plural: {} for r in RESOURCES}
        for original in objects:
            res = resource_of_object(original)
            if res is None:
                self.ignored.append(original)
                continue
            obj = copy.deepcopy(original)
            obj["apiVersion"] = res.group_version
            meta = obj.setdefault("metadata", {})
            if "name" not in meta:
                raise ValueError(f"{res.kind} without metadata.name: {original!r:.200}")
            if res.namespaced:
                meta.setdefault("namespace", "default")
            else:
                meta.pop("namespace", None)
            # A real object always has these; tests and hand-written dumps often don't.
            meta.setdefault("uid", str(uuid.uuid5(_UID_NS, f"{res.kind}/{_key(res, obj)}")))
            meta.setdefault("resourceVersion", str(rv))
            table[res.plural][_key(res, obj)] = obj
        return Snapshot(rv, {plural: tuple(sorted(objs.items())) for plural, objs in table.items()}, table)

    # Reads -----------------------------------------------------------------

    def list(self, res: Resource, namespace: str | None, query: dict[str, str]) -> dict[str, Any]:
        """The body of a LIST, honouring selectors, ``limit`` and ``continue``."""
        try:
            matchers: list[Callable[[Obj], bool]] = [label_matcher(query.get("labelSelector")),
                                                     field_matcher(query.get("fieldSelector"))]
        except SelectorError as e:
            raise st.ApiError(st.bad_request(str(e)))
        limit = _int_param(query, "limit")
        token = query.get("continue")
        snap, start = self.current, None
        if token:
            if query.get("resourceVersion"):
                raise st.ApiError(st.bad_request("specifying resource version is not allowed when using continue"))
            rv, start = decode_continue(token)
            pinned = self.at(rv)
            if pinned is None:
                raise st.ApiError(st.expired_continue(encode_continue(self.current.resource_version, start)))
            snap = pinned
        selected: list[tuple[str, Obj]] = []
        for key, obj in snap.by_plural.get(res.plural, ()):
            if namespace is not None and obj["metadata"].get("namespace") != namespace:
                continue
            if start is not None and key <= start:
                continue
            if all(m(obj) for m in matchers):
                selected.append((key, obj))
        meta: dict[str, Any] = {"resourceVersion": str(snap.resource_version)}
        if limit and len(selected) > limit:
            page = selected[:limit]
            meta["continue"] = encode_continue(snap.resource_version, page[-1][0])
            if not query.get("labelSelector") and not query.get("fieldSelector"):
                meta["remainingItemCount"] = len(selected) - limit
            selected = page
        return {"kind": res.list_kind, "apiVersion": res.group_version, "metadata": meta,
                "items": [_as_list_item(obj) for _, obj in selected]}


def _as_list_item(obj: Obj) -> Obj:
    # The real server leaves kind/apiVersion off list items; clients fill them in.
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def _int_param(query: dict[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise st.ApiError(st.bad_request(f'strconv.ParseInt: parsing "{raw}": invalid syntax'))
    return value if value > 0 else None


def encode_continue(rv: int, start_key: str) -> str:
    """Same shape as the apiserver's token: base64url(JSON{v, rv, start})."""
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start_key + "\x00"}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if data.get("v") != "meta.k8s.io/v1":
            raise ValueError("version")
        rv, start = int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError):
        raise st.ApiError(st.bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))
    return rv, start.rstrip("\x00")
