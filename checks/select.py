"""Finding the objects a general check is about: by kind, then by name or
label selector, in the lab namespace (or the one the rubric names).

Label selectors are the ``kubectl get -l`` syntax (``app=web,tier!=db``,
``env in (a,b)``, ``!legacy``, ``app``), a plain map, as a Service's
selector is written, or a ``metav1.LabelSelector`` (``matchLabels`` and
``matchExpressions``), as workloads, NetworkPolicies and
PodDisruptionBudgets write theirs (:func:`label_selector`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from checks import k8s
from grader import kinds
from grader.i18n import Text as T
from grader.view import ClusterView, Obj

_SET = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ = re.compile(r"^\s*([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)([\w./-]+)\s*$")


class BadSelector(ValueError):
    pass


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def _label_value(key: Any, value: Any) -> str:
    """A selector map's value as the label text it stands for. Labels are
    text; YAML reads an unquoted ``true``, ``yes`` or ``1.10`` as a boolean or
    a float whose ``str()`` ("True", "1.1") no label holds, so such a selector
    would match nothing: ``object.exists`` would fail every student and
    ``object.absent`` pass every one. A whole number (also what a variant's
    ``{{ var.n }}`` gives) reads back as written."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    shown = "null" if value is None else str(value).lower() if isinstance(value, bool) else repr(value)
    raise BadSelector(f"the label value of {key!r} must be quoted text: YAML read it as {shown}, "
                      f"which no label holds (write {key}: \"...\")")


_LABEL_SELECTOR_KEYS = frozenset({"matchLabels", "matchExpressions"})
_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def is_label_selector(value: Any) -> bool:
    """Whether ``value`` is written as a ``metav1.LabelSelector``: a
    non-empty mapping of ``matchLabels`` and/or ``matchExpressions``."""
    return isinstance(value, dict) and bool(value) and set(value) <= _LABEL_SELECTOR_KEYS


def label_selector(selector: dict[str, Any]) -> Callable[[dict[str, str]], bool]:
    """A predicate over labels with the API's ``metav1.LabelSelector``
    meaning: ``matchLabels`` and every ``matchExpressions`` requirement hold
    (ANDed); ``In`` / ``NotIn`` a set of values (``NotIn`` also holds where
    the label is missing), ``Exists`` / ``DoesNotExist`` the key. An empty
    selector ``{}`` matches every object: "no requirement", which is why an
    empty NetworkPolicy ``podSelector`` picks every pod of its namespace (a
    null selector, for the caller to see, matches nothing). Raises
    :class:`BadSelector` where the API server would refuse it (an unknown
    operator, ``In`` without values, ``Exists`` with some)."""
    if not isinstance(selector, dict) or not set(selector) <= _LABEL_SELECTOR_KEYS:
        raise BadSelector(f"a label selector holds only matchLabels and matchExpressions, not {sorted(selector)!r}"
                          if isinstance(selector, dict) else f"a label selector is a mapping, not {selector!r}")
    tests: list[Callable[[dict[str, str]], bool]] = []
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, dict):
        raise BadSelector(f"matchLabels must be a mapping, not {match_labels!r}")
    want = {str(k): _label_value(k, v) for k, v in match_labels.items()}
    tests.append(lambda lb: all(lb.get(k) == v for k, v in want.items()))
    requirements = selector.get("matchExpressions") or []
    if not isinstance(requirements, list):
        raise BadSelector(f"matchExpressions must be a list of requirements, not {requirements!r}")
    for req in requirements:
        key, op, values = (req.get("key"), req.get("operator"), req.get("values") or []) if isinstance(req, dict) \
            else (None, None, [])
        if not isinstance(key, str) or op not in _OPERATORS:
            raise BadSelector(f"cannot read the requirement {req!r}: it needs a key and an operator "
                              f"({', '.join(_OPERATORS)})")
        if not isinstance(values, list):  # text would be read letter by letter: values: web is {w, e, b}
            raise BadSelector(f"{key} {op}: values must be a list, not {values!r}")
        if (op in ("In", "NotIn")) != bool(values):
            raise BadSelector(f"{key} {op}: " + ("In and NotIn need values" if op in ("In", "NotIn")
                                                 else "Exists and DoesNotExist take no values"))
        vs = {_label_value(key, v) for v in values}
        tests.append({"In": lambda lb, k=key, vs=vs: lb.get(k) in vs,
                      "NotIn": lambda lb, k=key, vs=vs: lb.get(k) not in vs,
                      "Exists": lambda lb, k=key: k in lb,
                      "DoesNotExist": lambda lb, k=key: k not in lb}[op])
    return lambda labels: all(t(labels) for t in tests)


