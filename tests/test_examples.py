"""Every bundled example is graded exactly as its expected.yaml says, check
by check: the correct submission and each typical mistake."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from grader import engine, rubric
from grader.sources import snapshot
from grader.outcome import SourceInfo, Status

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "service-discovery"
CASES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "expected.yaml").exists())
RUBRIC = rubric.load("service-discovery")


def dump(case: str, phase: str) -> Path | None:
    for suffix in (".yaml", ".json"):
        p = EXAMPLES / case / f"{phase}{suffix}"
        if p.exists():
            return p
    return None


def grade_case(case: str, phases=("baseline", "built", "cleaned")):
    expected = yaml.safe_load((EXAMPLES / case / "expected.yaml").read_text(encoding="utf-8"))
    sources = {}
    for phase in phases:
        path = dump(case, phase)
        if path is not None:
            view = snapshot.load(path).view(phase=phase)
            sources[phase] = engine.StaticSource(view, SourceInfo(phase, "snapshot", str(path)))
    return engine.grade(RUBRIC, sources, namespace=expected["namespace"]), expected


def test_there_are_a_correct_case_and_at_least_eight_mistakes():
    assert "correct" in CASES
    assert len(CASES) >= 9


@pytest.mark.parametrize("case", CASES)
def test_example_verdicts(case):
    report, expected = grade_case(case)
    got = {c.id: c.status.value for _, c in report.checks()}
    assert got == expected["verdicts"]


@pytest.mark.parametrize("case", CASES)
def test_every_failure_says_what_was_expected_and_seen_in_both_languages(case):
    report, _ = grade_case(case)
    for _, c in report.checks():
        assert c.outcome.message.zh and c.outcome.message.en
        if c.status is Status.FAILED:
            assert c.outcome.expected is not None or c.outcome.observed is not None, c.id


def test_correct_submission_earns_every_point_a_dump_can_show():
    report, _ = grade_case("correct")
    assert report.earned == 90 and report.ungraded == 10  # the wget probe needs a live cluster
    assert report.counts() == {"passed": 19, "failed": 0, "error": 0, "skipped": 3}


def test_service2_with_all_pods_names_them_and_says_what_was_expected():
    report, _ = grade_case("service2-all-pods")
    c = next(c for _, c in report.checks() if c.id == "service2-endpoints")
    assert c.outcome.message.en.startswith("service2 routes to 5 ready pods: deployment1-")
    assert "expected one pod of deployment1 and one pod of deployment2" in c.outcome.message.en
    assert "service2 的后端是 5 个就绪 Pod" in c.outcome.message.zh


def test_hand_written_endpoints_get_their_own_message():
    report, _ = grade_case("hand-written-endpoints")
    c = next(c for _, c in report.checks() if c.id == "service2-endpoints")
    assert "no selector" in c.outcome.message.en and "written by hand" in c.outcome.message.en


def test_recreated_kubernetes_service_is_caught_by_uid_and_without_baseline_by_age():
    with_baseline, _ = grade_case("kubernetes-recreated")
    c = next(c for _, c in with_baseline.checks() if c.id == "kubernetes-service-intact")
    assert c.status is Status.FAILED and "uid" in c.outcome.expected.en
    # Without a baseline only the age tells (over 300 s younger than the default namespace): the
    # hand-built case's cluster is days old. The recorded one's cluster was started seconds before
    # the lab, so there the age cannot tell, and the pass says it judged by creation time.
    no_baseline, _ = grade_case("kubernetes-recreated-before-built", phases=("cleaned",))
    c = next(c for _, c in no_baseline.checks() if c.id == "kubernetes-service-intact")
    assert c.status is Status.FAILED and "s later" in c.outcome.observed.en
    cleaned_only, _ = grade_case("kubernetes-recreated", phases=("cleaned",))
    c = next(c for _, c in cleaned_only.checks() if c.id == "kubernetes-service-intact")
    assert c.status is Status.PASSED and any("creation time" in n.en for n in c.outcome.notes)


def test_grading_only_the_built_dump_leaves_cleanup_ungraded_not_failed():
    report, _ = grade_case("correct", phases=("built",))
    step6 = report.steps[-1]
    assert {c.status for c in step6.checks} == {Status.SKIPPED}
    assert all(not c.outcome.graded for c in step6.checks)
    assert report.ungraded == 25


def test_terminating_clientpod_counts_as_deleted_with_a_note():
    # a hand-built case: kwok deletes pods at once, so no recorded cleaned dump has a terminating pod
    report, _ = grade_case("dual-stack")
    c = next(c for _, c in report.checks() if c.id == "pods-deleted")
    assert c.status is Status.PASSED
    assert any("clientpod" in n.en and "being deleted" in n.en for n in c.outcome.notes)


def test_leftovers_get_partial_credit_per_object():
    report, _ = grade_case("leftovers")
    c = next(c for _, c in report.checks() if c.id == "services-deleted")
    assert c.earned == 1.5 and "service1" in c.outcome.observed.en
