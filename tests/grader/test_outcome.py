"""outcome.py: a report's sums are computed once and stay out of its identity."""
from __future__ import annotations

import dataclasses
import pickle

from grader.outcome import GradeReport
from grader.report import json_report
from tests.report.reports import service_discovery


def test_the_sums_add_up_the_checks() -> None:
    report = service_discovery()
    assert report.earned == round(sum(c.earned for _, c in report.checks()), 4)
    assert report.points == round(sum(s.points for s in report.steps), 4)
    assert report.ungraded == round(sum(c.points for _, c in report.checks() if not c.outcome.graded), 4)
    for step in report.steps:
        assert step.earned == round(sum(c.earned for c in step.checks), 4)


def test_a_report_whose_sums_were_asked_equals_one_never_asked() -> None:
    asked, fresh = service_discovery(), service_discovery()
    assert (asked.earned, asked.steps[0].earned) is not None
    assert asked == fresh and hash(asked) == hash(fresh)
    assert [f.name for f in dataclasses.fields(GradeReport)] == list(dataclasses.asdict(asked))


def test_a_report_with_other_steps_has_its_own_sums() -> None:
    report = service_discovery()
    before = report.earned
    fewer = dataclasses.replace(report, steps=report.steps[1:])
    assert fewer.earned == round(before - report.steps[0].earned, 4)
    assert report.earned == before


def test_the_sums_survive_pickling_and_a_json_round_trip() -> None:
    report = service_discovery()
    earned = report.earned  # cached before the copies are made
    assert pickle.loads(pickle.dumps(report)).earned == earned
    back = json_report.from_json(json_report.to_json(report))
    assert back == report and back.earned == earned