def label_selector_text(selector: dict[str, Any]) -> str:
    """A ``metav1.LabelSelector`` as ``kubectl get -l`` would take it
    (``app=web,tier in (a,b),!legacy``); ``{}`` for the empty one."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for req in selector.get("matchExpressions") or []:
        key, op, values = req.get("key"), req.get("operator"), ",".join(str(v) for v in req.get("values") or [])
        parts.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": f"{key}",
                      "DoesNotExist": f"!{key}"}.get(str(op), f"{key} {op} ({values})"))
    return ",".join(parts) or "{}"


def parse_selector(selector: str | dict[str, Any]) -> Callable[[dict[str, str]], bool]:
    """A predicate over labels; raises :class:`BadSelector` on bad syntax."""
    if is_label_selector(selector):
        return label_selector(selector)  # type: ignore[arg-type]
    if isinstance(selector, dict):
        want = {str(k): _label_value(k, v) for k, v in selector.items()}
        return lambda labels: all(labels.get(k) == v for k, v in want.items())
    tests: list[Callable[[dict[str, str]], bool]] = []
    for part in _split(selector):
        if m := _SET.match(part):
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
            tests.append((lambda k, vs: lambda lb: lb.get(k) in vs)(key, values) if op == "in"
                         else (lambda k, vs: lambda lb: lb.get(k) not in vs)(key, values))
        elif m := _EQ.match(part):
            key, op, value = m.groups()
            tests.append((lambda k, v: lambda lb: lb.get(k) == v)(key, value) if op != "!="
                         else (lambda k, v: lambda lb: lb.get(k) != v)(key, value))
        elif m := _EXISTS.match(part):
            neg, key = m.groups()
            tests.append((lambda k: lambda lb: k not in lb)(key) if neg else (lambda k: lambda lb: k in lb)(key))
        else:
            raise BadSelector(f"cannot read label selector part {part.strip()!r}")
    if not tests:
        raise BadSelector("empty label selector")
    return lambda labels: all(t(labels) for t in tests)


def selector_text(selector: str | dict[str, Any]) -> str:
    if is_label_selector(selector):
        return label_selector_text(selector)  # type: ignore[arg-type]
    if isinstance(selector, dict):
        return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    return selector


@dataclass(frozen=True)
class Target:
    """What a rubric points at: ``kind`` plus a name or a selector."""

    kind: str
    namespace: str | None
    name: str | None
    selector: str | dict[str, Any] | None

    def describe(self) -> T:
        where = f" ({self.namespace})" if self.namespace else ""
        if self.name:
            return T(f"{self.kind} {self.name}{where}", f"{self.kind} {self.name}{where}")
        sel = selector_text(self.selector or {})
        return T(f"标签为 {sel} 的 {self.kind}{where}", f"{self.kind}s labelled {sel}{where}")

    def find(self, view: ClusterView, lab_namespace: str) -> list[Obj]:
        ns = None if not kinds.is_namespaced(self.kind) else (self.namespace or lab_namespace)
        if self.name:
            obj = view.get(self.kind, ns, self.name)
            return [obj] if obj is not None else []
        pick = parse_selector(self.selector or {})
        return [o for o in view.objects(self.kind, ns) if pick(k8s.labels(o))]


def target(kind: str, name: str | None, selector: str | dict[str, Any] | None, namespace: str | None) -> Target:
    info = kinds.lookup(kind)
    return Target(info.kind if info else kind, namespace, name, selector)


def reads_of(params: dict[str, Any], kind_key: str = "kind") -> tuple[str, ...]:
    """The reads of a check that looks at ``params[kind_key]``: the lab
    namespace's list, or one named object in another namespace."""
    given = params.get(kind_key) or ""
    ns = params.get("namespace")
    named = ([params["name"]] if params.get("name") else []) + list(params.get("names") or [])
    out = []
    for kind in given if isinstance(given, list) else [given]:
        info = kinds.lookup(kind)
        kind = info.kind if info else kind
        if ns and named:
            out += [f"{kind}:{ns}/{n}" for n in named]
        else:
            out.append(kind)
    return tuple(out)


def other_namespace_selector(namespace: str | None, selector: Any, lab_namespace: str, kind: str) -> bool:
    """A selector in another namespace than the lab's: a live source lists
    kinds in the lab namespace only (one object elsewhere is a GET by name),
    so it could not see them and absence would be a lie."""
    return bool(selector is not None and namespace and namespace != lab_namespace and kinds.is_namespaced(kind))
