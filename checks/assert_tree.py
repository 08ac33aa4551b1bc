"""Match an object against a partial tree, the way kuttl asserts and
Chainsaw assertion trees do, so a teacher writes the shape they expect in
YAML instead of Python.

* A mapping matches when every key it names matches (other keys are ignored).
  A key may be a path (``spec.ports[0].nodePort``) or a JMESPath expression
  in parentheses (``(length(spec.ports))``), evaluated on the mapping. A key
  the mapping holds as it is written is that key, never a path: ConfigMap
  files (``app.properties``), labels and annotations
  (``app.kubernetes.io/name``, ``deployment.kubernetes.io/revision``) are
  written as they are, and one that is no valid path is always a key.
* A list matches when each expected element matches a different observed
  element, in any order (the object may hold more: a Service with a second
  port still has the first). With ``exact_lists`` the object's list must
  also have no more elements than the tree's: where one more widens what is
  allowed (an RBAC verb or rule, a NetworkPolicy ``from`` peer or ingress
  rule), "it contains the right one" is not the requirement.
* A leaf is a literal (compared exactly, ``80`` is not ``"80"``), a
  comparison in parentheses (``(>= 30000)``, ``(!= null)``, ``(in [80, 8080])``),
  or a JMESPath expression in parentheses that must be truthy with the
  observed value as ``@`` (``(starts_with(@, 'httpd'))``). When the observed
  value has a type the expression's functions cannot take (the field is
  missing, a number where text was meant), the leaf does not match: a
  student's object never makes the rubric an error.

``{{ namespace }}`` in a key or a text leaf is the lab namespace the run
grades (``-n``), for fields that name it: a RoleBinding's subject, a
NetworkPolicy's namespaceSelector. No other template is filled in.

Every leaf is counted once, so a rubric can give partial credit per leaf, and
each one that failed is reported with its path, expected and observed value.

Alternatives (``object.matches``'s ``any_of: [tree, tree, ...]``, like
Kyverno's ``anyPattern``) are whole trees, not a node inside one: a tree's
keys are already fields, paths and ``(JMESPath)`` expressions, and a special
key there would be one more thing a field name could be mistaken for.
:func:`closest` picks the alternative an object fits best.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

# jmespath is imported where an expression is evaluated or checked: a rubric without
# assertion trees (most) never needs it, and every run loads this module with the registry.

ABSENT = object()
_COMPARE = re.compile(r"^\(\s*(==|!=|>=|<=|>|<|in|not in)\s+(.+?)\s*\)$", re.S)
_PATHY = re.compile(r"[.\[]")
_TEMPLATE = re.compile(r"\{\{(.*?)\}\}")
_NAMESPACE = re.compile(r"\{\{\s*namespace\s*\}\}")
#: What a key of a Kubernetes map (labels, annotations, ConfigMap and Secret
#: data) may hold: such a key that is no valid path is a literal key.
_MAP_KEY = re.compile(r"^[-A-Za-z0-9_./]+$")


@dataclass(frozen=True)
class Leaf:
    path: str
    expected: Any
    observed: Any
    ok: bool


class BadAssertion(ValueError):
    """The tree itself is wrong (a JMESPath syntax error): the rubric's
    mistake, reported at lint time or as an ``error``, never as lost points."""


def show(value: Any) -> str:
    """A leaf value as a student reads it: JSON, ``<absent>`` for a missing key."""
    if value is ABSENT:
        return "<absent>"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("(") and value.endswith(")")


#: What an expression gives when the observed value has a type its functions
#: cannot take (``contains(@, 'x')`` on a field the student left out, ``length``
#: of a number): the student's object, not the rubric, is wrong there.
WRONG_TYPE = object()


def _search(expr: str, data: Any) -> Any:
    import jmespath

    try:
        return jmespath.search(expr, data)
    except jmespath.exceptions.JMESPathTypeError:
        return WRONG_TYPE
    except jmespath.exceptions.JMESPathError as exc:
        raise BadAssertion(f"bad JMESPath expression {expr!r}: {exc}") from None


def lookup(path: str, data: Any) -> Any:
    """The value at ``path`` (a JMESPath path such as
    ``spec.ingress[0].from[0].podSelector``) in ``data``, or :data:`ABSENT`
    where there is none; raises :class:`BadAssertion` for a path that is no
    valid JMESPath (the rubric's mistake)."""
    value = _search(path, data)
    return ABSENT if value is None or value is WRONG_TYPE else value


def validate(tree: Any, path: str = "") -> list[str]:
    """Syntax problems in a tree (for the loader and ``labgrade lint``)."""
    if not path and (tree == {} or tree is None):  # an empty {} deeper down asks for a mapping there: a test
        return ["the tree is empty, so any object would match: name the fields it must have"]
    problems: list[str] = []
    for text in (tree, *(tree.keys() if isinstance(tree, dict) else ())):
        for m in _TEMPLATE.finditer(text) if isinstance(text, str) else ():
            if not _NAMESPACE.fullmatch(m.group(0)):
                problems.append(f"{path or '$'}: {m.group(0)!r} is not filled in here: an assertion tree knows "
                                f"only {{{{ namespace }}}} (the lab namespace)")
    if isinstance(tree, dict):
        for key, sub in tree.items():
            here = f"{path}.{key}" if path else str(key)
            if is_expression(key):
                problems += _compile(str(key)[1:-1], here)
            elif _PATHY.search(str(key)) and not _MAP_KEY.match(str(key)):
                problems += _compile(str(key), here)
            problems += validate(sub, here)
    elif isinstance(tree, list):
        for i, sub in enumerate(tree):
            problems += validate(sub, f"{path}[{i}]")
    elif is_expression(tree):
        m = _COMPARE.match(tree)
        if m:
            try:
                yaml.safe_load(m.group(2))
            except yaml.YAMLError:
                problems.append(f"{path}: cannot read the value in {tree!r}")
        else:
            problems += _compile(tree[1:-1], path)
    return problems


def _compile(expr: str, path: str) -> list[str]:
    import jmespath

    try:
        jmespath.compile(expr)
    except jmespath.exceptions.JMESPathError as exc:
        return [f"{path}: bad JMESPath expression {expr!r} ({' '.join(str(exc).split())[:120]})"]
    return []


def fill_namespace(tree: Any, namespace: str) -> Any:
    """``tree`` with ``{{ namespace }}`` replaced by ``namespace`` in every key and text leaf."""
    if isinstance(tree, dict):
        return {fill_namespace(k, namespace): fill_namespace(v, namespace) for k, v in tree.items()}
    if isinstance(tree, list):
        return [fill_namespace(v, namespace) for v in tree]
    if isinstance(tree, str) and "{{" in tree:
        return _NAMESPACE.sub(namespace, tree)
    return tree


@functools.lru_cache(maxsize=256)
def _is_path(key: str) -> bool:
    return not _compile(key, "")


def match(expected: Any, observed: Any, path: str = "", *, exact_lists: bool = False) -> list[Leaf]:
    """Every leaf of ``expected`` against ``observed``. With ``exact_lists``,
    each list also has a leaf ``length(<path>)``: the object's list must have
    as many elements as the expected one (still in any order)."""
    if isinstance(expected, dict):
        out: list[Leaf] = []
        if not isinstance(observed, dict):
            if not expected:
                return [Leaf(path or "$", _shape(expected), observed, False)]
            # Each expected leaf still counts once, observed as absent: folded into
            # one leaf, a missing subtree weighed less than a present one with every
            # field wrong, so leaving ``data:`` out earned more partial credit.
            for key, sub in expected.items():
                out += match(sub, ABSENT, f"{path}.{key}" if path else str(key), exact_lists=exact_lists)
            return out
        for key, sub in expected.items():
            key = str(key)
            here = f"{path}.{key}" if path else key
            if is_expression(key):
                value = _search(key[1:-1], observed)
                value = ABSENT if value is WRONG_TYPE or (value is None and sub is not None) else value
            elif key in observed or not _PATHY.search(key) or not _is_path(key):
                value = observed.get(key, ABSENT)
            else:
                value = _search(key, observed)
                value = ABSENT if value is None else value
            out += match(sub, value, here, exact_lists=exact_lists)
        return out
    if isinstance(expected, list):
        leaves = _match_list(expected, observed, path, exact_lists)
        if exact_lists:
            size = len(observed) if isinstance(observed, list) else ABSENT
            leaves.append(Leaf(f"length({path or '@'})", len(expected), size, size == len(expected)))
        return leaves
    return [Leaf(path or "$", expected, observed, _leaf_ok(expected, observed))]


@dataclass(frozen=True)
class Fit:
    """How an object fits one of several alternative trees: the one it fits
    best (0-based ``index``) and that tree's leaves."""

    index: int
    leaves: tuple[Leaf, ...]

    @property
    def ok(self) -> bool:
        return all(lf.ok for lf in self.leaves)


def closest(alternatives: list[Any], observed: Any, *, exact_lists: bool = False) -> Fit:
    """The alternative ``observed`` fits best: one that matches entirely if
    any does, else the one with the largest fraction of matching leaves (the
    fewest failing leaves on a tie, then the first). Its leaves are the
    evidence and, with partial credit, the score: a student who chose a form
    and got one field wrong is closer to right than the other forms say."""
    best: tuple[tuple[float, int, int], Fit] | None = None
    for i, tree in enumerate(alternatives):
        leaves = tuple(match(tree, observed, exact_lists=exact_lists))
        good = sum(lf.ok for lf in leaves)
        rank = (good / len(leaves) if leaves else 0.0, good - len(leaves), -i)
        if best is None or rank > best[0]:
            best = (rank, Fit(i, leaves))
    if best is None:
        raise BadAssertion("any_of lists no alternative")
    return best[1]


def _shape(expected: Any) -> str:
    return "{...}" if isinstance(expected, dict) else "[...]"


def _match_list(expected: list[Any], observed: Any, path: str, exact_lists: bool) -> list[Leaf]:
    if not isinstance(observed, list):
        leaves = []
        for i, sub in enumerate(expected):
            leaves += [Leaf(lf.path, lf.expected, ABSENT if observed is ABSENT else observed, False)
                       for lf in match(sub, ABSENT, f"{path}[{i}]", exact_lists=exact_lists)]
        return leaves
    used: set[int] = set()
    out: list[Leaf] = []
    for i, sub in enumerate(expected):
        best: tuple[int, int, list[Leaf]] | None = None
        for j, candidate in enumerate(observed):
            if j in used:
                continue
            leaves = match(sub, candidate, f"{path}[{j}]", exact_lists=exact_lists)
            good = sum(lf.ok for lf in leaves)
            if best is None or good > best[0]:
                best = (good, j, leaves)
            if good == len(leaves):
                break
        if best is None:
            out += [Leaf(lf.path, lf.expected, ABSENT, False)
                    for lf in match(sub, ABSENT, f"{path}[{i}]", exact_lists=exact_lists)]
            continue
        used.add(best[1])
        out += best[2]
    return out


def _leaf_ok(expected: Any, observed: Any) -> bool:
    if is_expression(expected):
        m = _COMPARE.match(expected)
        if m:
            return _compare(m.group(1), observed, yaml.safe_load(m.group(2)))
        found = _search(expected[1:-1], None if observed is ABSENT else observed)
        return found is not WRONG_TYPE and bool(found)
    if expected is None:
        return observed is ABSENT or observed is None
    if observed is ABSENT:
        return False
    if isinstance(expected, bool) or isinstance(observed, bool):
        return expected is observed
    if isinstance(expected, (int, float)) and isinstance(observed, (int, float)):
        return expected == observed
    return type(expected) is type(observed) and expected == observed


def _compare(op: str, observed: Any, value: Any) -> bool:
    # Equality is the literal leaf's: Python's ``True == 1`` would let a
    # boolean field pass ``(== 1)`` or ``(in [1, 2])``, and ``"80" == 80``
    # must stay false as it does for a plain literal.
    if op == "==":
        return _leaf_ok(value, observed)
    if op == "!=":
        return not _leaf_ok(value, observed)
    if op in ("in", "not in"):
        # null in the list admits an absent field, as a null leaf does
        inside = isinstance(value, list) and any(_leaf_ok(v, observed) for v in value)
        return inside if op == "in" else not inside
    if observed is ABSENT or isinstance(observed, bool) or not isinstance(observed, (int, float)) \
            or isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return {">=": observed >= value, "<=": observed <= value, ">": observed > value, "<": observed < value}[op]
