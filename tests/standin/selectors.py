"""Label and field selectors: the ones labgrade sends, matched as the API server matches them.

What is sent to an API server: ``labelSelector=k8s-app=kube-dns`` to find CoreDNS
(grader/sources/dns_probe.py, dns_tunnel.py), ``fieldSelector=metadata.name=NAME`` across
namespaces for the "it is in another namespace" hint (grader/elsewhere.py), and, from the
real-cluster contract test, equalities joined by commas (``app=httpd,deployment=deployment2``).
So this matches comma-separated equalities (``=`` or ``==``) of labels, and of
``metadata.name`` / ``metadata.namespace``; every other selector, valid or not, is a
:class:`SelectorError`, which the server answers 400 BadRequest. A selector the grader
starts to send then fails its test here rather than matching more loosely than a real
server would (the full grammar, ``!=``, ``in``, ``notin``, ``!key``, escapes, lived here
until nothing sent it).
"""
from __future__ import annotations

import re
from typing import Any, Callable

# A label key (an optional DNS-subdomain prefix and a name) and a label value, as
# k8s.io/apimachinery/pkg/util/validation has them.
_KEY = r"(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_LABEL_EQUALITY = re.compile(rf"\s*({_KEY})\s*==?\s*({_VALUE})\s*")
_FIELD_EQUALITY = re.compile(r"([A-Za-z0-9_.]+)==?([^=!,\\\s]*)")
# Every resource serves these two as field selectors.
_FIELDS: dict[str, Callable[[dict[str, Any]], str]] = {
    "metadata.name": lambda o: (o.get("metadata") or {}).get("name", ""),
    "metadata.namespace": lambda o: (o.get("metadata") or {}).get("namespace", ""),
}


class SelectorError(ValueError):
    """A selector the stand-in answers with 400 BadRequest."""


def _equalities(text: str, pattern: re.Pattern[str], what: str) -> list[tuple[str, str]]:
    terms = []
    for part in text.split(","):
        m = pattern.fullmatch(part)
        if m is None:
            raise SelectorError(f"unable to parse {what} {text!r}: the stand-in serves key=value terms joined by "
                                f"commas (what labgrade sends), not {part.strip()!r}")
        terms.append((m.group(1), m.group(2)))
    return terms


def label_matcher(text: str | None) -> Callable[[dict[str, Any]], bool]:
    """A ``labelSelector``: every ``key=value`` term holds (a missing label never equals)."""
    if not text or not text.strip():
        return lambda obj: True
    terms = _equalities(text, _LABEL_EQUALITY, "label selector")

    def match(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(key in labels and labels[key] == value for key, value in terms)

    return match


def field_matcher(text: str | None) -> Callable[[dict[str, Any]], bool]:
    """A ``fieldSelector`` on ``metadata.name`` / ``metadata.namespace``; another field is the
    real server's 400 for a field the resource does not register."""
    if not text or not text.strip():
        return lambda obj: True
    terms = []
    for field, value in _equalities(text, _FIELD_EQUALITY, "field selector"):
        if field not in _FIELDS:
            raise SelectorError(f"field label not supported: {field}")
        terms.append((_FIELDS[field], value))

    def match(obj: dict[str, Any]) -> bool:
        return all(get(obj) == value for get, value in terms)

    return match
