"""Keep credentials out of everything a person or an LMS reads.

The grader holds secrets (a bearer token, a token file's contents, a client
key, what an exec credential plugin printed, a basic-auth password), and
the libraries under it put request details into exception text: the
``kubernetes`` client raised ``Invalid header value b'Bearer T\\n'`` for a
token file ending in a newline, and that text became every check's message.
Trying to word each error carefully is not enough, so leaks are made
impossible by construction instead:

* :func:`register` is fed every credential a run loads (``live.api_client``
  does it for each kubeconfig or in-cluster config it reads);
* :func:`report` passes a whole :class:`GradeReport` (every message,
  expected, observed, note, source text) through :func:`text`, and the
  engine, the ledger and the CLI/batch error paths call it before any
  reporter sees anything.

The registry is process-wide on purpose: a batch grades many students with
many kubeconfigs in threads, and no secret of any of them may appear in any
student's files. It only ever grows, and lookups are cheap (a handful of
substring tests per string).
"""
from __future__ import annotations

import base64
import dataclasses
import functools
import re
import threading
from typing import Any, Iterable, TypeVar

from grader.i18n import Text

MASK = "[redacted]"
#: Shorter values are not treated as secrets: masking "a" or "ab" in every
#: message would destroy the report and protect nothing.
MIN_SECRET = 4

# Whatever the registry knows, an Authorization header's value is never shown.
# (Capitalised as on the wire, and a value with a digit in it, so that prose
# such as "Basic authentication" is left alone.)
_AUTH_HEADER = re.compile(r"\b(Bearer|Basic|BEARER|BASIC)\s+(?=[A-Za-z0-9._~+/=:-]*[0-9])[A-Za-z0-9._~+/=:-]{8,}")
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S)

_lock = threading.Lock()
_secrets: set[str] = set()
_ordered: tuple[str, ...] = ()

T = TypeVar("T")


def _variants(value: str) -> set[str]:
    """The forms a secret takes in error text: as loaded, trimmed (the form
    the header carries), its repr-escaped form, and for PEM keys each line
    of the base64 body (a traceback may quote one line of it)."""
    out = {value, value.strip()}
    out.add(value.encode("unicode_escape", "backslashreplace").decode("ascii"))
    out.add(value.strip().encode("unicode_escape", "backslashreplace").decode("ascii"))
    if "-----BEGIN" in value:
        out.update(line.strip() for line in value.splitlines() if len(line.strip()) >= 16 and "-----" not in line)
    return {v for v in out if len(v) >= MIN_SECRET}


def register(*values: Any) -> None:
    """Remember credentials (strings or bytes; None and short values are
    ignored) so that :func:`text` masks them from now on."""
    global _ordered
    found: set[str] = set()
    for value in values:
        if value is None:
            continue
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("utf-8", "replace")
        if not isinstance(value, str):
            continue
        found |= _variants(value)
        stripped = value.strip()
        for scheme in ("Bearer ", "Basic "):
            if stripped.startswith(scheme):
                found |= _variants(stripped[len(scheme):])
                if scheme == "Basic ":
                    try:
                        found |= _variants(base64.b64decode(stripped[len(scheme):]).decode("utf-8", "replace"))
                    except ValueError:
                        pass
    if not found:
        return
    with _lock:
        new = found - _secrets
        if new:
            _secrets.update(new)
            # Longest first, so a secret that contains another is masked whole.
            # (Not one regex alternation: sre tries every alternative at every
            # position, 4x slower than these substring tests with a class's
            # thousands of forms, and recompiling it per registration is quadratic.)
            _ordered = tuple(sorted(_secrets, key=len, reverse=True))


def register_file(path: Any) -> None:
    """Register a credential file's contents (a client key, a token file)."""
    if not path:
        return
    try:
        with open(path, "rb") as f:
            register(f.read(1 << 20))
    except OSError:
        pass


def known() -> int:
    """How many secret forms are registered (for tests and diagnostics)."""
    return len(_secrets)


def text(value: str) -> str:
    """``value`` with every registered secret, every Authorization header
    value and every PEM private key replaced by ``[redacted]``."""
    if not value:
        return value
    original = value
    for secret in _ordered:
        if secret in value:
            value = value.replace(secret, MASK)
    if "PRIVATE KEY" in value:
        value = _PEM.sub(MASK, value)
    if "Bearer" in value or "Basic" in value or "BEARER" in value or "BASIC" in value:
        value = _AUTH_HEADER.sub(lambda m: m.group(1) + " " + MASK, value)
    return original if value == original else value


def clip(value: str, limit: int) -> str:
    """``value`` masked, then cut to ``limit`` characters: a credential cut
    in half before masking is no longer found whole, and its head would
    stay in the message (an API server's error body can quote the request)."""
    return text(value)[:limit]


def text_pair(t: Text) -> Text:
    zh, en = text(t.zh), text(t.en)
    return t if (zh, en) == (t.zh, t.en) else Text(zh, en)


@functools.cache
def _fields(cls: type) -> tuple[str, ...]:
    """A dataclass's init fields, looked up once per class, not per object."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def _walk(obj: Any) -> Any:
    """``obj`` with secrets masked; ``obj`` itself (not a copy) when nothing
    in it changed, which is nearly always: a report is rebuilt only along
    the path to a masked string."""
    if isinstance(obj, str):
        return text(obj)
    if isinstance(obj, Text):
        return text_pair(obj)
    if isinstance(obj, (tuple, list)):
        items = [_walk(x) for x in obj]
        if all(new is old for new, old in zip(items, obj)):
            return obj
        return tuple(items) if isinstance(obj, tuple) else items
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {}
        for name in _fields(type(obj)):
            old = getattr(obj, name)
            new = _walk(old)
            if new is not old:
                changes[name] = new
        return dataclasses.replace(obj, **changes) if changes else obj
    return obj


def report(value: T) -> T:
    """A report (or an outcome, a source info: any frozen dataclass tree of
    strings and :class:`Text`) with every string passed through :func:`text`."""
    return _walk(value)


def lines(values: Iterable[str]) -> list[str]:
    return [text(v) for v in values]


__all__ = ["MASK", "register", "register_file", "text", "text_pair", "report", "known"]
