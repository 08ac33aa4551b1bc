"""Read cluster state from ``kubectl get ... -o yaml|json`` output.

Accepts what people really have on disk: a ``kind: List`` (what kubectl
prints for several kinds at once), a typed list (``PodList``) as the API
returns it, a single object, multi-document YAML, JSON, a folder of such
files, and labgrade's own bundle (``kind: Snapshot``) that also carries probe
results and the phase it was taken in.  Any of it malformed is an
:class:`InputError` naming the file, never a traceback.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from grader import kinds
from grader.sources import dumpread
from grader.sources.dumpread import Dropped, Keep
from grader.errors import InputError
from grader.sources.gcpause import paused_gc
from grader.view import ClusterView, DnsResult, ExecResult, Obj, build_view, dns_key, exec_key

#: The loader every labgrade YAML file goes through (C when libyaml is there;
#: no timestamps, no NaN): see grader/sources/dumpread.py.
_Loader: Any = dumpread.Loader

BUNDLE_API = "labgrade/v1"
BUNDLE_KIND = "Snapshot"
SUFFIXES = (".yaml", ".yml", ".json")
# kubectl writes deprecation warnings to stderr; a dump made with 2>&1 starts with them.
_NOISE = re.compile(r"^(Warning: |[WEIF]\d{4} \d\d:\d\d:\d\d)")


@dataclass
class Snapshot:
    objects: list[Obj] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    probes: dict[str, ExecResult | DnsResult] = field(default_factory=dict)
    phase: str | None = None
    collected_at: str | None = None
    namespace: str | None = None
    files: list[str] = field(default_factory=list)
    # each labgrade bundle in the file on its own, by phase (a state file has several)
    bundles: dict[str, "Snapshot"] = field(default_factory=dict)

    def view(self, *, location: str = "", phase: str = "") -> ClusterView:
        return build_view(
            self.objects,
            kinds=self.kinds,
            location=location or ", ".join(self.files),
            phase=phase or self.phase or "",
            collected_at=self.collected_at,
            probes=dict(self.probes),
        )


def load(path: str | os.PathLike[str], keep: Keep | None = None) -> Snapshot:
    """Load a dump file or a folder of dump files. With ``keep``, only the
    objects it wants are kept (every kind listed still counts as listed),
    so memory follows the lab's namespace, not the cluster."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES)
        if not files:
            raise InputError(str(p), "folder holds no .yaml, .yml or .json files")
    elif p.is_file():
        files = [p]
    elif p.exists():
        raise InputError(str(p), "not a regular file or folder")
    else:
        raise InputError(str(p), "no such file or folder")
    snap = Snapshot()
    for f in files:
        _merge(snap, load_file(f, keep))
    if not snap.objects and not snap.kinds:
        raise InputError(str(p), "holds no Kubernetes objects (empty dump?)")
    snap.objects = _dedupe(snap.objects)
    return snap


def load_file(path: Path, keep: Keep | None = None) -> Snapshot:
    loc = str(path)
    try:
        dumpread.check_size(path.stat().st_size, loc)
        # kubectl's own List layout is read line by line, keeping only what is wanted.
        streamed = dumpread.stream_file(path, loc, keep) if keep is not None else None
        if streamed is not None:
            snap = Snapshot(files=[loc])
            _take_document(snap, streamed[0], loc, 0, 1)
            if not snap.objects and not snap.kinds:
                raise InputError(loc, "holds no Kubernetes objects (empty dump?)")
            return snap
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(loc, f"cannot read: {exc.strerror or exc}") from None
    text = dumpread.decode(raw, loc)
    del raw  # the text is what is kept from here on
    with paused_gc():  # building the objects allocates a lot and frees nothing: the collector only slows it
        docs = parse_documents(text, loc, keep)
    del text
    snap = Snapshot(files=[loc])
    for n, doc in enumerate(docs):
        _take_document(snap, doc, loc, n, len(docs))
    if not snap.objects and not snap.kinds:
        raise InputError(loc, "holds no Kubernetes objects (empty dump?)")
    return snap


