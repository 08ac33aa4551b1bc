"""Turn a dump's bytes into documents, safely and in bounded memory.

A dump is whatever a student hands in, so reading one must survive a
hostile or merely odd file with one line naming the problem:

* files over :data:`MAX_DUMP_MB` are refused before they are read;
* YAML aliases may add at most :data:`ALIAS_BUDGET` nodes (a "billion
  laughs" in one label took 2.1 GB before a MemoryError), and recursive
  aliases are refused;
* nesting beyond what Python can walk (1000-level JSON) is one line, not a
  RecursionError traceback;
* NaN and Infinity (which kubectl never writes) are refused with the line;
  unquoted YAML timestamps stay the strings the API serves, as kubectl's
  own quoted output would;
* a file that is neither UTF-8 nor BOM-marked UTF-16 is named as such
  (Latin-1 was misread as UTF-16 and reported as bad YAML);
* ``kubectl get pods`` table output is recognised and the ``-o yaml``
  command shown.

And a large dump costs memory proportional to what the rubric needs: with a
:class:`Keep`, kubectl's ``-o yaml``/``-o json`` List is read from the file
line by line (:func:`stream_file`), cut into items, and only the items of
the kept namespaces and kinds are parsed; other shapes are read whole
(YAML Lists still cut into items as text, JSON dropped while decoding). 50k
pods of other namespaces cost a scan and ~35 MB, not 8 GB.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import yaml

from grader.errors import InputError

try:  # the C loader is ~10x faster on a whole-cluster dump
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Base = yaml.SafeLoader

#: Largest dump file read, in MiB (a 50k-pod cluster dumps to ~150 MiB of YAML, ~270 MiB of JSON).
MAX_DUMP_MB = 512
#: Nodes YAML aliases may add to a document beyond the ones written out.
ALIAS_BUDGET = 10_000
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _BadValue(yaml.YAMLError):
    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.message = message
        self.line = line


class Loader(_Base):  # type: ignore[misc, valid-type]
    """The safe loader, minus timestamp resolution and NaN/Infinity."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != TIMESTAMP_TAG]
        for first, resolvers in _Base.yaml_implicit_resolvers.items()
    }


def _construct_float(loader: Any, node: Any) -> float:
    value = yaml.constructor.SafeConstructor.construct_yaml_float(loader, node)
    if math.isnan(value) or math.isinf(value):
        raise _BadValue(f"holds the number {node.value!r} (NaN or infinity), which no Kubernetes object has; "
                        "not a kubectl dump", node.start_mark.line + 1)
    return value


Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)


@dataclass(frozen=True)
class Keep:
    """Which objects of a dump are kept: kinds (None: all) and namespaces
    (None: all); cluster-scoped objects are kept whatever the namespaces."""

    namespaces: frozenset[str] | None = None
    kinds: frozenset[str] | None = None

    def wants(self, kind: str, namespace: str | None) -> bool:
        from grader import kinds as kind_table

        if self.kinds is not None and kind not in self.kinds:
            return False
        if self.namespaces is None or namespace is None or not kind_table.is_namespaced(kind):
            return True
        return namespace in self.namespaces


@dataclass(frozen=True)
class Dropped:
    """An item of a kept kind's List that was not kept (its kind was listed)."""

    kind: str


# -- bytes to text -------------------------------------------------------------------

def check_size(size: int, loc: str) -> None:
    if size > MAX_DUMP_MB * 1024 * 1024:
        raise InputError(loc, f"is {size / (1024 * 1024):.0f} MB, over the {MAX_DUMP_MB} MB labgrade reads from one "
                              "dump; dump only the lab's namespace (kubectl get ... -n NS -o yaml)")


