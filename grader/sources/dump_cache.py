"""One class dump, parsed once for every roster row that points at it.

A course that dumps its shared cluster once (``kubectl get ... -A -o
json``) and lists every student's namespace against that file used to have
the file re-parsed for each student: 200 rows on one JSON dump cost 71 s,
50 rows on YAML 109 s. Here a file read by two or more rows is parsed once,
keeping what the rubric reads in the namespaces of all those rows, its
objects are indexed by namespace, and each student gets a snapshot cut
from that index holding exactly what :func:`grader.sources.snapshot.load_all`
would have kept for their namespace alone, so the verdicts are the same.

The cache is keyed on the resolved path with the file's mtime and size (a
folder: of every dump file in it): a dump rewritten during the batch is
parsed again. A file read by one row only, and a labgrade bundle that
records a namespace of its own for a row without one, take the plain path.
"""
from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from grader.sources import snapshot
from grader.sources.dumpread import Keep
from grader.sources.gcpause import paused_gc
from grader.view import Obj


def file_key(path: Path) -> tuple[Any, ...]:
    """What identifies one version of a dump: the path, and mtime and size of it
    (or of each dump file in a folder). OSError: let the loader say what is wrong."""
    p = path.resolve()
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in snapshot.SUFFIXES)
        return (str(p), tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files))
    st = p.stat()
    return (str(p), st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class IndexedDump:
    """A parsed dump and its objects by namespace (cluster-scoped under None)."""

    snap: snapshot.Snapshot
    by_namespace: dict[str | None, list[tuple[int, Obj]]]

    @classmethod
    def of(cls, snap: snapshot.Snapshot) -> "IndexedDump":
        from grader import kinds

        index: dict[str | None, list[tuple[int, Obj]]] = {}
        for i, obj in enumerate(snap.objects):
            ns = obj.get("metadata", {}).get("namespace") if kinds.is_namespaced(obj.get("kind", "")) else None
            index.setdefault(ns, []).append((i, obj))
        return cls(snap, index)

    def cut(self, keep: Keep) -> snapshot.Snapshot:
        """The snapshot a load with ``keep`` would have given (same objects, same order)."""
        spaces: Iterable[str | None] = (None, *sorted(keep.namespaces)) if keep.namespaces is not None \
            else self.by_namespace.keys()
        picked = [(i, obj) for ns in spaces for i, obj in self.by_namespace.get(ns, ())
                  if keep.wants(obj.get("kind", ""), obj.get("metadata", {}).get("namespace"))]
        picked.sort(key=lambda pair: pair[0])
        return dataclasses.replace(self.snap, objects=[obj for _, obj in picked])


class DumpCache:
    """The dumps of a roster: each file read by several rows parsed once.

    ``uses`` maps each dump path to the lab namespaces of the rows that read
    it (a row without a namespace counts as the rubric's).
    """

    def __init__(self, rubric: Any, uses: dict[Path, set[str]]):
        self.rubric = rubric
        self.uses = uses
        self._lock = threading.Lock()
        self._locks: dict[tuple[Any, ...], threading.Lock] = {}
        self._parsed: dict[tuple[Any, ...], IndexedDump] = {}
        self.parses = 0  # files parsed into the cache, for tests and benchmarks

    @classmethod
    def for_roster(cls, rubric: Any, entries: Iterable[Any]) -> "DumpCache":
        uses: dict[Path, set[str]] = {}
        for entry in entries:
            for path in entry.dumps.values():
                uses.setdefault(Path(path), set()).add(entry.namespace or rubric.namespace)
        return cls(rubric, uses)

    def shared(self, path: Path) -> bool:
        return len(self.uses.get(Path(path), ())) >= 2

    def load_all(self, paths: list[Path], namespace: str | None) -> list[snapshot.Snapshot]:
        """What :func:`snapshot.load_all` gives for one row, from the cache where it can."""
        if not any(self.shared(p) for p in paths):
            with paused_gc():
                return snapshot.load_all(paths, self.rubric, namespace)
        guess = namespace or self.rubric.namespace
        keep = snapshot.keep_for(self.rubric, guess)
        snaps = [self._indexed(p).cut(keep) if self.shared(p) else self._load(p, keep) for p in paths]
        recorded = next((s.namespace for s in snaps if s.namespace), None)
        if namespace is None and recorded and recorded != guess:  # a bundle that says whose lab it is
            with paused_gc():
                return snapshot.load_all(paths, self.rubric, namespace)
        return snaps

    @staticmethod
    def _load(path: Path, keep: Keep) -> snapshot.Snapshot:
        with paused_gc():
            return snapshot.load(path, keep)

    def _indexed(self, path: Path) -> IndexedDump:
        try:
            key = file_key(Path(path))
        except OSError:
            return IndexedDump.of(self._load(path, Keep()))  # the loader names the problem
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # the other rows of this file wait for the one parse
            found = self._parsed.get(key)
            if found is None:
                keep = self._union(Path(path))
                found = self._parsed[key] = IndexedDump.of(self._load(path, keep))
                self.parses += 1
        return found

    def _union(self, path: Path) -> Keep:
        """Everything any row of ``path`` keeps: the kinds the rubric reads, in all their namespaces."""
        spaces: set[str] = set()
        wanted: set[str] = set()
        for ns in sorted(self.uses.get(path, ())):
            keep = snapshot.keep_for(self.rubric, ns)
            spaces |= keep.namespaces or set()
            wanted |= keep.kinds or set()
        return Keep(frozenset(spaces), frozenset(wanted))

