"""The engine: prerequisites skip instead of piling failures, errors never
cost points, a missing phase is not graded, live failures are re-polled."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader import engine, rubric
from grader.outcome import SourceInfo, Status
from grader.view import build_view

RUBRIC = """\
lab: mini
title: {zh: 小实验, en: Mini lab}
steps:
  - id: build
    phase: built
    deadline: 10
    title: {zh: 创建, en: Build}
    checks:
      - id: d1-exists
        use: deployment.exists
        with: {name: deployment1}
        points: 2
        title: {zh: 存在, en: exists}
        hint: {zh: 创建它, en: create it}
      - id: d1-replicas
        use: deployment.replicas
        with: {name: deployment1, replicas: 2}
        needs: [d1-exists]
        points: 4
        title: {zh: 副本, en: replicas}
        hint: {zh: 扩容, en: scale it}
  - id: clean
    phase: cleaned
    title: {zh: 清理, en: Clean}
    checks:
      - id: d1-gone
        use: cleanup.deleted
        with: {kind: Deployment, names: [deployment1]}
        points: 4
        title: {zh: 删除, en: deleted}
        hint: {zh: 删除它, en: delete it}
"""


def deployment(replicas: int, ready: int) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "deployment1", "namespace": "default", "uid": "dep-1"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "d1"}}},
        "status": {"readyReplicas": ready, "replicas": replicas},
    }


@pytest.fixture
def mini(tmp_path: Path) -> rubric.Rubric:
    p = tmp_path / "mini.yaml"
    p.write_text(RUBRIC, encoding="utf-8")
    return rubric.load(str(p))


def static(objs, kinds=("Deployment",), phase="built") -> engine.StaticSource:
    return engine.StaticSource(build_view(objs, kinds=kinds, phase=phase), SourceInfo(phase, "snapshot", f"{phase}.yaml"))


def by_id(report):
    return {c.id: c for _, c in report.checks()}


def test_missing_deployment_fails_once_and_skips_its_dependants(mini):
    report = engine.grade(mini, {"built": static([])})
    checks = by_id(report)
    assert checks["d1-exists"].status is Status.FAILED
    assert checks["d1-replicas"].status is Status.SKIPPED
    assert checks["d1-replicas"].outcome.graded  # its points are lost, not "not graded"
    assert "d1-exists" in checks["d1-replicas"].outcome.message.en


def test_phase_without_a_dump_is_skipped_and_not_graded(mini):
    report = engine.grade(mini, {"built": static([deployment(2, 2)])})
    gone = by_id(report)["d1-gone"]
    assert gone.status is Status.SKIPPED and not gone.outcome.graded
    assert report.earned == 6 and report.ungraded == 4 and report.points == 10


def test_a_kind_the_dump_never_listed_is_an_error_not_a_failure(mini):
    report = engine.grade(mini, {"built": static([deployment(2, 2)]), "cleaned": static([], kinds=(), phase="cleaned")})
    gone = by_id(report)["d1-gone"]
    assert gone.status is Status.ERROR and gone.earned == 0 and not gone.outcome.graded
    assert "holds no Deployment objects" in gone.outcome.message.en


def test_partial_credit_for_right_spec_but_unready_pods(mini):
    report = engine.grade(mini, {"built": static([deployment(2, 1)])})
    replicas = by_id(report)["d1-replicas"]
    assert replicas.status is Status.FAILED and replicas.earned == 2.0
    assert "1 pod is ready" in replicas.outcome.message.en


def test_a_crashing_check_becomes_an_error_and_the_report_goes_on(mini, monkeypatch):
    from checks import registry

    spec = registry.get("deployment.exists")

    def boom(ctx, name):
        raise RuntimeError("kaboom")

    monkeypatch.setitem(registry._REGISTRY, "deployment.exists", spec.__class__(**{**spec.__dict__, "fn": boom}))
    report = engine.grade(mini, {"built": static([deployment(2, 2)])})
    first = by_id(report)["d1-exists"]
    assert first.status is Status.ERROR and "kaboom" in first.outcome.message.en
    assert by_id(report)["d1-replicas"].status is Status.PASSED  # an error does not block dependants


class Converging:
    """A live source whose deployment becomes ready on the third pass."""

    live = True
    info = SourceInfo("built", "live", "test")

    def __init__(self):
        self.passes = 0

    def view(self):
        self.passes += 1
        return build_view([deployment(2, 2 if self.passes >= 3 else 0)], kinds=("Deployment",), phase="built")


def test_live_failures_are_repolled_until_they_pass_within_the_deadline(mini):
    now = [0.0]
    opts = engine.Options(poll_interval=2.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    src = Converging()
    report = engine.grade(mini, {"built": src}, options=opts)
    replicas = by_id(report)["d1-replicas"]
    assert replicas.status is Status.PASSED and replicas.attempts == 3
    assert src.passes == 3


def test_repolling_stops_at_the_deadline(mini):
    now = [0.0]
    opts = engine.Options(poll_interval=4.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    src = Converging()
    src.passes = -100  # never converges in time
    report = engine.grade(mini, {"built": src}, options=opts)
    replicas = by_id(report)["d1-replicas"]
    assert replicas.status is Status.FAILED and replicas.attempts == 3  # t=0, 4, 8; 12 would pass the 10 s deadline


def test_same_input_same_report(mini):
    a = engine.grade(mini, {"built": static([deployment(3, 3)])})
    b = engine.grade(mini, {"built": static([deployment(3, 3)])})
    def strip(r):  # everything but the timings
        return [(c.id, c.outcome, c.earned, c.points) for _, c in r.checks()]

    assert strip(a) == strip(b)


def test_a_step_blocked_by_an_earlier_step_names_that_step_by_its_title(mini, tmp_path):
    """A step-level ``needs`` named the step by its id ("'build' (build)"):
    the engine now hands the steps' titles to the blocked message."""
    p = tmp_path / "needs.yaml"
    p.write_text(RUBRIC.replace("    phase: cleaned\n", "    phase: cleaned\n    needs: [build]\n"), encoding="utf-8")
    report = engine.grade(rubric.load(str(p)), {"built": static([]), "cleaned": static([], phase="cleaned")})
    gone = by_id(report)["d1-gone"]
    assert gone.status is Status.SKIPPED and gone.outcome.graded
    assert "prerequisite 'Build' (build)" in gone.outcome.message.en
    assert "前置检查“创建”（build）" in gone.outcome.message.zh
