"""The check registry: stable dotted ids -> small pure functions.

A check is ``fn(ctx, **params) -> Outcome``. Its keyword parameters *are* its
schema: the rubric loader validates a rubric's ``with:`` block against the
function signature (unknown keys, missing required keys, wrong types), so a
typo in a rubric fails at load time with a line number, not mid-grading.
"""
from __future__ import annotations

import inspect
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable

from grader.outcome import Outcome
from grader.view import ClusterView

CheckFn = Callable[..., Outcome]
#: What a check reads: fixed read strings (see grader/kinds.py), or a
#: function of the check's ``with:`` parameters (``object.exists`` reads
#: whatever ``kind`` the rubric names).
Reads = tuple[str, ...] | Callable[[dict[str, Any]], Any]
ENTRY_POINT_GROUP = "labgrade.checks"


@dataclass(frozen=True)
class CheckContext:
    """What a check may look at.

    ``view`` is the cluster state of the check's phase. ``views`` holds every
    phase this run has (``baseline``, ``built``, ``cleaned``...), for checks
    that compare moments, such as the ``kubernetes`` service's uid before and
    after cleanup. ``namespace`` is the lab namespace.
    """

    view: ClusterView
    views: dict[str, ClusterView]
    namespace: str
    phase: str


@dataclass(frozen=True)
class CheckSpec:
    id: str
    fn: CheckFn
    doc: str
    params: dict[str, inspect.Parameter]
    hints: dict[str, Any]
    live: bool  # needs a probe a dump cannot answer without a recording
    reads: Reads | None = None  # None: not declared, the source reads its defaults
    module: str = ""

    @property
    def what(self) -> str:
        """What the check grades: its docstring's first paragraph, on one line."""
        return " ".join(self.doc.split("\n\n", 1)[0].split())

    @property
    def summary(self) -> str:
        """The first sentence of :attr:`what` (``labgrade checks`` lists it)."""
        first = self.what.split(". ", 1)[0]
        return first if first.endswith(".") or not first else first + "."

    def reads_for(self, params: dict[str, Any]) -> tuple[str, ...] | None:
        """The reads of one use of this check, or None when undeclared."""
        if self.reads is None:
            return None
        if callable(self.reads):
            return tuple(self.reads(params))
        return tuple(self.reads)


_REGISTRY: dict[str, CheckSpec] = {}
_LOADED = False


def check(check_id: str, *, live: bool = False, reads: Reads | None = None) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` under ``check_id`` (e.g. ``deployment.replicas``).

    ``reads`` says which kinds (or single objects) it looks at, so a live
    source lists only what a rubric's checks need and ``labgrade
    dump-command`` prints the matching ``kubectl get``."""

    def register(fn: CheckFn) -> CheckFn:
        if check_id in _REGISTRY:
            raise ValueError(f"check {check_id!r} registered twice")
        sig = inspect.signature(fn)
        params = dict(list(sig.parameters.items())[1:])  # drop ctx
        hints = typing.get_type_hints(fn, include_extras=True)  # keeps Between bounds
        _REGISTRY[check_id] = CheckSpec(
            check_id, fn, inspect.getdoc(fn) or "", params,
            {k: v for k, v in hints.items() if k in params}, live, reads, fn.__module__,
        )
        return fn

    return register


def _load_all() -> None:
    # Importing the modules registers their checks.
    from checks import cleanup, pods, probes, services, workloads  # noqa: F401
    from checks import objects, generic_workloads, backends, exec_probes, selectors  # noqa: F401
    load_entry_points()


def load_entry_points() -> list[str]:
    """Import every module a ``labgrade.checks`` entry point names: a course
    ships its own checks as a package, without forking labgrade. A broken
    plugin is an error naming it, not a silent gap in the registry."""
    from importlib import metadata

    loaded = []
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            ep.load()
        except Exception as exc:  # noqa: BLE001 - any import failure of a plugin
            raise ImportError(f"labgrade.checks entry point {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        loaded.append(ep.name)
    return loaded


def registry() -> dict[str, CheckSpec]:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        _load_all()
    return _REGISTRY


def get(check_id: str) -> CheckSpec | None:
    return registry().get(check_id)


@dataclass(frozen=True)
class Between:
    """Bounds of a number parameter, checked when the rubric loads:
    ``timeout: Annotated[int, Between(1, 120)] = 5``. A probe's timeout is how
    long a student's pod may hold the grader: 0 or less fails every student
    for nothing, a day stalls the run, so neither gets past the loader."""

    low: float
    high: float

    def __str__(self) -> str:
        return f"from {self.low:g} to {self.high:g}"


#: A probe's timeout in seconds (exec.run, http.get, the first lab's wget).
ProbeSeconds = typing.Annotated[int, Between(1, 120)]


def type_ok(value: Any, annotation: Any) -> bool:
    """Whether a YAML value fits a parameter annotation (the small subset of
    typing that check signatures use)."""
    if annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_ok(value, args[0]) and all(
            b.low <= value <= b.high for b in annotation.__metadata__ if isinstance(b, Between))
    if origin in (typing.Union, types.UnionType):
        return any(type_ok(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if origin in (list, tuple):
        return isinstance(value, list) and all(type_ok(v, args[0]) for v in value) if args else isinstance(value, list)
    if origin is dict:
        return isinstance(value, dict)
    if annotation is type(None):
        return value is None
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def describe_type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return " ".join([describe_type(args[0])] + [str(b) for b in annotation.__metadata__ if isinstance(b, Between)])
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe_type(a) for a in args)
    if origin in (list, tuple):
        return f"list of {describe_type(args[0])}" if args else "list"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))