def _skip_noise(text: str) -> tuple[str, int]:
    """The text after kubectl's stderr warnings (a dump made with 2>&1), and
    how many lines were skipped; lazily, as the text may be 100 MB."""
    pos = skipped = 0
    while pos < len(text):
        nl = text.find("\n", pos)
        line = text[pos: nl + 1 if nl >= 0 else len(text)]
        if not _NOISE.match(line):
            break
        skipped += 1
        pos += len(line)
    return (text[pos:] if pos else text), skipped


def parse_documents(text: str, loc: str, keep: Keep | None = None) -> list[Any]:
    body, skipped = _skip_noise(text)
    if not body.strip():
        raise InputError(loc, "is empty")
    dumpread.reject_table(body, loc, kinds.dump_command(kinds.DEFAULT_READS))
    if body.lstrip()[:1] in "{[":
        return dumpread.json_documents(body, loc, skipped, keep)
    if keep is not None:
        streamed = dumpread.stream_list(body, loc, keep, skipped)
        if streamed is not None:
            return streamed
    return dumpread.yaml_documents(body, loc, skipped)


def _take_document(snap: Snapshot, doc: Any, loc: str, n: int, total: int) -> None:
    where = f"document {n + 1}: " if total > 1 else ""
    if isinstance(doc, Dropped):  # a single object the rubric does not need: its kind was still listed
        snap.kinds.add(doc.kind)
        return
    if isinstance(doc, list):
        items = doc
        list_kind = ""
    elif isinstance(doc, dict):
        kind = doc.get("kind")
        if doc.get("apiVersion") == BUNDLE_API and kind == BUNDLE_KIND:
            _take_bundle(snap, doc, loc)
            return
        if "items" in doc:
            if not isinstance(kind, str) or not kind.endswith("List"):
                raise InputError(loc, f"{where}has 'items' but no 'kind: List' after them; the dump looks truncated")
            items = doc["items"] if doc["items"] is not None else []
            if not isinstance(items, list):
                raise InputError(loc, f"{where}'items' is not a list")
            list_kind = kinds.item_kind(kind) or ""
            if list_kind:
                snap.kinds.add(list_kind)
        elif isinstance(kind, str):
            items = [doc]
            list_kind = ""
        else:
            raise InputError(loc, f"{where}is not a Kubernetes object or list (no 'kind')")
    else:
        raise InputError(loc, f"{where}is not a Kubernetes object or list (a {type(doc).__name__})")
    for i, item in enumerate(items):
        if isinstance(item, Dropped):
            snap.kinds.add(item.kind)
            continue
        snap.objects.append(_check_object(item, list_kind, loc, f"{where}item {i + 1}"))
        snap.kinds.add(snap.objects[-1]["kind"])


def _check_object(item: Any, list_kind: str, loc: str, where: str) -> Obj:
    if not isinstance(item, dict):
        raise InputError(loc, f"{where} is not a Kubernetes object (a {type(item).__name__})")
    if "kind" not in item and list_kind:
        item = {**item, "kind": list_kind}
    kind = item.get("kind")
    meta = item.get("metadata")
    if not isinstance(kind, str) or not kind:
        raise InputError(loc, f"{where} has no 'kind'")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        raise InputError(loc, f"{where} ({kind}) has no metadata.name; truncated?")
    for key in ("spec", "status"):
        if key in item and item[key] is not None and not isinstance(item[key], dict):
            raise InputError(loc, f"{where} ({kind} {meta['name']}) has a malformed {key}")
    return item


def _take_bundle(whole: Snapshot, doc: dict[str, Any], loc: str) -> None:
    snap = Snapshot()
    _fill_bundle(snap, doc, loc)
    _merge(whole, snap)
    if snap.phase:
        whole.bundles[snap.phase] = snap


