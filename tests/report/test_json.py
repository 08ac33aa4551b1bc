"""json_report.py: the file batch marking resumes from."""
from __future__ import annotations

import dataclasses
import json
import re

import pytest

from grader.i18n import Text
from grader.outcome import GradeReport
from grader.report.json_report import SCHEMA, ReportFormatError, from_json, to_json
from tests.report.reports import (
    HOSTILE,
    deployment1_replicas_failed,
    hostile,
    prerequisite_skipped,
    report,
    service_discovery,
    step,
)


def test_the_lab_report_round_trips_exactly() -> None:
    r = service_discovery()
    text = to_json(r)
    assert from_json(text) == r
    assert to_json(from_json(text)) == text  # and byte-stable on re-write
    assert from_json(text.encode("utf-8")) == r


def test_top_level_layout_and_totals() -> None:
    data = json.loads(to_json(service_discovery()))
    assert list(data) == [
        "schema", "lab", "title", "rubric_version", "namespace", "student",
        "generated_at", "duration", "totals", "counts", "notes", "sources", "steps",
    ]
    assert data["schema"] == SCHEMA == "labgrade.report/v1"
    assert data["totals"] == {"points": 100, "earned": 62, "ungraded": 15}
    assert data["counts"] == {"passed": 14, "failed": 3, "error": 1, "skipped": 4}
    assert data["sources"][1] == {
        "phase": "built", "kind": "snapshot", "location": "dumps/alice/built.yaml", "collected_at": "2024-05-06T10:12:00Z",
    }
    assert [s["status"] for s in data["steps"]] == ["failed", "passed", "failed", "failed", "error", "skipped"]
    assert data["steps"][5]["ungraded"] == 15


def test_a_failed_check_carries_its_evidence_in_both_languages() -> None:
    data = json.loads(to_json(service_discovery()))
    replicas = data["steps"][0]["checks"][1]
    assert replicas == {
        "id": "deployment1-replicas",
        "use": "deployment.replicas",
        "title": {"zh": "deployment1 有 2 个副本", "en": "deployment1 has 2 replicas"},
        "status": "failed",
        "points": 5,
        "earned": 0,
        "score": 0,
        "graded": True,
        "blocked_by": None,
        "blocked_by": None,
        "message": {"zh": "deployment1 有 3 个副本，期望 2 个", "en": "deployment1 has 3 replicas, expected 2"},
        "expected": {"zh": "2 个副本", "en": "2 replicas"},
        "observed": {"zh": "3 个副本（3 个就绪）", "en": "3 replicas (3 ready)"},
        "notes": [],
        "hint": {
            "zh": "用 kubectl scale deployment deployment1 --replicas=2 调整副本数",
            "en": "Adjust with kubectl scale deployment deployment1 --replicas=2",
        },
        "duration": 0.25,
        "attempts": 1,
    }


def test_chinese_is_written_as_utf8_not_escaped() -> None:
    text = to_json(service_discovery())
    assert "副本" in text and "\\u526f" not in text
    assert text.startswith('{\n  "schema"') and text.endswith("}\n")


def test_skips_errors_and_missing_fields_round_trip() -> None:
    r = report(
        [step("step4", Text("服务2", "service2"), [prerequisite_skipped(), deployment1_replicas_failed()])],
        student=None,
        sources=(),
        generated_at="",
    )
    assert from_json(to_json(r)) == r
    assert json.loads(to_json(r))["student"] is None


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_strings_round_trip_and_encode(name: str) -> None:
    r = hostile(HOSTILE[name])
    text = to_json(r)
    text.encode("utf-8")  # lone surrogates are written as \\udXXX escapes
    assert from_json(text) == r


def test_surrogate_escaped_exec_output_survives() -> None:
    raw = b"It works!\xff\xfe".decode("utf-8", "surrogateescape")
    r = hostile(raw)
    text = to_json(r)
    assert "\\udcff\\udcfe" in text
    assert from_json(text.encode("utf-8")) == r


def test_partial_points_keep_their_exact_float() -> None:
    third = dataclasses.replace(deployment1_replicas_failed(), earned=5 / 3)
    r = report([step("step1", Text("一", "one"), [third])])
    assert from_json(to_json(r)).steps[0].checks[0].earned == 5 / 3


def _edited(change) -> str:  # type: ignore[no-untyped-def]
    data = json.loads(to_json(service_discovery()))
    change(data)
    return json.dumps(data, ensure_ascii=False)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: d.update(schema="labgrade.report/v0"), "not a labgrade.report/v1"),
        (lambda d: d["totals"].update(earned=100), "totals"),
        (lambda d: d["steps"][0]["checks"][1].update(earned=5), "steps[0].earned: 10.0 disagrees"),
        (lambda d: d["steps"][0].update(status="passed"), "steps[0].status"),
        (lambda d: d["steps"][0]["checks"][1].pop("message"), "steps[0].checks[1].message: missing"),
        (lambda d: d["steps"][0]["checks"][1].update(score=1.5), "score must be within"),
        (lambda d: d["steps"][0]["checks"][1].update(points=True), "points: unexpected bool"),
        (lambda d: d["steps"][0]["checks"][1].update(status="won"), "steps[0].checks[1].status"),
        (lambda d: d["steps"][0]["checks"][1].update(title={"en": "x"}), "title: expected {zh, en}"),
    ],
)
def test_edited_or_foreign_files_are_refused(change, complaint: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ReportFormatError, match=re.escape(complaint)):
        from_json(_edited(change))


@pytest.mark.parametrize("text", ["", "[]", "null", "{", '{"schema": "labgrade.report/v1"}'])
def test_garbage_is_a_format_error_not_a_crash(text: str) -> None:
    with pytest.raises(ReportFormatError):
        from_json(text)


def test_the_reader_returns_the_model_type() -> None:
    assert isinstance(from_json(to_json(service_discovery())), GradeReport)
