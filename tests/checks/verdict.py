"""One way to run a check on a tiny cluster state and state its verdict.

A check test reads like a kube-score case: build the cluster the student
left (``tests.builders``), run one registered check on it, assert one line
of verdict. ``run`` goes through the registry and the engine's own
``run_check`` (the path a rubric takes), so a test exercises the product,
exceptions-to-outcomes included.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from checks.registry import CheckContext
from grader.engine import run_check
from grader.i18n import Text
from grader.outcome import Outcome, Status
from grader.rubric import CheckDef
from grader.view import ClusterView, DnsResult, ExecResult, build_view
from tests.builders import KIND_ORDER, Cluster, Obj

LISTED = KIND_ORDER


def view_of(source: Cluster | Iterable[Obj], *, kinds: Iterable[str] = LISTED, phase: str = "built",
            exec_runner: Callable[..., ExecResult] | None = None,
            dns_runner: Callable[[str, str], DnsResult] | None = None, live: bool = False) -> ClusterView:
    """The view a dump of ``source`` gives: every kind the README's kubectl
    command lists counts as listed, even when none came back."""
    objects = source.objects() if isinstance(source, Cluster) else list(source)
    return build_view(objects, kinds=kinds, phase=phase, live=live,
                      exec_runner=exec_runner, dns_runner=dns_runner)


def run(use: str, view: ClusterView, *, namespace: str = "default", phase: str = "built",
        views: dict[str, ClusterView] | None = None, **params: Any) -> Outcome:
    """Run check ``use`` with ``params`` exactly as the engine does."""
    all_views = dict(views or {})
    all_views.setdefault(phase, view)
    ctx = CheckContext(view=view, views=all_views, namespace=namespace, phase=phase)
    check = CheckDef(id=use, use=use, params=params, points=1.0, title=Text(use, use), hint=Text("", ""),
                     needs=(), line=0)
    return run_check(check, ctx)


def assert_verdict(outcome: Outcome, status: str, score: float | None = None, *, says: str | None = None) -> None:
    """``status`` is passed/failed/error/skipped; ``score`` the fraction
    earned (default: 1 for passed, 0 otherwise); ``says`` a fragment the
    English message must hold. A failed verdict must show evidence."""
    text = f"{outcome.status.value} {outcome.score}: {outcome.message.en}"
    assert outcome.status is Status(status), text
    want = score if score is not None else (1.0 if status == "passed" else 0.0)
    assert abs(outcome.score - want) < 1e-6, text
    assert outcome.message.zh and outcome.message.en, text
    if says is not None:
        assert says in outcome.message.en, text


class Exec:
    """An exec runner that answers like a pod would (one fixed reply) and
    remembers the argv it was given, for the probe checks' tests."""

    def __init__(self, stdout="", stderr="", exit_code: int | None = 0, failure: str | None = None):
        self.reply = (stdout, stderr, exit_code, failure)
        self.argv: list[str] = []

    def __call__(self, namespace, pod, argv, *, container=None, timeout=10.0):
        self.argv = list(argv)
        out, err, code, failure = self.reply
        return ExecResult(tuple(argv), out, err, code, failure, pod=pod, namespace=namespace)