def _fill_bundle(snap: Snapshot, doc: dict[str, Any], loc: str) -> None:
    meta = doc.get("metadata") or {}
    if not isinstance(meta, dict):
        raise InputError(loc, "bundle metadata is not a mapping")
    snap.phase = meta.get("phase") or snap.phase
    snap.collected_at = meta.get("collectedAt") or snap.collected_at
    snap.namespace = meta.get("namespace") or snap.namespace
    kinds = meta.get("kinds") or []
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise InputError(loc, "bundle metadata.kinds must be a list of kind names")
    snap.kinds.update(kinds)
    items = doc.get("items") or []
    if not isinstance(items, list):
        raise InputError(loc, "bundle 'items' is not a list")
    for i, item in enumerate(items):
        if isinstance(item, Dropped):
            snap.kinds.add(item.kind)
            continue
        snap.objects.append(_check_object(item, "", loc, f"item {i + 1}"))
        snap.kinds.add(snap.objects[-1]["kind"])
    for i, probe in enumerate(doc.get("probes") or []):
        result = probe_from_dict(probe, loc, i)
        key = dns_key(result.qname, result.rdtype) if isinstance(result, DnsResult) else exec_key(result.namespace, result.pod, result.argv)
        snap.probes[key] = result


def probe_from_dict(d: Any, loc: str = "", i: int = 0) -> ExecResult | DnsResult:
    try:
        if d["type"] == "exec":
            return ExecResult(
                argv=tuple(str(a) for a in d["argv"]), stdout=str(d.get("stdout") or ""),
                stderr=str(d.get("stderr") or ""), exit_code=d.get("exitCode"),
                failure=d.get("failure"), duration=float(d.get("duration") or 0),
                pod=str(d["pod"]), namespace=str(d["namespace"]), container=d.get("container"),
            )
        if d["type"] == "dns":
            return DnsResult(
                qname=str(d["qname"]), rdtype=str(d.get("rdtype") or "A"), rcode=d.get("rcode"),
                answers=tuple(str(a) for a in d.get("answers") or ()), failure=d.get("failure"),
                server=str(d.get("server") or ""), duration=float(d.get("duration") or 0),
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(loc, f"probe {i + 1} is malformed ({exc})") from None
    raise InputError(loc, f"probe {i + 1} has unknown type {d.get('type')!r}")


def _merge(into: Snapshot, part: Snapshot) -> None:
    into.objects.extend(part.objects)
    into.kinds |= part.kinds
    into.probes.update(part.probes)
    into.files.extend(part.files)
    into.bundles.update(part.bundles)
    for attr in ("phase", "collected_at", "namespace"):
        if getattr(into, attr) is None:
            setattr(into, attr, getattr(part, attr))


def _dedupe(objects: Iterable[Obj]) -> list[Obj]:
    """The same object listed twice (two overlapping dumps in a folder) is
    kept once: the copy with the highest resourceVersion."""
    seen: dict[tuple[str, str], Obj] = {}
    out: list[Obj] = []
    for obj in objects:
        meta = obj["metadata"]
        uid = meta.get("uid")
        if not uid:
            out.append(obj)
            continue
        key = (obj["kind"], uid)
        prev = seen.get(key)
        if prev is None:
            seen[key] = obj
        elif _rv(obj) > _rv(prev):
            seen[key] = obj
    return out + list(seen.values())


def _rv(obj: Obj) -> int:
    try:
        return int(obj["metadata"].get("resourceVersion") or 0)
    except (TypeError, ValueError):
        return 0


def keep_for(rubric: Any, namespace: str) -> Keep:
    """What a rubric's checks read in lab ``namespace`` (grader/reads.py):
    the kinds they list or get, in that namespace and the namespaces of the
    single objects they get (``Service:default/kubernetes``)."""
    from grader.reads import rubric_reads

    lists, gets = kinds.plan(rubric_reads(rubric), namespace)
    spaces = {namespace} | {g.namespace for g in gets if g.namespace}
    return Keep(frozenset(spaces), frozenset(lists) | frozenset(g.kind for g in gets))


def load_all(paths: list[str | os.PathLike[str]], rubric: Any, namespace: str | None) -> list[Snapshot]:
    """Load the dumps of one grading, keeping only what ``rubric`` reads in
    ``namespace`` (else the namespace a labgrade bundle among them records,
    else the rubric's): memory follows the lab, not the cluster."""
    guess = namespace or rubric.namespace
    snaps = [load(p, keep_for(rubric, guess)) for p in paths]
    recorded = next((s.namespace for s in snaps if s.namespace), None)
    if namespace is None and recorded and recorded != guess:
        snaps = [load(p, keep_for(rubric, recorded)) for p in paths]
    return snaps
