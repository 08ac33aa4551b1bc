"""Step 6 pays only for a cleanup that happened, and catches a deleted
``kubernetes`` Service at any moment of the lab (issue 7, verdicts)."""
from __future__ import annotations

import copy

from grader import engine, rubric
from grader.outcome import SourceInfo, Status
from grader.view import build_view
from tests.builders import KIND_ORDER, base_cluster
from tests.make_examples import CORRECT, run_lab

RUBRIC = rubric.load("service-discovery")


def _view(objects, phase):
    return build_view(copy.deepcopy(objects), kinds=KIND_ORDER, phase=phase)


def _grade(**phases):
    sources = {p: engine.StaticSource(_view(objs, p), SourceInfo(p, "snapshot", p)) for p, objs in phases.items()}
    return engine.grade(RUBRIC, sources)


def _step6(report):
    return {c.id: c for c in report.steps[-1].checks}


def test_a_lab_never_built_earns_nothing_for_cleanup():
    """The cluster as it was before the lab, graded as both phases, gave
    15/100: step 6 paid for deleting objects that never existed. A teacher
    marking 200 students must see 0 for a student who did nothing, and a
    message that says why, not a cleanup grade."""
    empty = base_cluster().objects()
    report = _grade(built=empty, cleaned=empty)
    assert report.earned == 0
    step6 = _step6(report)
    for c in step6.values():
        assert c.status is Status.FAILED, (c.id, c.outcome.message.en)
        assert "nothing to clean up" in c.outcome.message.en
        assert "没有可清理的对象" in c.outcome.message.zh


def test_only_what_was_built_earns_cleanup_points():
    """deployment2 never existed after building (bare pods instead): removing
    it is not cleanup work, so half of deployments-deleted is lost and the
    note says which object never existed."""
    report = _grade(**{"built": run_lab(CORRECT).built, "cleaned": run_lab(CORRECT).cleaned})
    assert _step6(report)["deployments-deleted"].earned == 3
    dumps = run_lab(CORRECT)
    built = [o for o in dumps.built if not (o["kind"] == "Deployment" and o["metadata"]["name"] == "deployment2")]
    c = _step6(_grade(built=built, cleaned=dumps.cleaned))["deployments-deleted"]
    assert c.status is Status.FAILED and c.earned == 1.5
    assert "deployment2" in c.outcome.message.en and "did not exist after building" in c.outcome.message.en


def test_without_a_built_phase_absence_is_not_graded_and_says_so():
    """With only the cleaned dump, an absent object may never have been
    created: the check is not graded (no points at stake) and says why,
    while a leftover still proves the cleanup incomplete."""
    dumps = run_lab(CORRECT)
    step6 = _step6(_grade(cleaned=dumps.cleaned))
    c = step6["services-deleted"]
    assert c.status is Status.SKIPPED and not c.outcome.graded
    assert "not graded" in c.outcome.message.en and "未评分" in c.outcome.message.zh
    leftover = dumps.built  # nothing was deleted at all
    c = _step6(_grade(cleaned=leftover))["services-deleted"]
    assert c.status is Status.FAILED and c.outcome.graded and c.earned == 0


def test_kubernetes_service_recreated_before_the_built_dump_is_caught_without_baseline():
    """Deleted during step 3 (before the built dump) and re-created at once:
    built and cleaned show the same new uid, so comparing them proves
    nothing; the creation-time rule on the earliest view catches it."""
    c = base_cluster()
    c.clock.set("2026-11-20T08:20:00Z")
    c.recreate_kubernetes_service()
    fresh = next(o for o in c.objects() if o["kind"] == "Service" and o["metadata"]["name"] == "kubernetes")
    dumps = run_lab(CORRECT)
    swap = lambda objs: [fresh if (o["kind"] == "Service" and o["metadata"]["name"] == "kubernetes") else o for o in objs]
    check = _step6(_grade(built=swap(dumps.built), cleaned=swap(dumps.cleaned)))["kubernetes-service-intact"]
    assert check.status is Status.FAILED, check.outcome.message.en
    assert "after building" in check.outcome.message.en
    assert "搭建完成后" in check.outcome.message.zh


def test_kubernetes_service_recreated_between_baseline_and_built_is_caught_by_uid():
    """With a baseline, any change of uid across baseline, built and cleaned
    is a deletion, even when built and cleaned agree."""
    dumps = run_lab(CORRECT)
    other = copy.deepcopy(dumps.built)
    for o in other:
        if o["kind"] == "Service" and o["metadata"]["name"] == "kubernetes":
            o["metadata"]["uid"] = "00000000-0000-4000-8000-000000000001"
    cleaned = [o for o in copy.deepcopy(dumps.cleaned)]
    for o in cleaned:
        if o["kind"] == "Service" and o["metadata"]["name"] == "kubernetes":
            o["metadata"]["uid"] = "00000000-0000-4000-8000-000000000001"
    check = _step6(_grade(baseline=dumps.baseline, built=other, cleaned=cleaned))["kubernetes-service-intact"]
    assert check.status is Status.FAILED
    assert "before the lab" in check.outcome.expected.en
    assert "built" not in check.outcome.expected.zh and "baseline" not in check.outcome.expected.zh
