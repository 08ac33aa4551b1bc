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


_REGISTRY: dict[str, CheckSpec] = {}


def check(check_id: str, *, live: bool = False) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` under ``check_id`` (e.g. ``deployment.replicas``)."""

    def register(fn: CheckFn) -> CheckFn:
        if check_id in _REGISTRY:
            raise ValueError(f"check {check_id!r} registered twice")
        sig = inspect.signature(fn)
        params = dict(list(sig.parameters.items())[1:])  # drop ctx
        hints = typing.get_type_hints(fn)
        _REGISTRY[check_id] = CheckSpec(
            check_id, fn, inspect.getdoc(fn) or "", params,
            {k: v for k, v in hints.items() if k in params}, live,
        )
        return fn

    return register


def _load_all() -> None:
    # Importing the modules registers their checks.
    from checks import cleanup, pods, probes, services, workloads  # noqa: F401


def registry() -> dict[str, CheckSpec]:
    if not _REGISTRY:
        _load_all()
    return _REGISTRY


def get(check_id: str) -> CheckSpec | None:
    return registry().get(check_id)


def type_ok(value: Any, annotation: Any) -> bool:
    """Whether a YAML value fits a parameter annotation (the small subset of
    typing that check signatures use)."""
    if annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
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
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe_type(a) for a in args)
    if origin in (list, tuple):
        return f"list of {describe_type(args[0])}" if args else "list"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))