def decode(raw: bytes, loc: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # PowerShell's `>` writes UTF-16 with a BOM
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(loc, "is not UTF-8 text: it starts like UTF-16 but is not valid UTF-16") from None
    if b"\0" in raw[:4096] and _looks_utf16(raw):  # UTF-16 without a BOM (NULs are valid UTF-8)
        try:
            return raw.decode("utf-16-le" if raw[1:2] == b"\0" else "utf-16-be")
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(loc, "is not UTF-8 text (Latin-1 or another legacy encoding?); kubectl writes UTF-8, "
                              "so re-create the dump with kubectl, or save it as UTF-8", line) from None


def _looks_utf16(raw: bytes) -> bool:
    """UTF-16 without a BOM: ASCII text with a NUL in every other byte."""
    sample = raw[:4096]
    if len(sample) < 4:
        return False
    odd, even = sample[1::2], sample[0::2]
    return odd.count(0) > 0.9 * len(odd) or even.count(0) > 0.9 * len(even)


_TABLE = re.compile(r"^(NAMESPACE\s+)?NAME\s{2,}\S")


def reject_table(text: str, loc: str, dump_command: str) -> None:
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    if _TABLE.match(first):
        raise InputError(loc, "looks like kubectl's table output (kubectl get pods), which has no objects to grade; "
                              f"dump them as YAML: {dump_command} > FILE", 1)


# -- text to documents -----------------------------------------------------------------

def yaml_documents(body: str, loc: str, skipped: int = 0) -> list[Any]:
    """Every non-empty document of ``body``, through :class:`Loader`, with
    the alias budget enforced before anything is constructed."""
    loader = Loader(body)
    docs: list[Any] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if "&" in body:
                check_aliases(node)
            doc = loader.construct_document(node)
            if doc is not None:
                docs.append(doc)
    except _BadValue as exc:
        raise InputError(loc, exc.message, exc.line + skipped if exc.line else None) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + skipped if mark else None
        if "nesting depth" in str(exc.problem or ""):
            raise InputError(loc, "is nested too deeply to be a Kubernetes object (hundreds of levels); "
                                  "not a kubectl dump", line) from None
        raise InputError(loc, f"not valid YAML ({exc.problem or exc.context}); truncated or not a kubectl dump?", line) from None
    except yaml.reader.ReaderError as exc:  # a character YAML refuses (NUL, most C0 controls): where it is
        code = exc.character if isinstance(exc.character, int) else ord(exc.character or "\0")
        line = body.count("\n", 0, exc.position) + 1 + skipped
        raise InputError(loc, f"not valid YAML (the control character U+{code:04X} is not allowed); "
                              "not a kubectl dump, or a damaged file?", line) from None
    except yaml.YAMLError as exc:
        raise InputError(loc, f"not valid YAML ({' '.join(str(exc).split())[:200]})") from None
    except RecursionError:
        raise InputError(loc, "is nested too deeply to be a Kubernetes object (hundreds of levels); not a kubectl dump") from None
    finally:
        loader.dispose()
    return docs


def check_aliases(root: Any) -> None:
    """Refuse a node graph whose aliases would expand it by more than
    :data:`ALIAS_BUDGET` nodes, or that refers to itself."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] - len(sizes) > ALIAS_BUDGET:
                raise _BadValue(f"uses YAML aliases that would expand it by more than {ALIAS_BUDGET} nodes "
                                "(an alias bomb?); kubectl never writes aliases", node.start_mark.line + 1)
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise _BadValue("holds a YAML alias that refers to itself; kubectl never writes aliases", node.start_mark.line + 1)
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    return []


def _no_constants(name: str) -> Any:
    raise _BadValue(f"holds {name}, which JSON does not allow and no Kubernetes object has; not a kubectl dump", None)


def json_documents(body: str, loc: str, skipped: int = 0, keep: Keep | None = None) -> list[Any]:
    """Every JSON document in ``body`` (kubectl run twice into one file
    gives several back to back); with ``keep``, objects it does not want
    become :class:`Dropped` as soon as they are decoded."""
    hook = _dropping_hook(keep) if keep is not None else None
    decoder = json.JSONDecoder(parse_constant=_no_constants, object_hook=hook)
    docs: list[Any] = []
    pos = 0
    while True:
        while pos < len(body) and body[pos].isspace():
            pos += 1
        if pos >= len(body):
            return docs
        try:
            doc, pos = decoder.raw_decode(body, pos)
        except json.JSONDecodeError as exc:
            raise InputError(loc, f"not valid JSON ({exc.msg}, column {exc.colno}); truncated?", exc.lineno + skipped) from None
        except _BadValue as exc:
            raise InputError(loc, exc.message) from None
        except RecursionError:
            raise InputError(loc, "is nested too deeply to be a Kubernetes object (hundreds of levels); not a kubectl dump") from None
        docs.append(doc)


def _dropping_hook(keep: Keep) -> Callable[[dict[str, Any]], Any]:
    def hook(d: dict[str, Any]) -> Any:
        kind, meta = d.get("kind"), d.get("metadata")
        if isinstance(kind, str) and isinstance(meta, dict) and "apiVersion" in d and "name" in meta \
                and not kind.endswith("List"):
            ns = meta.get("namespace")
            if not keep.wants(kind, ns if isinstance(ns, str) else None):
                return Dropped(kind)
        return d
    return hook


# -- kubectl's List, item by item ---------------------------------------------------

_ITEM_START = re.compile(r"^- ", re.M)
_ITEMS_END = re.compile(r"\n(?=[^ \n-])")
_KIND = re.compile(r"^(?:- |  )kind: *(.*?) *$", re.M)
_META = re.compile(r"^(?:- |  )metadata:[ ]*$", re.M)
_META_END = re.compile(r"\n(?=(?:- |  )?\S)")
_NAMESPACE = re.compile(r"^    namespace: *(.*?) *$", re.M)
_PLAIN = re.compile(r"^[A-Za-z0-9._-]+$")


def _scalar(value: str) -> str | None:
    """A plain or simply quoted scalar's text, None when unsure."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value if _PLAIN.match(value) else None


def _peek(chunk: str) -> tuple[str | None, str | None, bool]:
    """(kind, namespace, sure) of one List item's text, without parsing it."""
    m = _KIND.search(chunk)
    kind = _scalar(m.group(1)) if m else None
    meta = _META.search(chunk)
    if kind is None or meta is None:
        return kind, None, False
    end = _META_END.search(chunk, meta.end())
    block = chunk[meta.end(): end.start() if end else len(chunk)]
    ns = _NAMESPACE.search(block)
    if ns is None:
        return kind, None, True
    namespace = _scalar(ns.group(1))
    return kind, namespace, namespace is not None


def stream_list(text: str, loc: str, keep: Keep, skipped: int = 0) -> list[Any] | None:
    """kubectl's ``-o yaml`` List as ``[{"kind": "List", "items": [...]}]``
    with only the items ``keep`` wants parsed (the others are
    :class:`Dropped`), or None when the text is not in kubectl's exact
    shape (then it is parsed whole)."""
    if not text.startswith("apiVersion: v1\nitems:\n- ") or "\n---" in text:
        return None
    start = len("apiVersion: v1\nitems:\n")
    end_match = _ITEMS_END.search(text, start)
    if end_match is None:
        return None
    items_end = end_match.start() + 1
    tail = text[items_end:]
    starts = [m.start() for m in _ITEM_START.finditer(text, start, items_end)]
    if not starts or starts[0] != start:
        return None
    items: list[Any] = []
    line = 3 + skipped
    bounds = starts + [items_end]
    for a, b in zip(bounds, bounds[1:]):
        chunk = text[a:b]
        kind, namespace, sure = _peek(chunk)
        if sure and kind is not None and not keep.wants(kind, namespace):
            items.append(Dropped(kind))
        else:
            parsed = yaml_documents(chunk, loc, line - 1)
            if len(parsed) != 1 or not isinstance(parsed[0], list) or len(parsed[0]) != 1:
                return None
            items.append(parsed[0][0])
        line += chunk.count("\n")
    rest = yaml_documents("apiVersion: v1\n" + tail, loc, line - 2)
    if len(rest) != 1 or not isinstance(rest[0], dict) or "items" in rest[0]:
        return None
    return [{**rest[0], "items": items}]


def dropped_kinds(items: Iterable[Any]) -> set[str]:
    return {i.kind for i in items if isinstance(i, Dropped)}


__all__ = ["ALIAS_BUDGET", "MAX_DUMP_MB", "Dropped", "Keep", "Loader", "check_size", "decode", "json_documents",
           "reject_table", "stream_list", "yaml_documents"]


# -- straight from the file, line by line ----------------------------------------------

_YAML_HEAD = "apiVersion: v1\nitems:\n- "
_JSON_HEAD = '{\n    "apiVersion": "v1",\n    "items": [\n        {\n'
_J_KIND = re.compile(r'^            "kind": "(.*)",?$', re.M)
_J_META = re.compile(r'^            "metadata": \{$', re.M)
_J_META_END = re.compile(r"^            \},?$", re.M)
_J_NAMESPACE = re.compile(r'^                "namespace": "(.*)",?$', re.M)


def _peek_json(chunk: str) -> tuple[str | None, str | None, bool]:
    m = _J_KIND.search(chunk)
    kind = _scalar(m.group(1)) if m else None
    meta = _J_META.search(chunk)
    if kind is None or meta is None:
        return kind, None, False
    end = _J_META_END.search(chunk, meta.end())
    block = chunk[meta.end(): end.start() if end else len(chunk)]
    ns = _J_NAMESPACE.search(block)
    if ns is None:
        return kind, None, True
    namespace = _scalar(ns.group(1))
    return kind, namespace, namespace is not None


def stream_file(path: Any, loc: str, keep: Keep) -> list[Any] | None:
    """kubectl's ``-o yaml`` or ``-o json`` List read line by line from the
    file, only the items ``keep`` wants parsed: memory is one item plus what
    is kept, whatever the dump's size. None when the file is not in
    kubectl's exact shape (the caller then reads it whole, which also gives
    the precise error for a broken one)."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(_JSON_HEAD)).decode("utf-8", "replace")
        if head.startswith(_YAML_HEAD):
            return _stream(path, loc, keep, yaml_shape=True)
        if head.startswith(_JSON_HEAD):
            return _stream(path, loc, keep, yaml_shape=False)
    except (OSError, UnicodeDecodeError):
        return None
    return None


def _stream(path: Any, loc: str, keep: Keep, *, yaml_shape: bool) -> list[Any] | None:
    items: list[Any] = []
    chunk: list[str] = []
    chunk_line = 0
    tail: list[str] = []
    tail_line = 0  # the file's line where the List's own fields after its items start
    in_items = True

    def flush() -> bool:
        if not chunk:
            return True
        text = "".join(chunk)
        kind, namespace, sure = (_peek if yaml_shape else _peek_json)(text)
        if sure and kind is not None and not keep.wants(kind, namespace):
            items.append(Dropped(kind))
        elif yaml_shape:
            parsed = yaml_documents(text, loc, chunk_line - 1)
            if len(parsed) != 1 or not isinstance(parsed[0], list) or len(parsed[0]) != 1:
                return False
            items.append(parsed[0][0])
        else:
            parsed = json_documents(text.rstrip().rstrip(","), loc, chunk_line - 1)
            if len(parsed) != 1:
                return False
            items.append(parsed[0])
        chunk.clear()
        return True

    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not in_items:
                tail_line = tail_line or n
                tail.append(line)
                continue
            if yaml_shape:
                if n <= 2:
                    continue
                if line.startswith("- "):
                    if not flush():
                        return None
                    chunk_line = n
                elif line[:1] not in (" ", "\n", ""):
                    if not flush():
                        return None
                    in_items = False
                    tail_line = n
                    tail.append(line)
                    continue
                chunk.append(line)
            else:
                if n <= 3:
                    continue
                if line in ("        {\n",) and not chunk:
                    chunk_line = n
                    chunk.append(line)
                elif line in ("        }\n", "        },\n"):
                    chunk.append(line)
                    if not flush():
                        return None
                elif line == "    ],\n" and not chunk:
                    in_items = False
                elif not chunk:
                    return None  # not kubectl's layout after all
                else:
                    chunk.append(line)
    if in_items or chunk:
        return None  # truncated: let the whole-file path say so precisely
    # One line stands before the tail in what is parsed: errors name the file's own lines.
    skipped = max(tail_line - 2, 0)
    if yaml_shape:
        rest = yaml_documents("apiVersion: v1\n" + "".join(tail), loc, skipped)
    else:
        rest = json_documents("{\n" + "".join(tail), loc, skipped)
    if len(rest) != 1 or not isinstance(rest[0], dict) or "items" in rest[0]:
        return None
    return [{**rest[0], "apiVersion": "v1", "items": items}]
